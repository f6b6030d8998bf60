"""Override pages: asking for an override beyond the risk limit, a second officer's approval or rejection, the
approval queue and an officer's own record."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lending.models import LoanApplication, Override
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Payslips verified in branch; income is higher than declared."


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def risky(loan_officer, model_version) -> LoanApplication:
    """Declined at a probability of default of 62%: beyond the default limit of 50% + 10 points."""
    application = LoanApplicationFactory(submitted_by=loan_officer, reference="app-risky")
    DecisionFactory(application=application, model_version=model_version, outcome="decline")
    return application


@pytest.fixture
def requested(risky, officer_client) -> LoanApplication:
    officer_client.post(
        reverse("lending:application_override", args=[risky.pk]),
        {"outcome": "approve", "justification": JUSTIFICATION},
    )
    return risky


def detail(client, application):
    return client.get(reverse("lending:application_detail", args=[application.pk]))


def test_an_override_beyond_the_limit_waits_and_the_page_says_so(risky, officer_client):
    response = officer_client.post(
        reverse("lending:application_override", args=[risky.pk]),
        {"outcome": "approve", "justification": JUSTIFICATION},
        follow=True,
    )

    html = response.content.decode()
    assert "waits for a second officer" in html
    assert response.context["final_outcome"] == "decline"
    assert response.context["pending_override"].status == Override.Status.PENDING
    assert response.context["fund_form"] is None
    assert response.context["override_form"] is None  # one request at a time


def test_the_officer_who_asked_sees_why_they_cannot_decide_and_no_buttons(requested, officer_client):
    html = detail(officer_client, requested).content.decode()

    assert 'id="four-eyes-note"' in html
    assert "You asked for this override" in html
    assert "Approve override" not in html


def test_a_second_officer_sees_the_risk_and_the_buttons(requested, second_loan_officer):
    html = detail(signed_in(second_loan_officer), requested).content.decode()

    assert "Approve override" in html
    assert "Reject override" in html
    assert JUSTIFICATION in html
    assert "The probability of default, 62.0%, is at or beyond the risk limit of 60.0%" in html


def test_a_second_officer_approves_and_the_override_is_acted_on(requested, second_loan_officer):
    client = signed_in(second_loan_officer)

    response = client.post(reverse("lending:application_override_approve", args=[requested.pk]), {"note": "Seen."})

    assert response.status_code == 302
    page = detail(client, requested)
    assert page.context["final_outcome"] == "approve"
    assert page.context["pending_override"] is None
    assert page.context["fund_form"] is not None  # approved by a second officer, it can be funded
    requested.refresh_from_db()
    assert requested.status == LoanApplication.Status.OVERRIDDEN
    assert Override.objects.get().approved_by == second_loan_officer


def test_the_officer_who_asked_cannot_approve_and_the_page_says_why(requested, officer_client):
    response = officer_client.post(reverse("lending:application_override_approve", args=[requested.pk]), {"note": ""})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Four eyes" in html
    assert "approved_by: must be a second officer" in html
    assert Override.objects.get().status == Override.Status.PENDING


def test_a_rejection_without_a_note_is_refused_with_the_field_named(requested, second_loan_officer):
    response = signed_in(second_loan_officer).post(
        reverse("lending:application_override_reject", args=[requested.pk]), {"note": ""}
    )

    assert response.status_code == 400
    assert "note" in response.context["review_form"].errors
    assert Override.objects.get().status == Override.Status.PENDING


def test_a_second_officer_rejects_and_the_models_outcome_stands(requested, second_loan_officer):
    client = signed_in(second_loan_officer)

    client.post(reverse("lending:application_override_reject", args=[requested.pk]), {"note": "Income unverified."})

    page = detail(client, requested)
    assert page.context["final_outcome"] == "decline"
    assert Override.objects.get().status == Override.Status.REJECTED
    assert "Income unverified." in page.content.decode()
    assert page.context["override_form"] is not None  # a new request may follow


def test_deciding_when_nothing_waits_says_so(risky, second_loan_officer):
    response = signed_in(second_loan_officer).post(
        reverse("lending:application_override_approve", args=[risky.pk]), {"note": ""}, follow=True
    )

    assert "No override of this application is waiting" in response.content.decode()


def test_the_queue_lists_waiting_overrides_oldest_first_a_page_at_a_time(
    loan_officer, second_loan_officer, model_version
):
    for number in range(27):
        decision = DecisionFactory(
            application=LoanApplicationFactory(submitted_by=loan_officer, reference=f"app-queue-{number:02d}"),
            model_version=model_version,
            outcome="decline",
        )
        Override.objects.create(
            decision=decision,
            overridden_by=loan_officer,
            justification=JUSTIFICATION,
            outcome_before="decline",
            outcome_after="approve",
            status=Override.Status.PENDING,
        )
    client = signed_in(second_loan_officer)

    first, second = (client.get(reverse("lending:override_queue"), {"page": page}) for page in (1, 2))

    assert [o.decision.application.reference for o in first.context["page"]][:2] == ["app-queue-00", "app-queue-01"]
    assert len(first.context["page"]) == 25
    assert [o.decision.application.reference for o in second.context["page"]] == ["app-queue-25", "app-queue-26"]


def test_an_officer_sees_only_their_own_overrides(requested, loan_officer, second_loan_officer, model_version):
    theirs = LoanApplicationFactory(submitted_by=second_loan_officer, reference="app-theirs")
    decision = DecisionFactory(application=theirs, model_version=model_version, outcome="approve")
    Override.objects.create(
        decision=decision,
        overridden_by=second_loan_officer,
        justification="Not mine.",
        outcome_before="approve",
        outcome_after="decline",
    )

    response = signed_in(loan_officer).get(reverse("lending:my_overrides"))

    assert [o.overridden_by for o in response.context["page"]] == [loan_officer]
    assert response.context["record"].pending == 1
    html = response.content.decode()
    assert "app-risky" in html
    assert "app-theirs" not in html


def test_the_override_pages_are_for_officers(requested, compliance_officer, model_manager):
    for user in (compliance_officer, model_manager):
        client = signed_in(user)
        for url in (
            reverse("lending:override_queue"),
            reverse("lending:my_overrides"),
            reverse("lending:application_override_approve", args=[requested.pk]),
        ):
            assert client.post(url, {"note": "x"}).status_code == 403
    assert Override.objects.get().status == Override.Status.PENDING
