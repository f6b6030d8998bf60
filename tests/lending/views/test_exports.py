"""The application list's exports: its applications, and the decisions acted on for them, under its filters."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from finai.models import AuditEvent
from lending.models import LoanApplication, ProtectedAttributes
from lending.services.overrides import decision_override
from tests.factories import DecisionFactory, LoanApplicationFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

APPLICATION_HEADER = [
    "reference",
    "applicant_reference",
    "applicant",
    "channel",
    "product",
    "amount",
    "term_months",
    "purpose",
    "submitted_at",
    "submitted_by",
    "status",
    "decision_outcome",
    "decided_at",
    "final_outcome",
]
DECISION_HEADER = [
    "application",
    "decision",
    "decided_at",
    "model_version",
    "policy_version",
    "outcome",
    "probability_of_default",
    "score",
    "reason_codes",
    "reasons",
    "outside_training_range",
    "override_status",
    "override_outcome",
    "overridden_by",
    "override_justification",
]
PROTECTED_WORDS = ("sex", "female", "age", "marital", "race", "ethnicity", "origin")


@pytest.fixture
def applications(loan_officer, model_version):
    """Live applications (declined, approved after an override, pending) and a historical imported row."""
    declined = LoanApplicationFactory(
        submitted_by=loan_officer, reference="app-aaa-1", applicant__full_name="@Dora Declined"
    )
    ProtectedAttributes.objects.create(applicant=declined.applicant, sex="female", age_band="<25")
    DecisionFactory(application=declined, model_version=model_version, outcome="decline")
    overridden = LoanApplicationFactory(submitted_by=loan_officer, reference="app-bbb-2")
    decision = DecisionFactory(application=overridden, model_version=model_version, outcome="refer")
    decision_override(
        decision=decision, outcome="approve", justification="=Verified income", overridden_by=loan_officer
    )
    LoanApplicationFactory(submitted_by=loan_officer, reference="app-ccc-3")
    historical = LoanApplicationFactory(reference="german_credit:0001", channel=LoanApplication.Channel.IMPORT)
    DecisionFactory(application=historical, outcome="approve")


def rows(client, name: str, **query) -> list[list[str]]:
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def listed(client, **query) -> list[str]:
    return [
        application.reference for application in client.get(reverse("lending:application_list"), query).context["page"]
    ]


FILTERS = [
    {},
    {"q": "bbb"},
    {"outcome": "decline"},
    {"outcome": "pending"},
    {"status": "submitted"},
    {"source": "historical"},
    {"source": "all"},
    {"mine": "on"},
    {"submitted_to": "2000-01-01"},
    {"submitted_from": "not a date"},  # an invalid form shows, and exports, the default list
]


@pytest.mark.parametrize("query", FILTERS)
def test_the_application_export_holds_the_lists_rows_in_its_order(officer_client, applications, query):
    exported = rows(officer_client, "lending:application_export", **query)

    assert exported[0] == APPLICATION_HEADER
    assert [row[0] for row in exported[1:]] == listed(officer_client, **query)


def test_an_application_row_says_what_the_list_says(officer_client, applications):
    exported = {
        row[0]: dict(zip(APPLICATION_HEADER, row, strict=True))
        for row in rows(officer_client, "lending:application_export")[1:]
    }

    assert exported["app-bbb-2"]["decision_outcome"] == "refer"
    assert exported["app-bbb-2"]["final_outcome"] == "approve"
    assert exported["app-bbb-2"]["amount"] == "2500.00"
    assert exported["app-ccc-3"]["final_outcome"] == ""
    assert exported["app-aaa-1"]["applicant"] == "'@Dora Declined"  # a formula-looking name stays text


@pytest.mark.parametrize("query", FILTERS)
def test_the_decision_export_holds_the_decisions_of_the_lists_applications(officer_client, applications, query):
    exported = rows(officer_client, "lending:decision_export", **query)
    decided = [
        reference
        for reference in listed(officer_client, **query)
        if LoanApplication.objects.get(reference=reference).decisions.exists()
    ]

    assert exported[0] == DECISION_HEADER
    assert [row[0] for row in exported[1:]] == decided


def test_a_decision_row_carries_its_reasons_model_and_override(officer_client, applications, model_version):
    exported = {
        row[0]: dict(zip(DECISION_HEADER, row, strict=True))
        for row in rows(officer_client, "lending:decision_export")[1:]
    }

    declined, overridden = exported["app-aaa-1"], exported["app-bbb-2"]
    assert declined["model_version"] == str(model_version.pk)
    assert declined["reason_codes"] == "R06; R10"
    assert declined["reasons"] == "Credit history shows a critical account; Amount requested is too high"
    assert (declined["override_status"], declined["override_outcome"]) == ("", "")
    assert (overridden["outcome"], overridden["override_outcome"]) == ("refer", "approve")
    assert overridden["override_status"] == "approved"
    assert overridden["overridden_by"] == "olivia_officer"
    assert overridden["override_justification"] == "'=Verified income"


def test_shadow_decisions_of_challengers_are_never_exported(officer_client, applications, model_version):
    application = LoanApplication.objects.get(reference="app-aaa-1")
    DecisionFactory(application=application, model_version=ModelVersionFactory(), is_shadow=True, outcome="approve")

    exported = rows(officer_client, "lending:decision_export")

    assert [row[0] for row in exported[1:]].count("app-aaa-1") == 1


@pytest.mark.parametrize("name", ["lending:application_export", "lending:decision_export"])
def test_no_protected_attribute_is_exported(officer_client, administrator, client, applications, name):
    client.force_login(administrator)
    for exported in (rows(officer_client, name, source="all"), rows(client, name, source="all")):
        text = "\n".join(",".join(row) for row in exported).lower()
        assert not [word for word in PROTECTED_WORDS if word in ",".join(exported[0]).lower()]
        assert "female" not in text
        assert "<25" not in text


@pytest.mark.parametrize(
    ("name", "export"), [("lending:application_export", "applications"), ("lending:decision_export", "decisions")]
)
def test_each_export_is_recorded_with_its_filters_and_row_count(
    officer_client, loan_officer, applications, name, export
):
    exported = rows(officer_client, name, outcome="decline", page="4")

    event = AuditEvent.objects.get(action=f"export.{export}")
    assert event.actor == loan_officer
    assert event.payload == {"export": export, "filters": {"outcome": "decline"}, "rows": len(exported) - 1}


@pytest.mark.parametrize("name", ["lending:application_export", "lending:decision_export"])
@pytest.mark.parametrize("persona", ["model_manager", "compliance_officer", "analyst", "outsider"])
def test_only_officers_may_export_the_list(client, request, applications, name, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse(name)).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_the_list_offers_both_exports_with_its_filters(officer_client, applications):
    page = officer_client.get(reverse("lending:application_list"), {"q": "bbb", "page": "1"}).content.decode()

    assert f'href="{reverse("lending:application_export")}?q=bbb"' in page
    assert f'href="{reverse("lending:decision_export")}?q=bbb"' in page
