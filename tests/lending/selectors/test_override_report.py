"""The override report's figures, checked against a direct count of the records behind them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from lending.models import Loan, Override, ProtectedAttributes, RepaymentOutcome
from lending.selectors import NO_REASON, officer_override_record, officer_overrides, override_report
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db

REASONS = {"R06": "Credit history shows a critical account", "R10": "Amount requested is too high"}
FAVOURABLE = {("decline", "refer"), ("decline", "approve"), ("refer", "approve")}
# (submitted and overridden by, model outcome, first reason, sex, override (to, status) or None, loan or None)
ROWS = [
    ("a", "decline", "R06", "female", ("approve", "approved"), "defaulted"),
    ("a", "decline", "R06", "male", ("approve", "approved"), "90 days past due"),
    ("a", "decline", "R10", "female", ("approve", "approved"), "89 days past due"),
    ("a", "decline", "R10", "female", ("approve", "pending"), None),
    ("a", "refer", "R06", "male", ("approve", "rejected"), None),
    ("a", "approve", None, "male", ("decline", "approved"), None),
    ("b", "refer", "R10", "female", ("approve", "approved"), "current"),
    ("b", "decline", "R06", "male", ("refer", "approved"), None),
    ("b", "decline", "R06", "female", None, None),
    ("b", "approve", None, "female", None, "defaulted"),
    ("b", "approve", None, "male", None, "current"),
    ("b", "approve", None, "male", None, None),
]
LOANS = {"defaulted": ("defaulted", 30), "90 days past due": ("current", 90), "89 days past due": ("current", 89)}
DEFAULTED = {"defaulted", "90 days past due"}


@pytest.fixture
def officers(loan_officer, second_loan_officer):
    return {"a": loan_officer, "b": second_loan_officer}


@pytest.fixture
def records(officers, administrator, model_version):
    for number, (who, outcome, reason, sex, override, loan) in enumerate(ROWS):
        officer = officers[who]
        application = LoanApplicationFactory(submitted_by=officer, reference=f"app-report-{number}")
        ProtectedAttributes.objects.create(applicant=application.applicant, sex=sex)
        decision = DecisionFactory(
            application=application,
            model_version=model_version,
            outcome=outcome,
            reasons=[{"code": reason, "text": REASONS[reason]}] if reason else [],
        )
        if override:
            after, status = override
            reviewed = {
                "approved": {"approved_by": administrator, "approved_at": timezone.now()},
                "rejected": {"rejected_by": administrator, "rejected_at": timezone.now()},
                "pending": {},
            }[status]
            Override.objects.create(
                decision=decision,
                overridden_by=officer,
                justification="documented",
                outcome_before=outcome,
                outcome_after=after,
                status=status,
                **reviewed,
            )
        if loan:
            funded = Loan.objects.create(
                application=application, principal=Decimal("1000"), funded_on=dt.date(2025, 1, 1)
            )
            status, days = LOANS.get(loan, ("current", 0))
            RepaymentOutcome.objects.create(loan=funded, status="current", days_past_due=0, as_of=dt.date(2025, 2, 1))
            RepaymentOutcome.objects.create(loan=funded, status=status, days_past_due=days, as_of=dt.date(2025, 6, 1))
    # A historical decision (no model version) was never the officers' to override: it is not counted.
    DecisionFactory(application=LoanApplicationFactory(submitted_by=officers["a"]), outcome="decline")


def counted(rows, key):
    """The report's figures for rows grouped by `key`, counted directly from ROWS."""
    tallies: dict = {}
    for row in rows:
        _, outcome, _, _, override, loan = row
        tally = tallies.setdefault(key(row), Counter())
        tally["decisions"] += 1
        if override is None:
            continue
        after, status = override
        tally[status] += 1
        if status == "approved":
            tally["favourable"] += (outcome, after) in FAVOURABLE
            tally["funded"] += loan is not None
            tally["defaulted"] += loan in DEFAULTED
    return {
        label: (
            t["decisions"],
            t["approved"],
            t["favourable"],
            t["pending"],
            t["rejected"],
            t["funded"],
            t["defaulted"],
        )
        for label, t in tallies.items()
    }


def figures(tallies):
    return {
        t.label: (t.decisions, t.overrides, t.favourable, t.pending, t.rejected, t.funded, t.defaulted) for t in tallies
    }


