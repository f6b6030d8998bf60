"""Helpers shared by the partner API tests."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.test import Client

# The demo's data set (German credit), chosen explicitly: the body the API tests (and docs/api.md's
# walk-through) send for the default product when its champion learnt from German credit.
GERMAN_CREDIT_APPLICATION: dict[str, Any] = {
    "applicant": {"reference": "customer-1042", "full_name": "Alex Example", "email": "alex@example.com"},
    "loan": {"amount": "2500.00", "term_months": 24, "purpose": "car (used)"},
    "features": {
        "status_of_existing_checking_account": "0 <= ... < 200 DM",
        "credit_history": "existing credits paid back duly till now",
        "savings_account_and_bonds": "... < 100 DM",
        "present_employment_since": "1 <= ... < 4 years",
        "installment_rate_in_percentage_of_disposable_income": 3,
        "other_debtors_or_guarantors": "none",
        "present_residence_since": 2,
        "property": "real estate",
        "other_installment_plans": "none",
        "housing": "own",
        "number_of_existing_credits_at_this_bank": 1,
        "job": "skilled employee / official",
        "number_of_people_being_liable_to_provide_maintenance_for": 1,
        "telephone": "none",
    },
}


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def application_body(**changes: Any) -> dict[str, Any]:
    """A German credit application (the demo's data set), with top-level parts replaced."""
    body = copy.deepcopy(GERMAN_CREDIT_APPLICATION)
    body.update(changes)
    return body


def submit(
    client: Client, key: str, body: Any, *, idempotency_key: str | None = None, mode: str = "sync", **extra: Any
) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key or uuid.uuid4().hex, **bearer(key), **extra}
    return client.post(f"/api/v1/applications/?mode={mode}", body, content_type="application/json", **headers)
