"""The outcomes import page: a good file is recorded; a bad one lists every bad row and column and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lending.models import Loan, RepaymentOutcome
from tests.factories import LoanApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan() -> Loan:
    return Loan.objects.create(
        application=LoanApplicationFactory(status="funded"),
        principal=1000,
        term_months=12,
        funded_on=dt.date(2026, 1, 15),
    )


def _upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("servicing.csv", ("loan_id,status,days_past_due,as_of\n" + text).encode(), "text/csv")


def test_an_officer_records_a_servicing_file_from_the_page(officer_client, loan):
    response = officer_client.post(
        reverse("lending:outcomes_import"),
        {"outcomes_file": _upload(f"{loan.pk},current,0,2026-02-15\n{loan.pk},defaulted,91,2026-05-15\n")},
        follow=True,
    )

    assert response.status_code == 200
    assert "2 outcomes recorded" in response.content.decode()
    assert RepaymentOutcome.objects.filter(loan=loan).count() == 2


def test_a_bad_file_names_every_bad_row_and_column_and_records_nothing(officer_client, loan):
    response = officer_client.post(
        reverse("lending:outcomes_import"),
        {"outcomes_file": _upload(f"{loan.pk},current,0,2026-02-15\n999999,late,x,2026-13-01\n")},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors["outcomes_file"]
    assert any(error.startswith("row 2, loan_id") for error in errors)
    assert any(error.startswith("row 2, status") for error in errors)
    assert any(error.startswith("row 2, days_past_due") for error in errors)
    assert any(error.startswith("row 2, as_of") for error in errors)
    assert RepaymentOutcome.objects.count() == 0