def test_the_totals_count_overrides_in_force_apart_from_those_waiting_or_rejected(records, compliance_officer):
    report = override_report(viewer=compliance_officer)

    statuses = Counter(override[1] for *_, override, _ in ROWS if override)
    assert (report.decisions, report.overrides, report.pending, report.rejected) == (
        len(ROWS),
        statuses["approved"],
        statuses["pending"],
        statuses["rejected"],
    )


def test_the_rates_by_officer_equal_a_direct_count(records, compliance_officer):
    report = override_report(viewer=compliance_officer)

    names = {"a": "olivia_officer", "b": "oliver_officer"}
    assert figures(report.by_officer) == counted(ROWS, key=lambda row: names[row[0]])
    submitted = Counter(row[0] for row in ROWS)
    approved = Counter(row[0] for row in ROWS if row[4] and row[4][1] == "approved")
    assert {t.label: t.rate for t in report.by_officer} == {
        names[who]: pytest.approx(approved[who] / submitted[who]) for who in names
    }


def test_the_rates_by_direction_are_over_the_decisions_with_the_first_outcome(records, compliance_officer):
    report = override_report(viewer=compliance_officer)

    model_outcomes = Counter(row[1] for row in ROWS)
    expected = {}
    for (before, after), tally in counted([row for row in ROWS if row[4]], key=lambda r: (r[1], r[4][0])).items():
        _, approved, _, pending, rejected, funded, defaulted = tally
        expected[(before, after)] = (model_outcomes[before], approved, pending, rejected, funded, defaulted)
    assert {
        (t.outcome_before, t.outcome_after): (t.decisions, t.overrides, t.pending, t.rejected, t.funded, t.defaulted)
        for t in report.by_direction
    } == expected
    decline_to_approve = next(
        t for t in report.by_direction if (t.outcome_before, t.outcome_after) == ("decline", "approve")
    )
    assert decline_to_approve.rate == pytest.approx(3 / 6)
    assert decline_to_approve.default_rate == pytest.approx(2 / 3)


def test_the_rates_by_reason_group_decisions_by_their_first_principal_reason(records, compliance_officer):
    report = override_report(viewer=compliance_officer)

    def label(row):
        return f"{row[2]} {REASONS[row[2]]}" if row[2] else NO_REASON

    assert figures(report.by_reason) == counted(ROWS, key=label)


def test_compliance_sees_the_rates_by_protected_group(records, compliance_officer):
    report = override_report(viewer=compliance_officer)

    assert figures(report.by_group["sex"]) == counted(ROWS, key=lambda row: row[3])


def test_no_one_but_compliance_sees_figures_by_protected_group(records, loan_officer, administrator):
    assert override_report(viewer=loan_officer).by_group is None
    assert override_report(viewer=administrator).by_group is None


def test_the_baseline_is_how_the_models_own_approvals_went(records, compliance_officer):
    baseline = override_report(viewer=compliance_officer).model_approvals

    kept = [row for row in ROWS if row[1] == "approve" and not (row[4] and row[4][1] == "approved")]
    assert (baseline.decisions, baseline.funded, baseline.defaulted) == (
        len(kept),
        sum(row[5] is not None for row in kept),
        sum(row[5] in DEFAULTED for row in kept),
    )


def test_an_officer_sees_only_their_own_overrides(records, officers):
    mine = list(officer_overrides(officer=officers["a"]))

    assert len(mine) == sum(1 for row in ROWS if row[0] == "a" and row[4])
    assert {override.overridden_by for override in mine} == {officers["a"]}
    funded_and_defaulted = sorted((o.loan_id is not None, o.defaulted) for o in mine if o.status == "approved")
    assert funded_and_defaulted == [(False, False), (True, False), (True, True), (True, True)]


def test_an_officers_record_counts_their_own_overrides_and_how_the_loans_went(records, officers):
    record = officer_override_record(officer=officers["a"])

    decisions, approved, favourable, pending, rejected, funded, defaulted = counted(ROWS, key=lambda row: row[0])["a"]
    assert (record.decisions, record.overrides, record.favourable) == (decisions, approved, favourable)
    assert (record.pending, record.rejected, record.funded, record.defaulted) == (pending, rejected, funded, defaulted)
