"""Repayment outcomes reported by partners feed monitoring and the next training snapshot."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from finai.models import AuditEvent
from lending.models import Decision, RepaymentOutcome
from lending.services.applications import loan_fund
from tests.lending.api.helpers import application_body, bearer, submit
from tests.lending.overrides import override_to_approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded_loan(client, acme, champion, loan_officer, second_loan_officer):
    application_id = submit(client, acme[1], application_body()).json()["id"]
    decision = Decision.objects.get(application_id=application_id, is_shadow=False)
    if decision.outcome != "approve":
        override_to_approve(decision, officer=loan_officer, second_officer=second_loan_officer)
    return loan_fund(application=decision.application, principal=Decimal("2500"), funded_on=dt.date(2025, 1, 1))


def report(client, key, loan_id, body):
    return client.post(f"/api/v1/loans/{loan_id}/outcomes/", body, content_type="application/json", **bearer(key))


def test_a_partner_reports_an_outcome_and_it_is_recorded_and_audited(client, acme, funded_loan):
    response = report(
        client, acme[1], funded_loan.pk, {"status": "defaulted", "days_past_due": 95, "as_of": "2025-06-30"}
    )

    assert response.status_code == 201
    assert response.json()["status"] == "defaulted"
    stored = RepaymentOutcome.objects.get(loan=funded_loan)
    assert (stored.status, stored.days_past_due, stored.as_of) == ("defaulted", 95, dt.date(2025, 6, 30))
    event = AuditEvent.objects.get(action="loan.outcome_recorded")
    assert event.actor_label == "partner:Acme Lending"


def test_the_application_shows_the_loan_to_report_on(client, acme, funded_loan):
    body = client.get(f"/api/v1/applications/{funded_loan.application_id}/", **bearer(acme[1])).json()

    assert body["funded_loan_id"] == funded_loan.pk
    assert body["status"] == "funded"


def test_a_second_report_for_the_same_date_is_a_conflict(client, acme, funded_loan):
    body = {"status": "current", "days_past_due": 0, "as_of": "2025-02-01"}
    report(client, acme[1], funded_loan.pk, body)
    response = report(client, acme[1], funded_loan.pk, {**body, "status": "paid"})

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "as_of"
    assert RepaymentOutcome.objects.count() == 1


def test_an_invalid_report_names_each_field(client, acme, funded_loan):
    response = report(client, acme[1], funded_loan.pk, {"status": "late", "days_past_due": -1, "extra": 1})

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"status", "days_past_due", "as_of", "extra"}


def test_a_report_dated_before_funding_is_refused(client, acme, funded_loan):
    response = report(client, acme[1], funded_loan.pk, {"status": "current", "as_of": "2024-12-31"})

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "as_of", "detail": "cannot be before the loan was funded"}]


def test_an_unfunded_or_unknown_loan_answers_404(client, acme):
    assert report(client, acme[1], 424242, {"status": "current", "as_of": "2025-01-01"}).status_code == 404
