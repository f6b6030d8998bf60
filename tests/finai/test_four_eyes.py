"""Four eyes where it matters, through the pages people use: whoever asked cannot approve, and trying changes nothing.

The services' refusals are tested where they live (tests/analytics/services/test_registry.py,
tests/monitoring/services/test_screening_governance.py, tests/lending/services/test_overrides.py) and each page
has a test that the refusal is shown. What those leave open is checked here for all four workflows alike: the
requester's own approval, sent through the page, leaves every row of the workflow's tables and the audit trail
exactly as they were, and so does the Django admin's change form, even for a requester who is a superuser. It adds
the two requesters no page test covered: a version's trainer (who did not ask for its promotion) and the proposer
of a brand-new screening scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from analytics.models import ModelVersion, PromotionRequest
from finai.models import AuditEvent
from lending.models import Decision, LoanApplication, Override
from lending.services.overrides import decision_override
from monitoring.models import ScenarioVersion, ScreeningCase, ScreeningScenario
from monitoring.services.cases import case_assign, case_close_request, case_narrative_save
from monitoring.services.scenarios import scenario_change_propose, scenario_create, screening_scenarios_ensure
from tests.factories import DecisionFactory, LoanApplicationFactory, PromotionRequestFactory
from tests.monitoring.screening_records import structuring_case

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class OwnApproval:
    """The requester's approval as their browser sends it, the tables it would change, and the refusal shown."""

    requester: Any
    url: str
    data: dict[str, str]
    tables: tuple[type[Model], ...]
    refusal: str


def _promotion_by_its_requester(people: dict[str, Any], model_version: ModelVersion) -> OwnApproval:
    promotion = PromotionRequestFactory(version=model_version, requested_by=people["model_manager"])
    return OwnApproval(
        people["model_manager"],
        reverse("analytics:promotion_approve", args=[promotion.pk]),
        {"accept_exception": "on", "note": "My own."},
        (PromotionRequest, ModelVersion),
        "Four eyes: the person who trained a version or requested its promotion cannot decide it.",
    )


def _promotion_by_the_versions_trainer(people: dict[str, Any], model_version: ModelVersion) -> OwnApproval:
    """model_version was trained by model_manager; a second manager asks for its promotion."""
    promotion = PromotionRequestFactory(version=model_version, requested_by=people["second_model_manager"])
    return OwnApproval(
        people["model_manager"],
        reverse("analytics:promotion_approve", args=[promotion.pk]),
        {"accept_exception": "on", "note": "I trained it."},
        (PromotionRequest, ModelVersion),
        "Four eyes: the person who trained a version or requested its promotion cannot decide it.",
    )


def _scenario_change_by_its_proposer(people: dict[str, Any], model_version: ModelVersion) -> OwnApproval:
    screening_scenarios_ensure()
    proposal = scenario_change_propose(
        scenario=ScreeningScenario.objects.get(name="structuring"),
        parameters={"threshold": 9_000},
        enabled=True,
        change_note="Deposits cluster lower.",
        proposed_by=people["compliance_officer"],
    )
    return OwnApproval(
        people["compliance_officer"],
        reverse("monitoring:screening_version_review", args=[proposal.pk]),
        {"action": "approve", "note": "Mine."},
        (ScreeningScenario, ScenarioVersion),
        "A second compliance officer must review this change, not its proposer.",
    )


def _new_scenario_by_its_proposer(people: dict[str, Any], model_version: ModelVersion) -> OwnApproval:
    proposal = scenario_create(
        name="structuring_5k",
        typology="structuring",
        description="Cash just under 5,000.",
        parameters={"threshold": 5_000},
        change_note="A second band.",
        proposed_by=people["compliance_officer"],
    )
    return OwnApproval(
        people["compliance_officer"],
        reverse("monitoring:screening_version_review", args=[proposal.pk]),
        {"action": "approve", "note": "Mine."},
        (ScreeningScenario, ScenarioVersion),
        "A second compliance officer must review this change, not its proposer.",
    )


