"""`manage.py screening_load --source amlsim|synthetic|berka`: a data set's bookings into transaction screening.

Each source keeps its own account names, so the data sets never share an account: AMLSim's are "AML-<node>",
Berka's "B-<account_id>" (its counterparties, all accounts at other banks, "B-<bank>-<account>"), the
generator's its own "A00000", ... Loading is all or nothing and idempotent: a booking stored before under the
same source and id is skipped, so a second run adds nothing. The data sets' answers (AMLSim's laundering
accounts, the generator's planted typologies) are stored as account labels, for measuring rules only. Then the
default scenarios are installed where there are none, and `--screen` runs a live screening over the loaded
period at once (no worker), so alerts and cases are there to work.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.engine.screening.amlsim import DEFAULT_DIRECTORY, amlsim_read
from analytics.engine.screening.synthetic import synthetic_book
from finai.bulk import queryset_frame
from finai.errors import ApplicationError
from lending.models import BerkaTransaction
from monitoring.models import ScreenedTransaction, ScreeningRun
from monitoring.services.scenarios import active_versions, screening_scenarios_ensure
from monitoring.services.screening import (
    account_labels_store,
    screened_transactions_store,
    screening_run_execute,
    screening_run_request,
)

SOURCES = ("amlsim", "synthetic", "berka")
AMLSIM_PREFIX = "AML-"
BERKA_PREFIX = "B-"
# Berka's operations as screening channels; an empty operation is the bank's own booking (interest, fees).
BERKA_KINDS = {
    "VKLAD": "cash",  # cash credit
    "VYBER": "cash",  # cash withdrawal
    "PREVOD Z UCTU": "transfer",  # collection from another bank
    "PREVOD NA UCET": "transfer",  # remittance to another bank
    "VYBER KARTOU": "card",  # credit card withdrawal
}
BERKA_CREDIT = "PRIJEM"
SYNTHETIC_MIN_ACCOUNTS = 100
SYNTHETIC_MIN_DAYS = 130


def amlsim_frames(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AMLSim's bookings and labels under "AML-" accounts. The labels say laundering or not, never which
    pattern (the files do not), so their typology is blank."""
    data = amlsim_read(directory=directory)
    transactions = data.transactions.assign(
        account=AMLSIM_PREFIX + data.transactions["account"].astype(str),
        counterparty=AMLSIM_PREFIX + data.transactions["counterparty"].astype(str),
    )
    labels = pd.DataFrame(
        {
            "account": AMLSIM_PREFIX + data.labels["account"].astype(str),
            "suspicious": data.labels["laundering"].astype(bool),
            "typology": "",
        }
    )
    return transactions, labels


