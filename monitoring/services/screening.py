"""Transaction screening: bookings in, scenario versions applied over a period, alerts grouped into cases.

Bookings arrive one at a time from partners (screened as they arrive, `transaction_screen`) or in bulk from a
data set (`screened_transactions_store`, all or nothing). A run applies scenario versions to the windows that
end in its period, reading the history each rule needs before it (`scenario_history_days`), so a daily run
judges every window once. A live run records its alerts and opens (or adds to) each account's case; a test
run only counts: alerts and accounts per rule, and precision against the dispositions of closed cases and
the data sets' labels, so a pending change is measured on the past before anyone approves it.

Protected attributes are never screening inputs: the engine reads bookings only (account, counterparty,
amount, direction, channel, time).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from analytics.engine.screening.scenarios import Scenario, scenario_history_days
from analytics.engine.screening.transactions import transactions_validate
from analytics.engine.screening.typologies import Alert, ledger_from_rows, screen_ledger, screen_transactions
from finai.bulk import frame_copy, frame_executemany, queryset_frame
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.progress import job_finish
from finai.roles import COMPLIANCE_ROLES, ensure_role
from finai.services import audit_event_record
from monitoring.models import (
    AccountLabel,
    ScenarioVersion,
    ScreenedTransaction,
    ScreeningAlert,
    ScreeningCase,
    ScreeningRun,
)
from monitoring.services.scenarios import active_rules, active_versions, version_scenario

CANNOT_RUN = "The screening run cannot be started."
QUEUED = "Queued for a worker"
FRAME_COLUMNS = ["transaction_id", "account", "counterparty", "amount", "direction", "kind", "booked_at"]
# Cycles need every account's bookings, which one booking's screening does not read: the daily run finds them.
NETWORK_TYPOLOGIES = frozenset({"cycle"})


# --- bookings in -------------------------------------------------------------------------------------------------


def screened_transactions_store(*, transactions: pd.DataFrame, source: str, partner: Any = None) -> int:
    """Store a table of bookings (the engine's contract) under `source`, all or nothing; returns rows added.

    The whole table is checked first (every bad cell named, `invalid_transactions`); a booking whose
    (source, transaction_id) is stored already is skipped, so reloading a data set adds nothing.
    """
    frame = transactions_validate(transactions=transactions)
    # Postgres reads an offset; SQLite compares datetimes as text in Django's own form, so it gets that form.
    moment = "%Y-%m-%dT%H:%M:%S+00:00" if connection.vendor == "postgresql" else "%Y-%m-%d %H:%M:%S"
    rows = pd.DataFrame(
        {
            "source": source,
            "partner_id": partner.pk if partner is not None else None,
            "external_id": frame["transaction_id"].astype(str),
            "account": frame["account"].astype(str),
            "counterparty": frame["counterparty"].map(lambda value: "" if value is None else str(value)),
            "amount": frame["amount"].round(2).map("{:.2f}".format),
            "direction": frame["direction"],
            "kind": frame["kind"].str.lower(),
            "booked_at": frame["booked_at"].dt.strftime(moment),
            "received_at": timezone.now().astimezone(dt.UTC).strftime(moment),
        }
    )
    table = connection.ops.quote_name(ScreenedTransaction._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            frame_executemany(
                cursor=cursor, table=ScreenedTransaction._meta.db_table, frame=rows, ignore_conflicts=True
            )
        else:
            columns = ", ".join(connection.ops.quote_name(column) for column in rows.columns)
            cursor.execute("DROP TABLE IF EXISTS screening_staging")
            cursor.execute(
                f"CREATE TEMPORARY TABLE screening_staging ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608
            )
            frame_copy(cursor=cursor, table="screening_staging", frame=rows)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM screening_staging "  # noqa: S608
                "ON CONFLICT (source, external_id) DO NOTHING"
            )
        added = cursor.rowcount
        audit_event_record(
            action="screening.transactions_loaded",
            object_type="screened_transaction",
            payload={"source": source, "rows": len(rows), "added": added},
        )
    return added


def account_labels_store(*, labels: pd.DataFrame, source: str) -> int:
    """A data set's answer per account (`account`, `suspicious`, optional `typology`), replacing the source's."""
    records = [
        AccountLabel(
            source=source,
            account=str(row.account),
            suspicious=bool(row.suspicious),
            typology=str(getattr(row, "typology", "") or ""),
        )
        for row in labels.itertuples(index=False)
    ]
    with transaction.atomic():
        AccountLabel.objects.filter(source=source).delete()
        AccountLabel.objects.bulk_create(records, batch_size=5_000)
    return len(records)


def _last_before(since: dt.datetime, accounts: Iterable[str] | None) -> QuerySet:
    """Each account's last booking before `since`: a window's rules never read it, but it tells dormancy how
    long the account was silent and velocity that the account existed, however old it is."""
    earlier = ScreenedTransaction.objects.filter(booked_at__lt=since)
    if accounts is not None:
        earlier = earlier.filter(account__in=list(accounts))
    if connection.vendor == "postgresql":  # DISTINCT ON walks the (account, booked_at) index
        return earlier.order_by("account", "-booked_at", "-pk").distinct("account")
    newest = earlier.filter(account=OuterRef("account")).order_by("-booked_at", "-pk").values("pk")[:1]
    return earlier.filter(pk=Subquery(newest))


def screening_frame(*, since: dt.datetime, until: dt.datetime, accounts: Iterable[str] | None = None) -> pd.DataFrame:
    """The stored bookings of [since, until), and each account's last one before, in the engine's contract;
    transaction ids are record ids. Two queries, each on an index (an OR of the two scans the table)."""
    bookings = ScreenedTransaction.objects.filter(booked_at__gte=since, booked_at__lt=until)
    if accounts is not None:
        bookings = bookings.filter(account__in=list(accounts))
    text = frozenset({"account", "counterparty"})
    parts = [
        queryset_frame(query.values_list("pk", *FRAME_COLUMNS[1:]), columns=FRAME_COLUMNS, text_columns=text)
        for query in (bookings.order_by(), _last_before(since, accounts))
    ]
    frame = pd.concat(parts, ignore_index=True) if len(parts[1]) else parts[0]
    frame["counterparty"] = frame["counterparty"].where(frame["counterparty"].fillna("") != "", None)
    frame["amount"] = frame["amount"].astype(float)
    frame["booked_at"] = pd.to_datetime(frame["booked_at"], utc=True, format="ISO8601")
    return frame


# --- alerts into cases --------------------------------------------------------------------------------------------


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def alert_into_case(*, account: str, rule: str, run: ScreeningRun | None, **fields: Any) -> ScreeningAlert:
    """Store one alert in the account's open case, opening one (audited) where there is none; the case's
    priority grows by the alert's score."""
    with transaction.atomic():
        case = (
            ScreeningCase.objects.select_for_update()
            .filter(account=account)
            .exclude(status=ScreeningCase.Status.CLOSED)
            .first()
        )
        if case is None:
            case = ScreeningCase.objects.create(account=account)
            audit_event_record(
                action="screening.case_opened",
                object_type="screening_case",
                object_id=case.pk,
                payload={"account": account, "rule": rule, "run": run.pk if run else None},
            )
        alert = ScreeningAlert.objects.create(account=account, rule=rule, run=run, case=case, **fields)
        ScreeningCase.objects.filter(pk=case.pk).update(priority=F("priority") + alert.score)
    return alert


def alerts_record(
    *, alerts: Iterable[Alert], versions: dict[str, ScenarioVersion], run: ScreeningRun | None = None
) -> list[ScreeningAlert]:
    """Store the engine's alerts (named by `versions`' rule names), each into its account's case. A window
    alerted before by the same version is not alerted again."""
    recorded = []
    for alert in alerts:
        version = versions[alert.rule]
        account = str(alert.account)
        window_end = _aware(alert.window_end)
        if ScreeningAlert.objects.filter(scenario_version=version, account=account, window_end=window_end).exists():
            continue
        recorded.append(
            alert_into_case(
                account=account,
                rule=version.rule_name,
                run=run,
                scenario_version=version,
                typology=alert.typology,
                window_start=_aware(alert.window_start),
                window_end=window_end,
                transaction_ids=[int(identifier) for identifier in alert.transaction_ids],
                score=alert.score,
                reason=alert.reason,
            )
        )
    return recorded


# --- runs ------------------------------------------------------------------------------------------------------------


def screening_run_request(
    *,
    kind: str,
    period_start: dt.datetime,
    period_end: dt.datetime,
    versions: Iterable[ScenarioVersion],
    requested_by: Any,
    queue: bool = True,
) -> ScreeningRun:
    """Check and store a run, queued on the analytics workers when the transaction commits.

    A live run applies active, enabled versions only (a pending change is tried with a test run); a test
    run may replay any version. The period must have ended.
    """
    ensure_role(requested_by, *COMPLIANCE_ROLES)
    versions = list(versions)
    details: dict[str, str] = {}
    if kind not in ScreeningRun.Kind.values:
        details["kind"] = "must be live or test"
    if period_end <= period_start:
        details["period_end"] = "must be after the start"
    elif period_end > timezone.now():
        details["period_end"] = "must not be in the future: a run screens a period that has ended"
    if not versions:
        details["versions"] = "choose at least one scenario version"
    elif kind == ScreeningRun.Kind.LIVE and any(
        version.status != ScenarioVersion.Status.ACTIVE or not version.enabled for version in versions
    ):
        details["versions"] = "a live run applies active versions only; try a pending change with a test run"
    if len({version.scenario_id for version in versions}) != len(versions):
        details["versions"] = "one version per scenario"
    if details:
        raise ApplicationError(CANNOT_RUN, details=details, code="invalid_screening_run")
    with transaction.atomic():
        run = ScreeningRun.objects.create(
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            requested_by=requested_by,
            progress_message=QUEUED,
        )
        run.versions.set(versions)
        audit_event_record(
            action="screening.run_requested",
            actor=requested_by,
            object_type="screening_run",
            object_id=run.pk,
            payload={
                "kind": kind,
                "period": [period_start.isoformat(), period_end.isoformat()],
                "versions": [version.rule_name for version in versions],
            },
        )
        if queue:
            from monitoring.tasks import run_screening

            transaction.on_commit(lambda: run_screening.delay(run.pk))
    return run


def screening_daily_run() -> ScreeningRun | None:
    """The scheduled live run over yesterday (UTC), once per day, with the versions active now."""
    today = timezone.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    period_start = today - dt.timedelta(days=1)
    versions = active_versions()
    if (
        not versions
        or ScreeningRun.objects.filter(
            kind=ScreeningRun.Kind.LIVE, period_start=period_start, period_end=today, requested_by=None
        ).exists()
    ):
        return None
    with transaction.atomic():
        run = ScreeningRun.objects.create(
            kind=ScreeningRun.Kind.LIVE, period_start=period_start, period_end=today, progress_message=QUEUED
        )
        run.versions.set(versions)
        audit_event_record(
            action="screening.run_requested",
            object_type="screening_run",
            object_id=run.pk,
            payload={"kind": "live", "period": [period_start.isoformat(), today.isoformat()], "scheduled": True},
        )
    return screening_run_execute(run_id=run.pk)


def _progress(run_id: int, percent: int, message: str) -> None:
    ScreeningRun.objects.filter(pk=run_id).update(progress=percent, progress_message=message[:200])


def _rule_quality(flagged: dict[str, set[str]]) -> dict[str, dict[str, Any]]:
    """Per rule: how many flagged accounts have a closed case, how many of those were confirmed; how many
    carry a data set's label, how many of those are suspicious; and the two precisions."""
    every = set().union(*flagged.values()) if flagged else set()
    closed = dict(
        ScreeningCase.objects.filter(account__in=every, status=ScreeningCase.Status.CLOSED)
        .order_by("account", "-closed_at")
        .values_list("account", "disposition")
    )
    labels = dict(AccountLabel.objects.filter(account__in=every).values_list("account", "suspicious"))
    quality = {}
    for rule, accounts in flagged.items():
        dispositioned = [closed[account] for account in accounts if account in closed]
        labelled = [labels[account] for account in accounts if account in labels]
        confirmed = sum(disposition == ScreeningCase.Disposition.CONFIRMED for disposition in dispositioned)
        suspicious = sum(labelled)
        quality[rule] = {
            "dispositioned": len(dispositioned),
            "confirmed": confirmed,
            "precision_dispositions": round(confirmed / len(dispositioned), 4) if dispositioned else None,
            "labelled": len(labelled),
            "labelled_suspicious": suspicious,
            "precision_labels": round(suspicious / len(labelled), 4) if labelled else None,
        }
    return quality


def screening_compute(*, run: ScreeningRun) -> tuple[dict[str, Any], list[Alert], pd.DataFrame]:
    """Screen the run's period with its versions: the results, the engine's alerts and the bookings read."""
    versions = list(run.versions.select_related("scenario").order_by("scenario__name"))
    scenarios = [version_scenario(version) for version in versions]
    history = max(scenario_history_days(scenario) for scenario in scenarios)
    _progress(run.pk, 10, "Reading the period's bookings")
    started = time.perf_counter()
    frame = screening_frame(since=run.period_start - dt.timedelta(days=history), until=run.period_end)
    read_seconds = time.perf_counter() - started
    _progress(run.pk, 40, f"Screening {len(frame):,} bookings")
    if frame.empty:
        result_alerts: tuple[Alert, ...] = ()
        seconds_by_rule: dict[str, float] = {}
    else:
        result = screen_transactions(
            transactions=frame, scenarios=scenarios, screen_from=run.period_start, screen_until=run.period_end
        )
        result_alerts, seconds_by_rule = result.alerts, result.seconds_by_rule
    flagged: dict[str, set[str]] = {scenario.name: set() for scenario in scenarios}
    for alert in result_alerts:
        flagged[alert.rule].add(str(alert.account))
    quality = _rule_quality(flagged)
    in_period = frame["booked_at"] >= pd.Timestamp(run.period_start) if not frame.empty else pd.Series(dtype=bool)
    results = {
        "transactions_read": len(frame),
        "transactions_in_period": int(in_period.sum()),
        "accounts_in_period": int(frame.loc[in_period, "account"].nunique()) if not frame.empty else 0,
        "alerts": len(result_alerts),
        "accounts_flagged": len(set().union(*flagged.values())),
        "read_seconds": round(read_seconds, 3),
        "rules": [
            {
                "rule": scenario.name,
                "version": version.pk,
                "status": version.status,
                "alerts": sum(alert.rule == scenario.name for alert in result_alerts),
                "accounts": len(flagged[scenario.name]),
                "seconds": seconds_by_rule.get(scenario.name, 0.0),
                **quality[scenario.name],
            }
            for version, scenario in zip(versions, scenarios, strict=True)
        ],
    }
    return results, list(result_alerts), frame


def screening_run_execute(*, run_id: int) -> ScreeningRun:
    """The worker's side: screen, then (live) record alerts and cases; idempotent per run."""
    taken = lease_take(
        ScreeningRun.objects.filter(pk=run_id, status=ScreeningRun.Status.RUNNING),
        field="started_at",
        progress=5,
        progress_message="Starting",
    )
    run = ScreeningRun.objects.select_related("requested_by").get(pk=run_id)
    if not taken:
        return run
    try:
        results, alerts, frame = screening_compute(run=run)
        if run.kind == ScreeningRun.Kind.LIVE:
            _progress(run.pk, 70, f"Recording {len(alerts):,} alerts")
            versions = {version.rule_name: version for version in run.versions.select_related("scenario")}
            recorded = alerts_record(alerts=alerts, versions=versions, run=run)
            results["alerts_recorded"] = len(recorded)
            recorded += _model_alerts(run, frame, results)
            results["cases_touched"] = len({alert.case_id for alert in recorded})
    except ApplicationError as error:
        return _finish(run, status=ScreeningRun.Status.FAILED, failure=str(error))
    except Exception as error:
        _finish(
            run,
            status=ScreeningRun.Status.FAILED,
            failure=f"The run stopped on an unexpected error ({type(error).__name__}); see the worker's log.",
        )
        raise
    return _finish(run, status=ScreeningRun.Status.DONE, results=results)


def _model_alerts(run: ScreeningRun, frame: pd.DataFrame, results: dict[str, Any]) -> list[ScreeningAlert]:
    """The screening champion's alerts over the accounts active in the period, where one is promoted."""
    from monitoring.services.screening_models import model_alerts_record, screening_champion

    champion = screening_champion()
    if champion is None or frame.empty:
        return []
    _progress(run.pk, 85, f"Scoring accounts with model v{champion.pk}")
    recorded = model_alerts_record(run=run, frame=frame, version=champion)
    results["model"] = {"version": champion.pk, "alerts_recorded": len(recorded)}
    return recorded


def _finish(run: ScreeningRun, *, status: str, failure: str = "", results: dict[str, Any] | None = None) -> Any:
    return job_finish(
        run,
        status=status,
        failure=failure,
        results=results,
        action="screening.run_" + ("done" if status == ScreeningRun.Status.DONE else "failed"),
        object_type="screening_run",
        payload={
            "kind": run.kind,
            "alerts": (results or {}).get("alerts"),
            "alerts_recorded": (results or {}).get("alerts_recorded"),
        },
    )


# --- one booking as it arrives ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingInput:
    """One booking as a partner submits it, already checked field by field at the edge."""

    external_id: str
    account: str
    counterparty: str
    amount: Decimal
    direction: str
    kind: str
    booked_at: dt.datetime


@dataclass(frozen=True)
class ScreeningVerdict:
    """What a partner hears back about one booking: "alert" or "clear", each rule that fired and why."""

    transaction: ScreenedTransaction
    booking: BookingInput  # as sent: the partner's own account reference
    verdict: str
    alerts: list[ScreeningAlert]


def bookings_screen(*, bookings: list[BookingInput], partner: Any) -> list[ScreeningVerdict]:
    """Store bookings (all or none) and screen them at once against their accounts' history.

    Each active rule except the network ones (cycles need every account's bookings; the daily run finds
    them) reads the accounts' bookings over its history span up to the last submitted one; only windows
    that end in the submitted span and contain a submitted booking count, so a verdict is about what was
    sent, not the account's past. An id stored before for the same sender refuses the whole submission
    (`conflict`, naming the ids), since a resubmission of a different booking under an old id is a bug.
    """
    source = f"partner:{partner.pk}" if partner is not None else "staff"
    try:
        with transaction.atomic():
            records = ScreenedTransaction.objects.bulk_create(
                [
                    ScreenedTransaction(
                        source=source,
                        partner=partner,
                        external_id=booking.external_id,
                        account=_scoped(source, partner, booking.account),
                        counterparty=_scoped(source, partner, booking.counterparty),
                        amount=booking.amount,
                        direction=booking.direction,
                        kind=booking.kind.lower(),
                        booked_at=booking.booked_at,
                    )
                    for booking in bookings
                ]
            )
    except IntegrityError:  # an id stored before, repeated in the submission, or sent at once by another request
        identifiers = [booking.external_id for booking in bookings]
        taken = ScreenedTransaction.objects.filter(source=source, external_id__in=identifiers)
        raise ApplicationError(
            "Some transactions were submitted before.",
            details={
                f"transaction_id {identifier}": "is already stored; send a new id"
                for identifier in sorted(taken.values_list("external_id", flat=True))[:20]
            }
            or {"transaction_id": "is repeated, or was submitted at the same moment by another request"},
            code="conflict",
        ) from None
    rules = active_rules()
    versions = [version for version in rules.versions if version.scenario.typology not in NETWORK_TYPOLOGIES]
    alerts = _bookings_alerts(records, versions, rules.scenarios) if versions else []
    return [
        ScreeningVerdict(
            transaction=record,
            booking=booking,
            verdict="alert" if (mine := [alert for alert in alerts if record.pk in alert.transaction_ids]) else "clear",
            alerts=mine,
        )
        for record, booking in zip(records, bookings, strict=True)
    ]


def _scoped(source: str, partner: Any, reference: str) -> str:
    """A partner's account references live in the partner's own namespace ("partner:7/ACC-1"), so two
    partners' customers with the same account number never share a history, an alert or a case."""
    return f"{source}/{reference}" if partner is not None and reference else reference


def _history_rows(*, accounts: list[str], since: dt.datetime, until: dt.datetime) -> list[tuple[Any, ...]]:
    """The accounts' bookings of [since, until] and each one's last before `since`, as ledger rows.

    On Postgres one plain statement (both halves on the (account, booked_at) index): one booking screened as
    it arrives cannot spend the ORM's compiling of two querysets, which cost more than the queries did.
    """
    columns = ("pk", *FRAME_COLUMNS[1:])
    if connection.vendor != "postgresql":
        recent = ScreenedTransaction.objects.filter(account__in=accounts, booked_at__gte=since, booked_at__lte=until)
        return [*recent.values_list(*columns), *_last_before(since, accounts).values_list(*columns)]
    table = connection.ops.quote_name(ScreenedTransaction._meta.db_table)
    fields = "id, account, counterparty, amount, direction, kind, booked_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"(SELECT {fields} FROM {table} WHERE account = ANY(%s) AND booked_at >= %s AND booked_at <= %s) "  # noqa: S608
            f"UNION ALL (SELECT DISTINCT ON (account) {fields} FROM {table} WHERE account = ANY(%s) "
            "AND booked_at < %s ORDER BY account, booked_at DESC, id DESC)",
            [accounts, since, until, accounts, since],
        )
        return cursor.fetchall()


def _bookings_alerts(
    records: list[ScreenedTransaction], versions: list[ScenarioVersion], known: dict[str, Scenario]
) -> list[ScreeningAlert]:
    scenarios = {version.rule_name: known[version.rule_name] for version in versions}
    history = max(scenario_history_days(scenario) for scenario in scenarios.values())
    first = min(record.booked_at for record in records)
    last = max(record.booked_at for record in records)
    rows = _history_rows(
        accounts=sorted({record.account for record in records}), since=first - dt.timedelta(days=history), until=last
    )
    ledger = ledger_from_rows(rows=rows, screen_from=first, screen_until=last + dt.timedelta(seconds=1))
    result = screen_ledger(ledger=ledger, scenarios=scenarios.values())
    submitted = {record.pk for record in records}
    about_submitted = [alert for alert in result.alerts if submitted.intersection(alert.transaction_ids)]
    return alerts_record(alerts=about_submitted, versions=dict(zip(scenarios, versions, strict=True)))
