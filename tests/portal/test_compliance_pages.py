"""Compliance pages: audit-trail search and chain verification, and the override report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from finai.models import AuditEvent
from finai.services import audit_event_record
from lending.models import Override, ProtectedAttributes
from tests.finai.tampering import event_payload_overwrite
from tests.portal.conftest import decide, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def compliance_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


@pytest.fixture
def trail(loan_officer, model_manager):
    audit_event_record(action="model.trained", actor=model_manager, object_type="model_version", object_id=7)
    audit_event_record(action="model.promoted", actor=model_manager, object_type="model_version", object_id=7)
    audit_event_record(action="decision.overridden", actor=loan_officer, object_type="decision", object_id=3)
    audit_event_record(action="decision.made", actor_label="model:v7", object_type="loan_application", object_id=9)


def found(client, **query) -> list[str]:
    return [event.action for event in client.get(reverse("audit_search"), query).context["page"]]


def test_the_audit_search_filters_by_action_actor_object_and_date(compliance_client, trail):
    today = dt.date.today().isoformat()

    assert found(compliance_client, action="model.") == ["model.promoted", "model.trained"]
    assert found(compliance_client, action="decision.made") == ["decision.made"]
    assert found(compliance_client, actor="olivia") == ["decision.overridden"]
    assert found(compliance_client, actor="model:v7") == ["decision.made"]
    assert found(compliance_client, object_type="model_version", object_id="7") == ["model.promoted", "model.trained"]
    assert found(compliance_client, occurred_to="2000-01-01") == []
    assert "decision.made" in found(compliance_client, occurred_from=today, occurred_to=today)


def test_the_audit_search_pages_by_fifty_newest_first(compliance_client):
    for number in range(51):
        audit_event_record(action="test.event", object_id=number)

    first = compliance_client.get(reverse("audit_search"), {"action": "test.event"}).context["page"]
    second = compliance_client.get(reverse("audit_search"), {"action": "test.event", "page": 2}).context["page"]

    assert (len(first), len(second)) == (50, 1)
    assert first[0].object_id == "50"
    assert second[0].object_id == "0"


def test_verifying_the_chain_shows_it_intact_and_records_the_check(compliance_client, trail, compliance_officer):
    response = compliance_client.post(reverse("audit_verify"), follow=True)

    assert response.context["verification"]["intact"] is True
    assert "Chain intact." in response.content.decode()
    check = AuditEvent.objects.get(action="audit.chain_verified")
    assert check.actor == compliance_officer
    # The result is shown once: reloading the search does not show a stale verification.
    assert compliance_client.get(reverse("audit_search")).context["verification"] is None


def test_verifying_a_tampered_chain_names_the_first_broken_event(compliance_client, trail):
    victim = AuditEvent.objects.get(action="model.promoted")
    event_payload_overwrite(sequence=victim.sequence, payload={"forged": True})

    html = compliance_client.post(reverse("audit_verify"), follow=True).content.decode()

    assert "Chain broken" in html
    assert f"#{victim.sequence}" in html
    assert "content does not match its hash" in html


def test_the_override_report_counts_by_officer_direction_and_group(
    compliance_client, loan_officer, make_user, model_version
):
    second_officer = make_user("otto_officer", "loan_officer")
    rows = [
        (loan_officer, "decline", "approve", "female"),
        (loan_officer, "approve", "decline", "male"),
        (loan_officer, "refer", "approve", "female"),
        (second_officer, "decline", "refer", "male"),
        (second_officer, "approve", None, "female"),
        (loan_officer, "decline", None, "male"),
    ]
    for number, (officer, outcome, overridden_to, sex) in enumerate(rows):
        application = make_application(officer, reference=f"app-{number}")
        ProtectedAttributes.objects.create(applicant=application.applicant, sex=sex)
        decision = decide(application, model_version, outcome)
        if overridden_to:
            Override.objects.create(
                decision=decision,
                overridden_by=officer,
                justification="documented",
                outcome_before=outcome,
                outcome_after=overridden_to,
            )

    report = compliance_client.get(reverse("lending:override_report")).context["report"]

    assert (report.decisions, report.overrides) == (6, 4)
    by_officer = {t.label: (t.decisions, t.overrides, t.favourable, t.adverse) for t in report.by_officer}
    assert by_officer == {"olivia_officer": (4, 3, 2, 1), "otto_officer": (2, 1, 1, 0)}
    assert sorted(report.by_direction) == [
        ("approve", "decline", 1),
        ("decline", "approve", 1),
        ("decline", "refer", 1),
        ("refer", "approve", 1),
    ]
    by_sex = {t.label: (t.decisions, t.overrides, t.favourable, t.adverse) for t in report.by_group["sex"]}
    assert by_sex == {"female": (3, 2, 2, 0), "male": (3, 2, 1, 1)}
    assert [t.rate for t in report.by_group["sex"]] == [pytest.approx(2 / 3), pytest.approx(2 / 3)]


def test_the_group_breakdown_is_for_compliance_officers_only(client, make_user, decided_application):
    administrator = make_user("ada_admin", "admin")
    client.force_login(administrator)

    response = client.get(reverse("lending:override_report"))

    assert response.context["report"].by_group is None
    assert "shown to compliance officers only" in response.content.decode()
