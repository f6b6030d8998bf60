"""The loan pages: the list and its filters, a loan's outcomes over time, withdrawal and closure; officers only."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from finai.models import AuditEvent
from lending.models import Loan, RepaymentOutcome
from lending.services.applications import loan_fund
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db

FUNDED_ON = dt.date(2026, 1, 5)


def funded(officer, *, name: str = "Fay Funded", reference: str = "app-funded") -> Loan:
    application = LoanApplicationFactory(submitted_by=officer, reference=reference, applicant__full_name=name)
    DecisionFactory(application=application, outcome="approve")
    return loan_fund(application=application, principal=Decimal("2500"), funded_on=FUNDED_ON)


@pytest.fixture
def loan(loan_officer) -> Loan:
    return funded(loan_officer)


def page_urls(loan: Loan) -> list[str]:
    return [
        reverse("lending:loan_list"),
        reverse("lending:loan_detail", args=[loan.pk]),
        reverse("lending:loan_withdraw", args=[loan.pk]),
        reverse("lending:loan_close", args=[loan.pk]),
    ]


@pytest.mark.parametrize("persona", ["loan_officer", "administrator"])
def test_officers_and_administrators_read_the_loan_pages(client, request, persona, loan):
    client.force_login(request.getfixturevalue(persona))

    for url in page_urls(loan)[:2]:
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("persona", ["model_manager", "compliance_officer", "outsider"])
def test_other_roles_are_refused_every_loan_page_and_action(client, request, persona, loan):
    client.force_login(request.getfixturevalue(persona))

    for url in page_urls(loan):
        assert client.get(url).status_code == 403
    assert client.post(page_urls(loan)[3], {"status": "repaid", "closed_on": "2026-02-01"}).status_code == 403
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


def test_anonymous_visitors_are_sent_to_sign_in(client, loan):
    for url in page_urls(loan):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_loan_page_links_its_application_and_decision_and_draws_its_outcomes_over_time(officer_client, loan):
    for as_of, status, days in [
        ("2026-02-05", "current", 0),
        ("2026-03-05", "current", 12),
        ("2026-04-05", "defaulted", 95),
    ]:
        RepaymentOutcome.objects.create(loan=loan, status=status, days_past_due=days, as_of=as_of)

    html = officer_client.get(reverse("lending:loan_detail", args=[loan.pk])).content.decode()

    application_url = reverse("lending:application_detail", args=[loan.application_id])
    assert f'href="{application_url}"' in html
    assert f'href="{application_url}#decision-heading"' in html
    rows = re.findall(r"<tr><td class=\"nowrap\">(\d{4}-\d\d-\d\d)</td>", html)
    assert rows == ["2026-02-05", "2026-03-05", "2026-04-05"]
    chart = html[html.index('id="days-past-due-chart"') :]
    assert chart.count('<circle class="marker') == 3
    assert [float(t) for t in re.findall(r'class="tick y-tick"[^>]*>([\d.]+)<', chart)] == [0, 25, 50, 75, 100]
    assert "2026-04-05: defaulted, 95 days past due" in chart
    assert 'id="withdraw-form"' not in html  # it ran: no withdrawal any more
    assert 'id="close-form"' in html


def test_a_loan_without_outcomes_says_so_and_offers_withdrawal_and_closure(officer_client, loan):
    html = officer_client.get(reverse("lending:loan_detail", args=[loan.pk])).content.decode()

    assert 'id="no-outcomes"' in html
    assert 'id="withdraw-form"' in html
    assert 'id="close-form"' in html


def test_an_officer_records_a_withdrawal_with_its_reason(officer_client, loan_officer, loan):
    url = reverse("lending:loan_withdraw", args=[loan.pk])
    body = {"withdrawn_on": "2026-01-08", "reason": "Used the cooling-off period."}

    first = officer_client.post(url, body)
    second = officer_client.post(url, body)  # a double-click

    assert first["Location"] == second["Location"] == reverse("lending:loan_detail", args=[loan.pk])
    loan.refresh_from_db()
    assert (loan.status, loan.end_note) == (Loan.Status.WITHDRAWN, "Used the cooling-off period.")
    assert AuditEvent.objects.filter(action="loan.withdrawn", actor=loan_officer).count() == 1
    html = officer_client.get(second["Location"]).content.decode()
    assert "Used the cooling-off period." in html
    assert 'id="withdraw-form"' not in html
    assert 'id="close-form"' not in html


def test_a_withdrawal_without_a_reason_is_named_on_its_field(officer_client, loan):
    response = officer_client.post(reverse("lending:loan_withdraw", args=[loan.pk]), {"withdrawn_on": "2026-01-01"})

    assert response.status_code == 400
    form = response.context["withdraw_form"]
    assert set(form.errors) == {"reason"}
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


def test_the_service_s_refusal_lands_on_the_field_it_names(officer_client, loan):
    response = officer_client.post(
        reverse("lending:loan_withdraw", args=[loan.pk]), {"withdrawn_on": "2026-01-01", "reason": "Changed mind."}
    )

    assert response.status_code == 400
    assert response.context["withdraw_form"].errors["withdrawn_on"] == [
        "cannot be before the loan was funded (2026-01-05)"
    ]


def test_an_officer_closes_a_loan_as_charged_off(officer_client, loan):
    RepaymentOutcome.objects.create(loan=loan, status="defaulted", days_past_due=120, as_of="2026-05-05")

    response = officer_client.post(
        reverse("lending:loan_close", args=[loan.pk]),
        {"status": "charged_off", "closed_on": "2026-05-31", "note": "Sold to collections."},
    )

    assert response.status_code == 302
    loan.refresh_from_db()
    assert (loan.status, loan.ended_on) == (Loan.Status.CHARGED_OFF, dt.date(2026, 5, 31))
    assert "Charged off" in officer_client.get(response["Location"]).content.decode()


def test_closing_before_the_last_outcome_is_named_on_the_date(officer_client, loan):
    RepaymentOutcome.objects.create(loan=loan, status="paid", days_past_due=0, as_of="2026-05-05")

    response = officer_client.post(
        reverse("lending:loan_close", args=[loan.pk]), {"status": "repaid", "closed_on": "2026-05-01"}
    )

    assert response.status_code == 400
    assert response.context["close_form"].errors["closed_on"] == [
        "cannot be before the last repayment outcome (2026-05-05)"
    ]


def test_the_fund_form_names_a_term_longer_than_applied_for(officer_client, loan_officer):
    application = LoanApplicationFactory(submitted_by=loan_officer, term_months=24)
    DecisionFactory(application=application, outcome="approve")

    response = officer_client.post(
        reverse("lending:application_fund", args=[application.pk]),
        {"principal": "2500", "term_months": "36", "funded_on": "2026-01-05"},
    )

    assert response.status_code == 400
    assert response.context["fund_form"].errors["term_months"] == ["must be from 1 to the 24 months applied for"]
    assert not Loan.objects.exists()


def test_the_loan_list_filters_by_status_and_latest_outcome(officer_client, loan_officer):
    current = funded(loan_officer, name="Cora Current", reference="app-current")
    late = funded(loan_officer, name="Lena Late", reference="app-late")
    funded(loan_officer, name="Nina New", reference="app-new")
    RepaymentOutcome.objects.create(loan=current, status="current", days_past_due=0, as_of="2026-02-05")
    RepaymentOutcome.objects.create(loan=late, status="current", days_past_due=0, as_of="2026-02-05")
    RepaymentOutcome.objects.create(loan=late, status="defaulted", days_past_due=91, as_of="2026-04-05")
    url = reverse("lending:loan_list")

    def names(**query) -> set[str]:
        page = officer_client.get(url, query).context["page"]
        return {loan.application.applicant.full_name for loan in page}

    assert names() == {"Cora Current", "Lena Late", "Nina New"}
    assert names(latest_outcome="defaulted") == {"Lena Late"}
    assert names(latest_outcome="none") == {"Nina New"}
    assert names(q="lena") == {"Lena Late"}
    assert names(status="repaid") == set()
    assert names(funded_from="2026-01-06") == set()


def test_the_loan_list_is_paginated(officer_client, loan_officer):
    for number in range(27):
        funded(loan_officer, name=f"Person {number}", reference=f"app-{number:03d}")

    first = officer_client.get(reverse("lending:loan_list"))
    second = officer_client.get(reverse("lending:loan_list"), {"page": 2})

    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 2
    assert "Page 1 of 2" in first.content.decode()
