"""The new-application form: every invalid field named, nothing half-stored, extras stored apart."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from finai.models import AuditEvent
from lending.models import Applicant, BankAccount, LoanApplication, ProtectedAttributes, Transaction

pytestmark = pytest.mark.django_db

VALID = {
    "full_name": "Vera Valid",
    "email": "vera@example.com",
    "reference": "",
    "amount": "2500",
    "term_months": "24",
    "purpose": "car (new)",
    "status_of_existing_checking_account": "no checking account",
    "credit_history": "existing credits paid back duly till now",
    "savings_account_and_bonds": "... < 100 DM",
    "present_employment_since": "1 <= ... < 4 years",
    "installment_rate_in_percentage_of_disposable_income": "3",
    "other_debtors_or_guarantors": "none",
    "present_residence_since": "2",
    "property": "real estate",
    "other_installment_plans": "none",
    "housing": "own",
    "number_of_existing_credits_at_this_bank": "1",
    "job": "skilled employee / official",
    "number_of_people_being_liable_to_provide_maintenance_for": "1",
    "telephone": "none",
}


def post(client, data, files=None):
    return client.post(reverse("lending:application_new"), {**data, **(files or {})})


def test_the_form_offers_the_characteristics_of_the_feature_spec(officer_client):
    response = officer_client.get(reverse("lending:application_new"))

    form = response.context["form"]
    assert form.fields["installment_rate_in_percentage_of_disposable_income"].widget.input_type == "number"
    checking = dict(form.fields["status_of_existing_checking_account"].choices)
    assert "... < 0 DM" in checking
    assert "no checking account" in checking
    # The amount and the term are the loan's own fields, not asked twice as characteristics.
    assert "credit_amount" not in form.fields
    assert "duration_in_month" not in form.fields
    assert "purpose" in form.fields
    assert "education" in dict(form.fields["purpose"].choices)


def test_five_invalid_fields_show_five_field_errors_and_create_nothing(officer_client):
    events_before = AuditEvent.objects.count()
    invalid = {
        **VALID,
        "full_name": "",
        "email": "not-an-email",
        "amount": "-5",
        "term_months": "0",
        "present_residence_since": "two",
    }

    response = post(officer_client, invalid)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"full_name", "email", "amount", "term_months", "present_residence_since"}
    html = response.content.decode()
    assert html.count('class="errorlist"') == 5
    assert "5 fields need attention" in html
    assert not LoanApplication.objects.exists()
    assert not Applicant.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_a_valid_application_is_stored_and_its_decision_queued(
    officer_client, loan_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(officer_client, VALID)

    application = LoanApplication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("lending:application_detail", args=[application.pk])
    assert (application.amount, application.term_months, application.purpose) == (2500, 24, "car (new)")
    assert application.features["installment_rate_in_percentage_of_disposable_income"] == 3
    assert application.features["purpose"] == "car (new)"
    assert "credit_amount" not in application.features
    assert application.submitted_by == loan_officer
    assert application.applicant.full_name == "Vera Valid"
    assert len(callbacks) == 1  # the decision task, queued once the application is committed


def test_monitoring_answers_are_stored_apart_with_the_age_band(officer_client):
    post(officer_client, {**VALID, "sex": "female", "age_years": "23", "marital_status": "single"})

    application = LoanApplication.objects.get()
    protected = ProtectedAttributes.objects.get(applicant=application.applicant)
    assert (protected.sex, protected.age_years, protected.age_band, protected.marital_status) == (
        "female",
        23,
        "<25",
        "single",
    )
    assert not {"sex", "age_years", "age_band", "marital_status"} & set(application.features)


def test_bank_transactions_are_stored_for_the_applicant(officer_client):
    statement = SimpleUploadedFile(
        "statement.csv", b"date,amount,description\n2026-01-02,1500.00,salary\n2026-01-04,-420.10,rent\n"
    )

    post(officer_client, VALID, {"transactions": statement})

    application = LoanApplication.objects.get()
    account = BankAccount.objects.get(applicant=application.applicant)
    amounts = sorted(account.transactions.values_list("amount", "kind", "operation"))
    assert [(str(a), k, o) for a, k, o in amounts] == [("-420.10", "debit", "rent"), ("1500.00", "credit", "salary")]
    assert AuditEvent.objects.filter(action="bank_statement.imported", object_id=str(account.pk)).exists()


def test_a_statement_with_bad_rows_names_each_and_stores_nothing(officer_client):
    statement = SimpleUploadedFile("statement.csv", b"date,amount\n2026-01-02,1500.00\n2026-13-01,10\n2026-01-05,ten\n")

    response = post(officer_client, VALID, {"transactions": statement})

    assert response.status_code == 400
    problems = " ".join(response.context["form"].errors["transactions"])
    assert "row 3, date" in problems
    assert "row 4, amount" in problems
    assert not LoanApplication.objects.exists()
    assert not Transaction.objects.exists()


def test_a_statement_without_the_required_columns_is_refused(officer_client):
    statement = SimpleUploadedFile("statement.csv", b"when,value\n2026-01-02,1\n")

    response = post(officer_client, VALID, {"transactions": statement})

    assert "missing date, amount" in " ".join(response.context["form"].errors["transactions"])
    assert not LoanApplication.objects.exists()


def test_impossible_values_are_refused_on_their_fields_naming_value_and_range(officer_client):
    impossible = {
        **VALID,
        "amount": "999999999999",
        "term_months": "600",
        "installment_rate_in_percentage_of_disposable_income": "99",
        "present_residence_since": "-3",
        "number_of_existing_credits_at_this_bank": "1000000000",
        "number_of_people_being_liable_to_provide_maintenance_for": "-7",
    }

    response = post(officer_client, impossible)

    errors = response.context["form"].errors
    assert response.status_code == 400
    assert errors["amount"] == ["999,999,999,999 is outside the allowed range 1 to 20,000"]
    assert errors["installment_rate_in_percentage_of_disposable_income"] == ["99 is outside the allowed range 1 to 4"]
    assert errors["present_residence_since"] == ["-3 is outside the allowed range 1 to 4"]
    assert errors["number_of_existing_credits_at_this_bank"] == ["1,000,000,000 is outside the allowed range 1 to 4"]
    assert errors["number_of_people_being_liable_to_provide_maintenance_for"] == [
        "-7 is outside the allowed range 1 to 2"
    ]
    assert "600 is outside the allowed range 1 to 72" in errors["term_months"]
    assert not LoanApplication.objects.exists()


def test_numeric_characteristics_carry_their_range_as_help_and_input_bounds(officer_client):
    form = officer_client.get(reverse("lending:application_new")).context["form"]

    rate = form.fields["installment_rate_in_percentage_of_disposable_income"]
    assert rate.label == "Instalment rate (band 1-4)"
    assert rate.help_text == (
        "The instalment as a share of disposable income, in Statlog's bands: 1 is under 20%, 4 is 35% or more. "
        "From 1 to 4."
    )
    assert (rate.widget.attrs["min"], rate.widget.attrs["max"]) == ("1", "4")
    assert form.fields["term_months"].widget.attrs["max"] == "72"
