"""docs/api.md step 5 as written: find an approved application, an officer funds it in the portal, the
application names its loan, the partner reports repayment as of today (and a second report is a conflict)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lending.models import Decision, Loan
from tests.lending.api.helpers import application_body, bearer, submit
from tests.lending.overrides import override_to_approve

pytestmark = pytest.mark.django_db


def test_a_partner_reports_repayment_on_a_loan_an_officer_funded_in_the_portal(
    client, acme, champion, loan_officer, second_loan_officer
):
    key = acme[1]
    application_id = submit(client, key, application_body()).json()["id"]
    decision = Decision.objects.get(application_id=application_id, is_shadow=False)
    if decision.outcome != "approve":  # the walk-through's applicant is approved by the demo's champion
        override_to_approve(decision, officer=loan_officer, second_officer=second_loan_officer)

    found = client.get(
        "/api/v1/applications/?applicant_reference=customer-1042&outcome=approve&page_size=1", **bearer(key)
    ).json()["results"][0]["id"]
    officer = Client()
    officer.force_login(loan_officer)
    page = officer.get(reverse("lending:application_detail", args=[found]))
    initial = page.context["fund_form"].initial
    funded = officer.post(
        reverse("lending:application_fund", args=[found]),
        {"principal": initial["principal"], "term_months": initial["term_months"], "funded_on": initial["funded_on"]},
    )
    loan_id = client.get(f"/api/v1/applications/{found}/", **bearer(key)).json()["funded_loan_id"]
    body = {"status": "current", "days_past_due": 0, "as_of": timezone.localdate().isoformat()}
    first = client.post(f"/api/v1/loans/{loan_id}/outcomes/", body, content_type="application/json", **bearer(key))
    second = client.post(f"/api/v1/loans/{loan_id}/outcomes/", body, content_type="application/json", **bearer(key))

    assert found == application_id
    assert funded["Location"] == reverse("lending:loan_detail", args=[loan_id])
    assert Loan.objects.get(pk=loan_id).application_id == application_id
    assert (first.status_code, second.status_code) == (201, 409)
    assert "0 days past due as of" in officer.get(funded["Location"]).content.decode()
