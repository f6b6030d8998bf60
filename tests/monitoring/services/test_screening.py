"""Screening as a service: bookings stored all or nothing, runs over a period, alerts into cases, one booking
screened as it arrives — cross-checked against the engine run over the whole table and the planted truth."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied

from analytics.engine.screening.synthetic import synthetic_book
from analytics.engine.screening.typologies import screen_transactions
from finai.errors import ApplicationError
from finai.models import AuditEvent
from monitoring.models import ScenarioVersion, ScreenedTransaction, ScreeningAlert, ScreeningCase, ScreeningRun
from monitoring.services.scenarios import active_versions, screening_scenarios_ensure, version_scenario
from monitoring.services.screening import (
    BookingInput,
    account_labels_store,
    bookings_screen,
    screened_transactions_store,
    screening_frame,
    screening_run_execute,
    screening_run_request,
)

pytestmark = pytest.mark.django_db
START = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def cash_deposit(identifier: str, account: str, amount: str, day: float) -> BookingInput:
    return BookingInput(
        external_id=identifier,
        account=account,
        counterparty="",
        amount=Decimal(amount),
        direction="in",
        kind="cash",
        booked_at=START + dt.timedelta(days=day),
    )


@pytest.fixture(scope="module")
def book() -> Any:
    return synthetic_book(accounts=300, days=150, planted_per_typology=4, seed=3)


# --- bookings in ----------------------------------------------------------------------------------------------


def test_a_table_is_stored_once_and_reloading_it_adds_nothing(book: Any) -> None:
    table = book.transactions.assign(transaction_id=[f"s{row}" for row in range(len(book.transactions))])
    assert screened_transactions_store(transactions=table, source="synthetic") == len(table)
    assert screened_transactions_store(transactions=table, source="synthetic") == 0
    assert ScreenedTransaction.objects.count() == len(table)
    assert AuditEvent.objects.filter(action="screening.transactions_loaded").count() == 2


def test_a_table_with_one_bad_row_stores_nothing_and_names_the_row(book: Any) -> None:
    table = book.transactions.head(50).assign(transaction_id=[f"s{row}" for row in range(50)])
    table.loc[7, "amount"] = -5
    with pytest.raises(ApplicationError) as raised:
        screened_transactions_store(transactions=table, source="synthetic")
    assert raised.value.details == {"row 7: amount": "must be a positive number"}
    assert not ScreenedTransaction.objects.exists()


def test_the_stored_frame_reads_back_what_was_stored(book: Any) -> None:
    table = book.transactions.head(200).assign(transaction_id=[f"s{row}" for row in range(200)])
    screened_transactions_store(transactions=table, source="synthetic")
    frame = screening_frame(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    stored = dict(ScreenedTransaction.objects.values_list("pk", "external_id"))
    frame = frame.assign(external_id=frame["transaction_id"].map(stored)).set_index("external_id").sort_index()
    expected = table.set_index("transaction_id").sort_index()
    assert (frame["account"] == expected["account"]).all()
    assert (frame["amount"].round(2) == expected["amount"].round(2)).all()
    assert (frame["counterparty"].isna() == expected["counterparty"].isna()).all()
    assert (frame["booked_at"].dt.tz_convert(None).dt.floor("s") == expected["booked_at"].dt.floor("s")).all()


# --- runs ----------------------------------------------------------------------------------------------------


def test_a_live_run_raises_what_the_engine_raises_and_groups_alerts_into_cases(
    book: Any, compliance_officer: Any
) -> None:
    """The run over the whole period flags the same (rule, account) pairs as the engine over the same table,
    each planted account ends up in an open case, and a second run over the same period adds nothing."""
    table = book.transactions.assign(transaction_id=[f"s{row}" for row in range(len(book.transactions))])
    screened_transactions_store(transactions=table, source="synthetic")
    screening_scenarios_ensure()
    versions = active_versions()
    start = table["booked_at"].min().to_pydatetime().replace(tzinfo=dt.UTC)
    end = table["booked_at"].max().to_pydatetime().replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)

    run = screening_run_request(
        kind="live", period_start=start, period_end=end, versions=versions, requested_by=compliance_officer, queue=False
    )
    run = screening_run_execute(run_id=run.pk)
    assert run.status == ScreeningRun.Status.DONE, run.failure

    engine = screen_transactions(transactions=table, scenarios=[version_scenario(version) for version in versions])
    expected = {(alert.rule, str(alert.account)) for alert in engine.alerts}
    assert set(ScreeningAlert.objects.values_list("rule", "account")) == expected
    assert run.results["alerts"] == len(expected) == run.results["alerts_recorded"]
    open_cases = set(ScreeningCase.objects.values_list("account", flat=True))
    assert set(book.truth["account"]) <= open_cases
    assert ScreeningCase.objects.count() == len({account for _, account in expected})
    for case in ScreeningCase.objects.all():
        assert case.priority == pytest.approx(sum(case.alerts.values_list("score", flat=True)))

    again = screening_run_request(
        kind="live", period_start=start, period_end=end, versions=versions, requested_by=compliance_officer, queue=False
    )
    assert screening_run_execute(run_id=again.pk).results["alerts_recorded"] == 0
    assert ScreeningAlert.objects.count() == len(expected)


def test_a_test_run_counts_and_measures_precision_against_labels_without_raising_alerts(
    book: Any, compliance_officer: Any
) -> None:
    table = book.transactions.assign(transaction_id=[f"s{row}" for row in range(len(book.transactions))])
    screened_transactions_store(transactions=table, source="synthetic")
    labels = pd.DataFrame({"account": sorted(set(table["account"]))})
    labels["suspicious"] = labels["account"].isin(set(book.truth["account"]))
    account_labels_store(labels=labels, source="synthetic")
    screening_scenarios_ensure()
    structuring = ScenarioVersion.objects.get(scenario__name="structuring")
    start = table["booked_at"].min().to_pydatetime().replace(tzinfo=dt.UTC)
    end = table["booked_at"].max().to_pydatetime().replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)

    run = screening_run_request(
        kind="test",
        period_start=start,
        period_end=end,
        versions=[structuring],
        requested_by=compliance_officer,
        queue=False,
    )
    run = screening_run_execute(run_id=run.pk)
    [rule] = run.results["rules"]
    engine = screen_transactions(transactions=table, scenarios=[version_scenario(structuring)])
    flagged = {str(alert.account) for alert in engine.alerts}
    planted = set(book.truth["account"])
    assert rule["accounts"] == len(flagged) > 0
    assert rule["labelled"] == len(flagged)
    assert rule["precision_labels"] == pytest.approx(len(flagged & planted) / len(flagged), abs=1e-4)
    assert rule["precision_dispositions"] is None
    assert rule["dispositioned"] == 0
    assert not ScreeningAlert.objects.exists()
    assert not ScreeningCase.objects.exists()


def test_a_run_is_refused_with_every_problem_named(compliance_officer: Any, loan_officer: Any) -> None:
    screening_scenarios_ensure()
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ApplicationError) as raised:
        screening_run_request(
            kind="live",
            period_start=now,
            period_end=now + dt.timedelta(days=1),
            versions=[],
            requested_by=compliance_officer,
        )
    assert set(raised.value.details) == {"period_end", "versions"}
    with pytest.raises(PermissionDenied):
        screening_run_request(
            kind="test",
            period_start=now - dt.timedelta(days=2),
            period_end=now,
            versions=active_versions(),
            requested_by=loan_officer,
        )


# --- one booking as it arrives -------------------------------------------------------------------------------------


def test_the_third_deposit_under_the_threshold_is_an_alert_and_the_first_two_are_clear() -> None:
    screening_scenarios_ensure()
    first = bookings_screen(bookings=[cash_deposit("d1", "acc-1", "9500.00", 0)], partner=None)
    second = bookings_screen(bookings=[cash_deposit("d2", "acc-1", "9700.00", 2)], partner=None)
    third = bookings_screen(bookings=[cash_deposit("d3", "acc-1", "9100.00", 4)], partner=None)
    assert [verdict.verdict for verdict in first + second] == ["clear", "clear"]
    [verdict] = third
    assert verdict.verdict == "alert"
    [alert] = verdict.alerts
    assert alert.rule == "structuring v1"
    assert alert.typology == "structuring"
    assert alert.transaction_ids == list(
        ScreenedTransaction.objects.filter(external_id__in=["d1", "d2", "d3"])
        .order_by("booked_at")
        .values_list("pk", flat=True)
    )
    assert alert.case.account == "acc-1"
    assert alert.case.status == ScreeningCase.Status.PENDING


def test_a_booking_sent_again_under_its_id_is_refused_and_nothing_is_stored_twice() -> None:
    screening_scenarios_ensure()
    bookings_screen(bookings=[cash_deposit("d1", "acc-1", "9500.00", 0)], partner=None)
    with pytest.raises(ApplicationError) as raised:
        bookings_screen(
            bookings=[cash_deposit("d2", "acc-1", "10.00", 1), cash_deposit("d1", "acc-1", "1.00", 2)], partner=None
        )
    assert raised.value.code == "conflict"
    assert "transaction_id d1" in raised.value.details
    assert ScreenedTransaction.objects.count() == 1


def test_screening_bookings_one_by_one_flags_what_the_engine_flags_over_the_whole_table() -> None:
    """Store a small book's first 110 days in bulk, then send the rest booking by booking through the
    synchronous path: the alerts are the (rule, account) pairs the engine raises over the whole table for
    windows ending after day 110, for every rule that does not need the whole network."""
    screening_scenarios_ensure()
    book = synthetic_book(accounts=20, days=150, planted_per_typology=1, seed=11)
    table = book.transactions.sort_values("booked_at", kind="stable").reset_index(drop=True)
    # One booking per account and second: two at the same second would be judged apart here and together there.
    table = table.drop_duplicates(["account", "booked_at"]).reset_index(drop=True)
    table = table.assign(transaction_id=[f"s{row}" for row in range(len(table))])
    cut = table["booked_at"].min() + pd.Timedelta(days=110)
    screened_transactions_store(transactions=table[table["booked_at"] < cut], source="staff")
    for row in table[table["booked_at"] >= cut].itertuples():
        bookings_screen(
            bookings=[
                BookingInput(
                    external_id=row.transaction_id,
                    account=row.account,
                    counterparty=row.counterparty or "",
                    amount=Decimal(f"{row.amount:.2f}"),
                    direction=row.direction,
                    kind=row.kind,
                    booked_at=row.booked_at.to_pydatetime().replace(tzinfo=dt.UTC),
                )
            ],
            partner=None,
        )
    versions = [version for version in active_versions() if version.scenario.typology != "cycle"]
    engine = screen_transactions(
        transactions=table, scenarios=[version_scenario(v) for v in versions], screen_from=cut.to_pydatetime()
    )
    expected = {(alert.rule, str(alert.account)) for alert in engine.alerts}
    assert {rule.split(" ")[0] for rule, _ in expected} >= {"dormant_reactivation", "structuring", "velocity_spike"}
    assert set(ScreeningAlert.objects.values_list("rule", "account")) == expected
