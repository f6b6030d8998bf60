"""The new-application form follows the product's schema: its labels and help, no term for open-ended credit,
no purpose where the schema has none, and optional characteristics left out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from lending.models import LoanApplication
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db

CARD_FORM_URL = reverse("lending:application_new") + "?product=credit_card"
CARD_VALID = {
    "full_name": "Robin Card",
    "email": "robin@example.com",
    "reference": "",
    "amount": "3000",
    "utilisation": "0.3",
    "late_payments": "1",
    "employment": "salaried",
    "months_at_address": "40",
}


def test_a_dropdown_shows_the_schemas_readable_words_and_posts_the_value(officer_client):
    form = officer_client.get(reverse("lending:application_new")).context["form"]

    spec = next(spec for spec in form.feature_specs if spec["name"] == "status_of_existing_checking_account")
    checking = dict(form.fields["status_of_existing_checking_account"].choices)
    assert checking["... < 0 DM"] == "Overdrawn (below 0 DM)"
    assert list(checking) == ["", *spec["choices"]]  # the values posted are the ones the model learnt


def test_the_card_form_asks_for_no_term_and_no_purpose(officer_client, card_champion):
    response = officer_client.get(CARD_FORM_URL)

    assert response.status_code == 200
    form = response.context["form"]
    assert "term_months" not in form.fields
    assert "purpose" not in form.fields
    assert [field.name for field in form.loan_fields()] == ["amount"]
    html = response.content.decode()
    assert 'name="term_months"' not in html
    assert 'name="purpose"' not in html


def test_the_card_form_takes_its_labels_help_and_choice_words_from_the_schema(officer_client, card_champion):
    form = officer_client.get(CARD_FORM_URL).context["form"]

    employment = form.fields["employment"]
    assert employment.label == "Employment"
    assert employment.help_text == "The applicant's main source of income."
    assert dict(employment.choices)["none"] == "Not employed"
    assert dict(employment.choices)["self-employed"] == "self-employed"
    assert form.fields["utilisation"].label == "Share of the limit in use"
    assert form.fields["utilisation"].help_text == "The balance over the limit at the last statement. From 0 to 1.5."
    assert form.fields["months_at_address"].required is False
    assert form.fields["late_payments"].required is True


def test_a_card_application_is_stored_open_ended_and_an_optional_characteristic_may_be_left_empty(
    officer_client, card_champion
):
    response = officer_client.post(CARD_FORM_URL, {**CARD_VALID, "months_at_address": ""})

    assert response.status_code == 302, response.context["form"].errors
    application = LoanApplication.objects.get(channel=LoanApplication.Channel.PORTAL)
    assert (application.product, application.term_months, application.purpose) == ("credit_card", None, "")
    assert application.features["months_at_address"] is None
    assert application.features["employment"] == "salaried"


def test_an_open_ended_application_says_so_where_a_term_would_be_shown(officer_client, card_champion):
    officer_client.post(CARD_FORM_URL, CARD_VALID)
    application = LoanApplication.objects.get(channel=LoanApplication.Channel.PORTAL)

    detail = officer_client.get(reverse("lending:application_detail", args=[application.pk])).content.decode()
    listing = officer_client.get(reverse("lending:application_list")).content.decode()

    assert "open-ended" in detail
    assert "None months" not in detail
    assert "open-ended" in listing
    assert "None mo" not in listing


def test_a_required_card_characteristic_left_empty_is_named_and_nothing_stored(officer_client, card_champion):
    response = officer_client.post(CARD_FORM_URL, {**CARD_VALID, "late_payments": ""})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"late_payments"}
    assert not LoanApplication.objects.filter(channel=LoanApplication.Channel.PORTAL).exists()


def test_the_form_is_for_the_default_product_setting(officer_client, card_champion, settings):
    settings.DEFAULT_PRODUCT = "credit_card"

    form = officer_client.get(reverse("lending:application_new")).context["form"]

    assert form.product == "credit_card"
    assert "utilisation" in form.fields


@pytest.mark.parametrize("product", ["boat_loan", "Not a name", "x\x00"])
def test_the_form_of_a_product_finai_does_not_decide_is_not_found(officer_client, product):
    response = officer_client.get(reverse("lending:application_new"), {"product": product})

    assert response.status_code == 404


def test_the_notice_of_an_open_ended_application_names_no_term(officer_client, loan_officer, model_version):
    application = LoanApplicationFactory(
        submitted_by=loan_officer, product="credit_card", term_months=None, purpose="", amount=Decimal("3000")
    )
    DecisionFactory(application=application, model_version=model_version, outcome="decline")

    html = officer_client.get(reverse("lending:adverse_action_notice", args=[application.pk])).content.decode()

    assert "Your application has been declined." in html
    assert "open-ended credit" in html
    assert "months" not in html.split("Credit requested", 1)[1].split("</tr>", 1)[0]


INSTALMENT_FORM_URL = reverse("lending:application_new") + "?product=card_instalments"


def test_a_fixed_term_product_with_a_usual_term_lets_the_officer_leave_the_term_empty(
    officer_client, instalment_champion
):
    form = officer_client.get(INSTALMENT_FORM_URL).context["form"]

    assert form.fields["term_months"].required is False
    assert "Leave empty for the usual 24 months." in form.fields["term_months"].help_text

    response = officer_client.post(INSTALMENT_FORM_URL, {**CARD_VALID, "reference": "instalment-1"})

    assert response.status_code == 302, response.context["form"].errors
    application = LoanApplication.objects.get(product="card_instalments", channel=LoanApplication.Channel.PORTAL)
    assert application.term_months == 24


def test_a_term_given_for_a_fixed_term_product_is_kept_and_checked_against_its_domain(
    officer_client, instalment_champion
):
    too_long = officer_client.post(INSTALMENT_FORM_URL, {**CARD_VALID, "term_months": "600"})
    response = officer_client.post(INSTALMENT_FORM_URL, {**CARD_VALID, "term_months": "36"})

    assert too_long.status_code == 400
    assert "term_months" in too_long.context["form"].errors
    assert response.status_code == 302
    assert (
        LoanApplication.objects.get(product="card_instalments", channel=LoanApplication.Channel.PORTAL).term_months
        == 36
    )


def test_the_german_credit_form_still_requires_a_term(officer_client):
    form = officer_client.get(reverse("lending:application_new")).context["form"]

    assert form.fields["term_months"].required is True