def _override_beyond_the_limit_by_its_officer(people: dict[str, Any], model_version: ModelVersion) -> OwnApproval:
    """Declined at 62%, beyond the default limit (decline line 50% + 10 points): approving it waits."""
    decision = DecisionFactory(
        application=LoanApplicationFactory(submitted_by=people["loan_officer"]),
        model_version=model_version,
        outcome="decline",
        probability_of_default=0.62,
    )
    override = decision_override(
        decision=decision, outcome="approve", justification="Payslips seen.", overridden_by=people["loan_officer"]
    )
    assert override.status == Override.Status.PENDING
    return OwnApproval(
        people["loan_officer"],
        reverse("lending:application_override_approve", args=[decision.application_id]),
        {"note": "Mine."},
        (Override, Decision, LoanApplication),
        "Four eyes: the officer who asked for an override cannot decide it; a second officer must.",
    )


def _confirmed_case_close_by_its_investigator(people: dict[str, Any], model_version: ModelVersion) -> OwnApproval:
    officer = people["compliance_officer"]
    case = case_assign(case=structuring_case(), assignee=officer, assigned_by=officer)
    case_narrative_save(case=case, author=officer, narrative="Three deposits under the threshold.")
    case_close_request(case=case, requested_by=officer, closing_note="Classic structuring.")
    return OwnApproval(
        officer,
        reverse("monitoring:screening_case_act", args=[case.pk]),
        {"action": "close_approve", "review-note": "Mine."},
        (ScreeningCase,),
        "A second compliance officer must approve the confirmation, not its investigator.",
    )


OWN_APPROVALS: dict[str, Callable[[dict[str, Any], ModelVersion], OwnApproval]] = {
    "promotion, by its requester": _promotion_by_its_requester,
    "promotion, by the version's trainer": _promotion_by_the_versions_trainer,
    "screening scenario change, by its proposer": _scenario_change_by_its_proposer,
    "new screening scenario, by its proposer": _new_scenario_by_its_proposer,
    "override beyond the risk limit, by its officer": _override_beyond_the_limit_by_its_officer,
    "confirmed case close, by its investigator": _confirmed_case_close_by_its_investigator,
}


def _rows(tables: tuple[type[Model], ...]) -> dict[str, list[dict[str, Any]]]:
    return {table.__name__: list(table.objects.order_by("pk").values()) for table in tables}


@pytest.fixture
def people(loan_officer, model_manager, second_model_manager, compliance_officer) -> dict[str, Any]:
    return {
        "loan_officer": loan_officer,
        "model_manager": model_manager,
        "second_model_manager": second_model_manager,
        "compliance_officer": compliance_officer,
    }


@pytest.mark.parametrize("workflow", OWN_APPROVALS)
def test_the_requesters_own_approval_through_the_page_is_refused_and_changes_nothing(workflow, people, model_version):
    own = OWN_APPROVALS[workflow](people, model_version)
    browser = Client()
    browser.force_login(own.requester)
    rows, events = _rows(own.tables), AuditEvent.objects.count()

    response = browser.post(own.url, own.data, follow=True)

    assert own.refusal in response.content.decode()
    assert _rows(own.tables) == rows
    assert AuditEvent.objects.count() == events


# What waits for a second person, and the change that would approve it, as the admin's change form would post it.
ADMIN_APPROVALS: dict[str, tuple[type[Model], dict[str, str]]] = {
    "promotion, by its requester": (PromotionRequest, {"status": "approved"}),
    "screening scenario change, by its proposer": (ScenarioVersion, {"status": "active"}),
    "override beyond the risk limit, by its officer": (Override, {"status": "approved"}),
    "confirmed case close, by its investigator": (ScreeningCase, {"status": "closed", "disposition": "confirmed"}),
}


@pytest.mark.parametrize("workflow", ADMIN_APPROVALS)
def test_not_even_a_superuser_requester_approves_through_the_admin(workflow, people, model_version):
    """The admin is read-only for these records (finai.admin.ReadOnlyModelAdmin): their writes are the services'."""
    own = OWN_APPROVALS[workflow](people, model_version)
    model, approval = ADMIN_APPROVALS[workflow]
    waiting = model.objects.order_by("pk").last()
    own.requester.is_staff = own.requester.is_superuser = True
    own.requester.save(update_fields=["is_staff", "is_superuser"])
    browser = Client()
    browser.force_login(own.requester)
    rows, events = _rows(own.tables), AuditEvent.objects.count()

    response = browser.post(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[waiting.pk]), approval
    )

    assert response.status_code == 403
    assert _rows(own.tables) == rows
    assert AuditEvent.objects.count() == events