def synthetic_frames(*, accounts: int, days: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The generator's book, and a label for each of its accounts: the planted typology, or ordinary."""
    book = synthetic_book(accounts=accounts, days=days, seed=seed)
    planted = book.truth.drop_duplicates("account").set_index("account")["typology"]
    names = pd.Series(pd.unique(book.transactions["account"]), name="account")
    labels = pd.DataFrame(
        {"account": names, "suspicious": names.isin(planted.index), "typology": names.map(planted).fillna("")}
    )
    return book.transactions.assign(transaction_id=book.transactions["transaction_id"].astype(str)), labels


def berka_frame() -> pd.DataFrame:
    """The imported Berka bookings (`import_berka`): dates at midnight UTC, zero amounts left out."""
    columns = ["trans_id", "account_id", "booked_on", "type", "operation", "amount", "k_symbol", "bank", "partner"]
    rows = queryset_frame(
        BerkaTransaction.objects.filter(amount__gt=0)
        .order_by()
        .values_list(
            "trans_id", "account_id", "booked_on", "type", "operation", "amount", "k_symbol", "bank", "partner_account"
        ),
        columns=columns,
        text_columns=frozenset({"type", "operation", "k_symbol", "bank", "partner"}),
    )
    text = {column: rows[column].fillna("").astype(str).str.strip() for column in ("operation", "k_symbol", "bank")}
    partner = rows["partner"].fillna("").astype(str).str.strip()
    own_booking = np.where(text["k_symbol"] == "UROK", "interest", "bank")
    has_partner = (text["bank"] != "") & (partner != "") & (partner != "0")
    return pd.DataFrame(
        {
            "transaction_id": rows["trans_id"].astype(str),
            "account": BERKA_PREFIX + rows["account_id"].astype(str),
            "counterparty": (BERKA_PREFIX + text["bank"] + "-" + partner).where(has_partner, None),
            "amount": rows["amount"].astype(float),
            "direction": np.where(rows["type"].astype(str) == BERKA_CREDIT, "in", "out"),
            "kind": text["operation"].map(BERKA_KINDS).fillna(pd.Series(own_booking, index=rows.index)),
            "booked_at": pd.to_datetime(rows["booked_on"]).dt.tz_localize(dt.UTC),
        }
    )


class Command(BaseCommand):
    help = "Load a data set's bookings (AMLSim, the synthetic generator or imported Berka) into screening."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, choices=SOURCES)
        parser.add_argument("--path", default=str(DEFAULT_DIRECTORY), help="AMLSim: the folder of its CSV files.")
        parser.add_argument("--accounts", type=int, default=1_000, help="Synthetic: accounts in the book.")
        parser.add_argument("--days", type=int, default=240, help="Synthetic: days the book spans.")
        parser.add_argument("--seed", type=int, default=0, help="Synthetic: the generator's seed.")
        parser.add_argument(
            "--screen",
            action="store_true",
            help="Then run a live screening over the loaded period inline, with the active scenario versions.",
        )
        parser.add_argument("--requested-by", help="With --screen: the compliance officer who requests the run.")

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"]
        requester = self._requester(options["requested_by"]) if options["screen"] else None
        started = time.perf_counter()
        try:
            transactions, labels = self._frames(source, options)
            added = screened_transactions_store(transactions=transactions, source=source)
        except ApplicationError as error:
            details = "; ".join(f"{field}: {problem}" for field, problem in error.details.items())
            raise CommandError(f"{error.message} {details}".strip()) from error
        self.stdout.write(
            f"{source}: {len(transactions):,} bookings read, {added:,} added "
            f"({len(transactions) - added:,} stored before) in {time.perf_counter() - started:.1f} s"
        )
        if labels is not None:
            stored = account_labels_store(labels=labels, source=source)
            self.stdout.write(f"{source}: {stored:,} account labels ({int(labels['suspicious'].sum()):,} suspicious)")
        installed = screening_scenarios_ensure()
        self.stdout.write(f"Screening scenarios: {len(installed)} installed, {len(active_versions())} active")
        if requester is not None and len(transactions):
            # Whole UTC days, from the first booking's to the last's (a run's end is exclusive).
            booked = pd.to_datetime(transactions["booked_at"], utc=True, format="ISO8601")
            end = min(booked.max().floor("D") + pd.Timedelta(days=1), pd.Timestamp.now(tz="UTC"))
            self._screen(start=booked.min().floor("D").to_pydatetime(), end=end.to_pydatetime(), requester=requester)

    def _frames(self, source: str, options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        if source == "amlsim":
            return amlsim_frames(Path(options["path"]))
        if source == "synthetic":
            if options["accounts"] < SYNTHETIC_MIN_ACCOUNTS or options["days"] < SYNTHETIC_MIN_DAYS:
                raise CommandError(
                    f"The synthetic book needs at least {SYNTHETIC_MIN_ACCOUNTS} accounts (the planted typologies take "
                    f"about 80) and {SYNTHETIC_MIN_DAYS} days (they are planted after a 120-day baseline)."
                )
            transactions, labels = synthetic_frames(
                accounts=options["accounts"], days=options["days"], seed=options["seed"]
            )
            stored = ScreenedTransaction.objects.filter(source=source).count()
            # The generator numbers every book's bookings from 1: another book's would be skipped as "stored".
            if stored and stored != len(transactions):
                raise CommandError(
                    f"Another synthetic book ({stored:,} bookings) is loaded; one synthetic book per database."
                )
            return transactions, labels
        frame = berka_frame()
        if frame.empty:
            raise CommandError("No Berka transactions: run `python manage.py import_berka --path data/berka` first.")
        return frame, None

    def _requester(self, username: str | None) -> Any:
        if not username:
            raise CommandError("--screen needs --requested-by: the compliance officer who requests the run.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _screen(self, *, start: dt.datetime, end: dt.datetime, requester: Any) -> None:
        """A live run over the period unless one with the same versions has screened it already."""
        versions = active_versions()
        done = ScreeningRun.objects.filter(
            kind=ScreeningRun.Kind.LIVE, status=ScreeningRun.Status.DONE, period_start=start, period_end=end
        )
        for run in done.prefetch_related("versions"):
            if {version.pk for version in run.versions.all()} == {version.pk for version in versions}:
                self.stdout.write(f"Live run {run.pk} screened this period already: {self._summary(run)}")
                return
        try:
            run = screening_run_request(
                kind=ScreeningRun.Kind.LIVE,
                period_start=start,
                period_end=end,
                versions=versions,
                requested_by=requester,
                queue=False,
            )
        except PermissionDenied as error:
            raise CommandError(str(error)) from error
        except ApplicationError as error:
            raise CommandError(f"{error.message} {error.details}") from error
        started = time.perf_counter()
        run = screening_run_execute(run_id=run.pk)
        if run.status != ScreeningRun.Status.DONE:
            raise CommandError(f"Live run {run.pk} failed: {run.failure}")
        self.stdout.write(f"Live run {run.pk} in {time.perf_counter() - started:.1f} s: {self._summary(run)}")

    @staticmethod
    def _summary(run: ScreeningRun) -> str:
        results = run.results
        return (
            f"{results.get('transactions_in_period', 0):,} bookings screened, {results.get('alerts', 0):,} alerts "
            f"({results.get('alerts_recorded', 0):,} recorded), {results.get('accounts_flagged', 0):,} accounts "
            f"flagged, {results.get('cases_touched', 0):,} cases opened or added to"
        )
