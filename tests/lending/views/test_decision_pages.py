"""The officer's pages: decision with reasons and scale, override, notice, list and dashboard."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.engine.policy import DEFAULT_POLICY
from finai.models import AuditEvent
from lending.models import Loan, LoanApplication, Override
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db


def detail(client, application):
    return client.get(reverse("lending:application_detail", args=[application.pk]))


def test_a_pending_application_shows_progress_and_polls_for_its_decision(officer_client, loan_officer):
    application = LoanApplicationFactory(submitted_by=loan_officer, reference="app-pending")

    html = detail(officer_client, application).content.decode()
    status = officer_client.get(reverse("lending:application_status", args=[application.pk])).json()

    assert "Deciding" in html
    assert "<progress" in html
    assert f'data-poll-url="{reverse("lending:application_status", args=[application.pk])}"' in html
    assert '<meta http-equiv="refresh" content="3">' in html  # without JavaScript
    assert status == {"status": "submitted", "decided": False, "outcome": None}


def test_the_decision_page_shows_outcome_probability_score_reasons_model_and_policy(
    officer_client, decided_application, model_version
):
    html = detail(officer_client, decided_application).content.decode()

    assert "62.0%" in html  # probability of default 0.62
    assert 'id="score">520<' in html
    assert "Credit history shows a critical account" in html
    assert "R06" in html
    assert f"v{model_version.pk} · scorecard" in html
    assert "consumer-2025.1" in html
    assert reverse("lending:adverse_action_notice", args=[decided_application.pk]) in html


def test_the_score_scale_places_the_policy_cut_offs_where_the_policy_scores_them(officer_client, decided_application):
    scale = detail(officer_client, decided_application).context["scale"]

    decline, refer, approve = scale.bands
    assert decline.end == DEFAULT_POLICY.score(DEFAULT_POLICY.decline_from) == refer.start
    assert refer.end == DEFAULT_POLICY.score(DEFAULT_POLICY.approve_below) == approve.start
    assert scale.low < 520 < scale.high
    # A higher probability of default gives fewer points: the decline band lies below the approve band.
    assert decline.start < decline.end < approve.end


def test_an_override_without_a_justification_is_refused(officer_client, decided_application):
    response = officer_client.post(
        reverse("lending:application_override", args=[decided_application.pk]), {"outcome": "approve"}
    )

    assert response.status_code == 400
    assert "justification" in response.context["override_form"].errors
    assert not Override.objects.exists()


def test_an_override_with_a_justification_is_recorded_and_audited(officer_client, decided_application, loan_officer):
    response = officer_client.post(
        reverse("lending:application_override", args=[decided_application.pk]),
        {"outcome": "refer", "justification": "Guarantor documents arrived after scoring."},
    )

    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.outcome_before, override.outcome_after, override.overridden_by) == (
        "decline",
        "refer",
        loan_officer,
    )
    assert AuditEvent.objects.filter(action="decision.overridden", object_id=str(override.decision_id)).exists()
    page = detail(officer_client, decided_application)
    assert page.context["final_outcome"] == "refer"
    assert page.context["override_form"] is None  # one override per decision: the state machine allows no second
    assert "Guarantor documents arrived after scoring." in page.content.decode()


def test_the_notice_states_the_reasons_the_ecoa_rights_and_the_creditor(officer_client, decided_application, settings):
    settings.CREDITOR_NAME = "Harbour Credit Union"
    settings.CREDITOR_ADDRESS = "4 Quay Road, Portsmouth"

    html = officer_client.get(reverse("lending:adverse_action_notice", args=[decided_application.pk])).content.decode()

    assert "Your application has been declined." in html
    assert "Credit history shows a critical account" in html
    assert "Amount requested is too high" in html
    assert (
        "The federal Equal Credit Opportunity Act prohibits creditors from discriminating against credit "
        "applicants on the basis of race, color, religion, national origin, sex, marital status, age"
    ) in html
    assert "Federal Trade Commission" in html
    assert "Harbour Credit Union" in html
    assert "4 Quay Road, Portsmouth" in html
    assert 'href="/static/css/print.css" media="print"' in html


def test_an_approval_needs_no_notice(officer_client, loan_officer, model_version):
    application = LoanApplicationFactory(submitted_by=loan_officer, reference="app-approved")
    DecisionFactory(application=application, model_version=model_version, outcome="approve")

    html = officer_client.get(reverse("lending:adverse_action_notice", args=[application.pk])).content.decode()

    assert "No notice is needed" in html
    assert "Equal Credit Opportunity Act prohibits" not in html


def test_an_override_to_decline_puts_the_officers_written_reasons_on_the_notice(
    officer_client, loan_officer, model_version
):
    application = LoanApplicationFactory(submitted_by=loan_officer, reference="app-overridden")
    DecisionFactory(application=application, model_version=model_version, outcome="approve")
    officer_client.post(
        reverse("lending:application_override", args=[application.pk]),
        {"outcome": "decline", "justification": "Income could not be verified."},
    )

    html = officer_client.get(reverse("lending:adverse_action_notice", args=[application.pk])).content.decode()

    assert "Your application has been declined." in html
    assert re.search(r'id="notice-reasons">\s*<li>Income could not be verified.</li>', html)


def test_the_list_searches_by_reference_and_name_and_filters_by_final_outcome(
    officer_client, loan_officer, model_version
):
    declined = LoanApplicationFactory(
        submitted_by=loan_officer, reference="app-aaa-1", applicant__full_name="Carl Decline"
    )
    approved = LoanApplicationFactory(
        submitted_by=loan_officer, reference="app-bbb-2", applicant__full_name="Alma Approve"
    )
    overridden = LoanApplicationFactory(
        submitted_by=loan_officer, reference="app-ccc-3", applicant__full_name="Otto Override"
    )
    pending = LoanApplicationFactory(
        submitted_by=loan_officer, reference="app-ddd-4", applicant__full_name="Pia Pending"
    )
    DecisionFactory(application=declined, model_version=model_version, outcome="decline")
    DecisionFactory(application=approved, model_version=model_version, outcome="approve")
    decision = DecisionFactory(application=overridden, model_version=model_version, outcome="decline")
    Override.objects.create(
        decision=decision,
        overridden_by=loan_officer,
        justification="x",
        outcome_before="decline",
        outcome_after="approve",
    )

    def references(**query):
        page = officer_client.get(reverse("lending:application_list"), query).context["page"]
        return sorted(application.reference for application in page)

    assert references(q="alma") == ["app-bbb-2"]
    assert references(q="ccc") == ["app-ccc-3"]
    assert references(outcome="approve") == ["app-bbb-2", "app-ccc-3"]  # the override's outcome counts
    assert references(outcome="decline") == ["app-aaa-1"]
    assert references(outcome="pending") == [pending.reference]
    assert references(status="submitted") == [pending.reference]


def test_the_list_filters_by_submission_date_and_pages_by_25(officer_client, loan_officer):
    old = timezone.now() - dt.timedelta(days=40)
    for number in range(26):
        LoanApplicationFactory(submitted_by=loan_officer, reference=f"app-{number:03d}")
    LoanApplicationFactory(submitted_by=loan_officer, reference="app-old", submitted_at=old)

    first = officer_client.get(reverse("lending:application_list")).context["page"]
    second = officer_client.get(reverse("lending:application_list"), {"page": 2}).context["page"]
    dated = officer_client.get(
        reverse("lending:application_list"), {"submitted_to": (old + dt.timedelta(days=1)).date().isoformat()}
    ).context["page"]

    assert (len(first), len(second), first.paginator.count) == (25, 2, 27)
    assert [a.reference for a in dated] == ["app-old"]


def test_the_dashboard_counts_the_officers_week_and_approval_rate(
    officer_client, loan_officer, model_manager, model_version
):
    now = timezone.now()
    last_month = now - dt.timedelta(days=30)
    outcomes = ["approve", "approve", "decline", "refer"]
    for number, outcome in enumerate(outcomes):
        DecisionFactory(
            application=LoanApplicationFactory(submitted_by=loan_officer, reference=f"app-week-{number}"),
            model_version=model_version,
            outcome=outcome,
        )
    DecisionFactory(
        application=LoanApplicationFactory(submitted_by=loan_officer, reference="app-old", submitted_at=last_month),
        model_version=model_version,
        outcome="approve",
        decided_at=last_month,
    )
    LoanApplicationFactory(submitted_by=loan_officer, reference="app-waiting")
    LoanApplicationFactory(submitted_by=model_manager, reference="app-someone-else")

    summary = officer_client.get(reverse("lending:dashboard")).context["summary"]

    assert summary.submitted_this_week == 5  # four decided and one waiting; last month's and a colleague's excluded
    assert (summary.decided_this_week, summary.approved_this_week) == (4, 2)
    assert summary.approval_rate_this_week == pytest.approx(outcomes.count("approve") / len(outcomes))
    assert (summary.awaiting_decision, summary.referred) == (1, 1)
    assert sorted(a.reference for a in summary.queue) == ["app-waiting", "app-week-3"]


def test_other_officers_applications_stay_searchable_but_mine_filters_them(officer_client, loan_officer, model_manager):
    LoanApplicationFactory(submitted_by=loan_officer, reference="app-mine")
    LoanApplicationFactory(submitted_by=model_manager, reference="app-theirs")

    everyone = officer_client.get(reverse("lending:application_list")).context["page"]
    mine = officer_client.get(reverse("lending:application_list"), {"mine": "on"}).context["page"]

    assert {a.reference for a in everyone} == {"app-mine", "app-theirs"}
    assert [a.reference for a in mine] == ["app-mine"]
    assert LoanApplication.objects.count() == 2


def test_an_officer_funds_an_approved_application_and_the_page_shows_the_loan(
    officer_client, loan_officer, model_version
):
    application = LoanApplicationFactory(submitted_by=loan_officer, reference="app-to-fund")
    DecisionFactory(application=application, model_version=model_version, outcome="approve")
    url = reverse("lending:application_detail", args=[application.pk])
    assert 'id="fund-form"' in officer_client.get(url).content.decode()

    response = officer_client.post(
        reverse("lending:application_fund", args=[application.pk]), {"principal": "2500", "funded_on": "2026-01-05"}
    )

    loan = Loan.objects.get(application=application)
    assert response["Location"] == reverse("lending:loan_detail", args=[loan.pk])
    assert (loan.principal, loan.funded_on) == (Decimal("2500"), dt.date(2026, 1, 5))
    assert AuditEvent.objects.get(action="loan.funded").actor == loan_officer
    page = officer_client.get(url).content.decode()
    assert 'id="loan"' in page
    assert reverse("lending:loan_detail", args=[loan.pk]) in page
    assert 'id="fund-form"' not in page


def test_funding_names_a_bad_principal_and_a_declined_application_offers_no_funding(
    officer_client, decided_application
):
    url = reverse("lending:application_fund", args=[decided_application.pk])
    html = officer_client.get(reverse("lending:application_detail", args=[decided_application.pk])).content.decode()
    negative = officer_client.post(url, {"principal": "-5", "funded_on": "2026-01-05"})
    declined = officer_client.post(url, {"principal": "2500", "funded_on": "2026-01-05"})

    assert 'id="fund-form"' not in html
    assert negative.status_code == 400
    assert "principal" in negative.context["fund_form"].errors
    assert declined.status_code == 400
    assert declined.context["fund_form"].non_field_errors() == ["application: outcome is decline"]
    assert not Loan.objects.exists()
