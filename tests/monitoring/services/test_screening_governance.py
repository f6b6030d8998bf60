"""Four eyes on screening: scenario changes need a second compliance officer, so does a confirmed case; a case
is worked only by whoever holds it; every step is an audit event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError

from finai.errors import ApplicationError
from finai.models import AuditEvent
from monitoring.models import ScenarioVersion, ScreeningCase, ScreeningScenario
from monitoring.services.cases import (
    case_assign,
    case_close,
    case_close_approve,
    case_close_reject,
    case_close_request,
    case_narrative_save,
    case_note_add,
    case_release,
)
from monitoring.services.scenarios import (
    active_versions,
    scenario_change_propose,
    scenario_create,
    scenario_version_approve,
    scenario_version_reject,
    screening_scenarios_ensure,
)
from monitoring.services.screening import BookingInput, bookings_screen

pytestmark = pytest.mark.django_db


def structuring(name: str = "structuring") -> ScreeningScenario:
    screening_scenarios_ensure()
    return ScreeningScenario.objects.get(name=name)


def case_actions(case: ScreeningCase) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="screening_case", object_id=str(case.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


# --- scenarios -------------------------------------------------------------------------------------------------


def test_the_defaults_are_installed_once_one_active_version_per_typology() -> None:
    assert len(screening_scenarios_ensure()) == 8
    assert screening_scenarios_ensure() == []
    assert [version.scenario.name for version in active_versions()] == sorted(
        [
            "structuring",
            "pass_through",
            "fan_in",
            "fan_out",
            "cycle",
            "dormant_reactivation",
            "velocity_spike",
            "round_amounts",
        ]
    )


def test_a_change_goes_live_only_when_a_second_officer_approves_it(
    compliance_officer: Any, second_compliance_officer: Any
) -> None:
    scenario = structuring()
    proposal = scenario_change_propose(
        scenario=scenario,
        parameters={"threshold": 9_000},
        enabled=True,
        change_note="The local reporting threshold is 9,000.",
        proposed_by=compliance_officer,
    )
    assert proposal.status == ScenarioVersion.Status.PENDING
    assert proposal.number == 2
    assert proposal.parameters["threshold"] == 9_000.0
    assert proposal.parameters["minimum_deposits"] == 3  # defaults filled in
    assert scenario.versions.get(status="active").number == 1

    with pytest.raises(ApplicationError) as raised:
        scenario_version_approve(version=proposal, approved_by=compliance_officer)
    assert raised.value.code == "four_eyes"

    scenario_version_approve(version=proposal, approved_by=second_compliance_officer, note="Checked the law.")
    statuses = dict(scenario.versions.values_list("number", "status"))
    assert statuses == {1: "retired", 2: "active"}
    [approved] = AuditEvent.objects.filter(action="screening.scenario_approved")
    assert approved.payload["retired"] == [1]
    assert approved.payload["parameters"]["threshold"] == 9_000.0
    assert approved.actor == second_compliance_officer


def test_a_proposal_names_every_invalid_parameter_and_stores_nothing(compliance_officer: Any) -> None:
    scenario = structuring()
    with pytest.raises(ApplicationError) as raised:
        scenario_change_propose(
            scenario=scenario,
            parameters={"threshold": -1, "margin": "wide", "colour": "red"},
            enabled=True,
            change_note="Try.",
            proposed_by=compliance_officer,
        )
    assert set(raised.value.details) == {"parameters.threshold", "parameters.margin", "parameters.colour"}
    assert scenario.versions.count() == 1


def test_one_pending_change_at_a_time_and_a_rejection_keeps_the_active_version(
    compliance_officer: Any, second_compliance_officer: Any
) -> None:
    scenario = structuring()
    proposal = scenario_change_propose(
        scenario=scenario,
        parameters={"minimum_deposits": 2},
        enabled=True,
        change_note="More.",
        proposed_by=compliance_officer,
    )
    with pytest.raises(ApplicationError) as raised:
        scenario_change_propose(
            scenario=scenario,
            parameters={"minimum_deposits": 4},
            enabled=True,
            change_note="Fewer.",
            proposed_by=second_compliance_officer,
        )
    assert raised.value.code == "conflict"
    with pytest.raises(ApplicationError):
        scenario_version_reject(version=proposal, rejected_by=second_compliance_officer, note="  ")
    scenario_version_reject(version=proposal, rejected_by=second_compliance_officer, note="Too many alerts.")
    assert dict(scenario.versions.values_list("number", "status")) == {1: "active", 2: "rejected"}


def test_a_proposal_equal_to_the_active_version_or_without_a_reason_is_refused(compliance_officer: Any) -> None:
    scenario = structuring()
    with pytest.raises(ApplicationError) as same:
        scenario_change_propose(
            scenario=scenario, parameters={}, enabled=True, change_note="Nothing.", proposed_by=compliance_officer
        )
    assert "parameters" in same.value.details
    with pytest.raises(ApplicationError) as unexplained:
        scenario_change_propose(
            scenario=scenario,
            parameters={"threshold": 5_000},
            enabled=True,
            change_note=" ",
            proposed_by=compliance_officer,
        )
    assert unexplained.value.details == {"change_note": "is required"}


def test_switching_a_scenario_off_is_a_change_like_any_other(
    compliance_officer: Any, second_compliance_officer: Any
) -> None:
    scenario = structuring()
    off = scenario_change_propose(
        scenario=scenario,
        parameters={},
        enabled=False,
        change_note="Covered elsewhere.",
        proposed_by=compliance_officer,
    )
    scenario_version_approve(version=off, approved_by=second_compliance_officer)
    assert "structuring" not in [version.scenario.name for version in active_versions()]


def test_a_new_scenario_starts_pending_and_only_compliance_may_propose(
    compliance_officer: Any, loan_officer: Any
) -> None:
    version = scenario_create(
        name="structuring_5k",
        typology="structuring",
        description="Cash just under 5,000.",
        parameters={"threshold": 5_000},
        change_note="A second band.",
        proposed_by=compliance_officer,
    )
    assert version.status == ScenarioVersion.Status.PENDING
    assert version.scenario.typology == "structuring"
    with pytest.raises(PermissionDenied):
        scenario_create(
            name="other", typology="fan_in", description="", parameters={}, change_note="x", proposed_by=loan_officer
        )


def test_the_database_refuses_a_version_reviewed_by_its_proposer(compliance_officer: Any) -> None:
    scenario = structuring()
    with pytest.raises(IntegrityError):
        ScenarioVersion.objects.create(
            scenario=scenario,
            number=9,
            parameters={},
            change_note="x",
            proposed_by=compliance_officer,
            reviewed_by=compliance_officer,
            proposed_at=dt.datetime.now(dt.UTC),
        )


# --- cases -------------------------------------------------------------------------------------------------------


@pytest.fixture
def case(db: Any) -> ScreeningCase:
    """A case opened by three cash deposits just under 10,000 within four days."""
    screening_scenarios_ensure()
    start = dt.datetime(2025, 6, 2, 10, tzinfo=dt.UTC)
    bookings_screen(
        bookings=[
            BookingInput(f"d{day}", "acc-9", "", Decimal("9600.00"), "in", "cash", start + dt.timedelta(days=day))
            for day in (0, 2, 4)
        ],
        partner=None,
    )
    return ScreeningCase.objects.get(account="acc-9")


def test_a_confirmed_case_is_worked_by_its_holder_and_closed_by_a_second_officer(
    case: ScreeningCase, compliance_officer: Any, second_compliance_officer: Any
) -> None:
    case_assign(case=case, assignee=compliance_officer, assigned_by=compliance_officer)
    case_note_add(case=case, author=compliance_officer, text="Three deposits at three branches.")
    with pytest.raises(ApplicationError) as no_narrative:
        case_close_request(case=case, requested_by=compliance_officer, closing_note="Structuring.")
    assert "sar_narrative" in no_narrative.value.details
    case_narrative_save(case=case, author=compliance_officer, narrative="Deposits of 9,600 on 2, 4 and 6 June.")
    case_close_request(case=case, requested_by=compliance_officer, closing_note="Structuring.")
    case.refresh_from_db()
    assert case.awaiting_second_approval

    with pytest.raises(ApplicationError) as own:
        case_close_approve(case=case, approved_by=compliance_officer)
    assert own.value.code == "four_eyes"
    case_close_approve(case=case, approved_by=second_compliance_officer, note="Agreed.")
    case.refresh_from_db()
    assert case.status == ScreeningCase.Status.CLOSED
    assert case.disposition == ScreeningCase.Disposition.CONFIRMED
    assert case.closed_by == second_compliance_officer
    assert case_actions(case) == [
        "screening.case_opened",
        "screening.case_assigned",
        "screening.case_noted",
        "screening.case_narrative_saved",
        "screening.case_close_requested",
        "screening.case_close_approved",
    ]


def test_only_the_holder_works_a_case_and_nobody_takes_it_from_them(
    case: ScreeningCase, compliance_officer: Any, second_compliance_officer: Any, administrator: Any
) -> None:
    with pytest.raises(ApplicationError) as unheld:
        case_note_add(case=case, author=compliance_officer, text="Looking.")
    assert unheld.value.code == "case_locked"
    case_assign(case=case, assignee=compliance_officer, assigned_by=compliance_officer)
    for attempt in (
        lambda: case_note_add(case=case, author=second_compliance_officer, text="Me too."),
        lambda: case_assign(case=case, assignee=second_compliance_officer, assigned_by=second_compliance_officer),
        lambda: case_close(
            case=case, closed_by=second_compliance_officer, disposition="false_positive", closing_note="No."
        ),
    ):
        with pytest.raises(ApplicationError) as locked:
            attempt()
        assert locked.value.code == "case_locked"
    case_assign(case=case, assignee=second_compliance_officer, assigned_by=administrator)
    case.refresh_from_db()
    assert case.assigned_to == second_compliance_officer
    case_release(case=case, released_by=second_compliance_officer)
    case.refresh_from_db()
    assert case.status == ScreeningCase.Status.PENDING
    assert case.assigned_to is None


def test_a_false_positive_is_closed_by_its_investigator_with_a_reason(
    case: ScreeningCase, compliance_officer: Any
) -> None:
    case_assign(case=case, assignee=compliance_officer, assigned_by=compliance_officer)
    with pytest.raises(ApplicationError) as confirm_alone:
        case_close(case=case, closed_by=compliance_officer, disposition="confirmed", closing_note="Bad.")
    assert "disposition" in confirm_alone.value.details
    with pytest.raises(ApplicationError) as silent:
        case_close(case=case, closed_by=compliance_officer, disposition="false_positive", closing_note="")
    assert silent.value.details == {"closing_note": "is required"}
    case_close(case=case, closed_by=compliance_officer, disposition="false_positive", closing_note="Payroll float.")
    case.refresh_from_db()
    assert (case.status, case.disposition, case.closed_by) == ("closed", "false_positive", compliance_officer)
    with pytest.raises(ApplicationError):
        case_note_add(case=case, author=compliance_officer, text="After.")


def test_a_rejected_confirmation_goes_back_to_its_investigator(
    case: ScreeningCase, compliance_officer: Any, second_compliance_officer: Any
) -> None:
    case_assign(case=case, assignee=compliance_officer, assigned_by=compliance_officer)
    case_narrative_save(case=case, author=compliance_officer, narrative="Deposits.")
    case_close_request(case=case, requested_by=compliance_officer, closing_note="Structuring.")
    with pytest.raises(ApplicationError):
        case_narrative_save(case=case, author=compliance_officer, narrative="Edited while waiting.")
    case_close_reject(case=case, rejected_by=second_compliance_officer, note="Check the branch CCTV first.")
    case.refresh_from_db()
    assert case.status == ScreeningCase.Status.INVESTIGATING
    assert not case.awaiting_second_approval
    assert case.assigned_to == compliance_officer


def test_a_new_alert_joins_the_accounts_open_case_and_raises_its_priority(case: ScreeningCase) -> None:
    before = case.priority
    start = dt.datetime(2025, 6, 20, 10, tzinfo=dt.UTC)
    bookings_screen(
        bookings=[
            BookingInput(f"e{day}", "acc-9", "", Decimal("9900.00"), "in", "cash", start + dt.timedelta(days=day))
            for day in (0, 1, 2, 3)
        ],
        partner=None,
    )
    case.refresh_from_db()
    assert ScreeningCase.objects.filter(account="acc-9").count() == 1
    assert case.alerts.count() == 2
    assert case.priority == pytest.approx(before + case.alerts.order_by("-pk").first().score)


def test_a_booking_screened_after_an_approval_meets_the_new_version_at_once(
    compliance_officer: Any, second_compliance_officer: Any
) -> None:
    """The rules one booking's screening reads are cached per process; an approval must reach them."""
    start = dt.datetime(2025, 6, 2, 10, tzinfo=dt.UTC)

    def deposit(identifier: str, day: int) -> Any:
        [verdict] = bookings_screen(
            bookings=[
                BookingInput(identifier, "acc-7", "", Decimal("9600.00"), "in", "cash", start + dt.timedelta(days=day))
            ],
            partner=None,
        )
        return verdict

    scenario = structuring()
    assert deposit("a1", 0).verdict == "clear"
    assert deposit("a2", 1).verdict == "clear"  # two deposits: under the default three
    version = scenario_change_propose(
        scenario=scenario,
        parameters={"minimum_deposits": 2},
        enabled=True,
        change_note="Two suffice here.",
        proposed_by=compliance_officer,
    )
    scenario_version_approve(version=version, approved_by=second_compliance_officer)
    [alert] = deposit("a3", 2).alerts
    assert alert.rule == "structuring v2"
