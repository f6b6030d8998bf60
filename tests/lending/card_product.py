"""A product that is not German credit: a small credit-card book with no term and no purpose.

Open-ended credit (a card) has no term, the book records no purpose, one characteristic may be left
out (`months_at_address`, missing in some rows), and its categories carry readable labels. The
`card_champion` fixture imports 300 rows, trains a scorecard inline and promotes it through the
four-eyes workflow, so the API and the form can be tested against a product they were not written for.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CARD_PRODUCT = "credit_card"
CARD_ROWS = 300
CARD_SCHEMA: dict[str, Any] = {
    "name": "card_book",
    "description": "A credit-card book written for the tests.",
    "kind": "outcomes",
    "product": CARD_PRODUCT,
    "positive_label": "1",
    "negative_label": "0",
    "policy": {"version": "cards-test.1", "approve_below": 0.2, "decline_from": 0.45},
    "columns": {
        "account": {"role": "id"},
        "credit_limit": {
            "role": "feature",
            "type": "numeric",
            "maps_to": "amount",
            "min": 500,
            "max": 50000,
            "label": "Credit limit",
        },
        "utilisation": {
            "role": "feature",
            "type": "numeric",
            "monotone": "increasing",
            "min": 0,
            "max": 1.5,
            "label": "Share of the limit in use",
            "help": "The balance over the limit at the last statement.",
        },
        "late_payments": {
            "role": "feature",
            "type": "numeric",
            "monotone": "increasing",
            "min": 0,
            "max": 12,
            "label": "Late payments in the past year",
        },
        "employment": {
            "role": "feature",
            "type": "categorical",
            "label": "Employment",
            "help": "The applicant's main source of income.",
            "value_labels": {"none": "Not employed", "salaried": "Salaried employee"},
        },
        "months_at_address": {
            "role": "feature",
            "type": "numeric",
            "min": 0,
            "max": 600,
            "required": False,
            "missing": [""],
            "label": "Months at the current address",
        },
        "age": {"role": "protected", "type": "numeric", "maps_to": "age_years", "bands": [30, 50]},
        "defaulted": {"role": "target", "type": "categorical"},
    },
}
# An application the card champion accepts (the amount is the credit limit asked for).
CARD_APPLICATION: dict[str, Any] = {
    "product": CARD_PRODUCT,
    "applicant": {"reference": "card-customer-7", "full_name": "Robin Card", "email": "robin@example.com"},
    "loan": {"amount": "3000.00"},
    "features": {"utilisation": 0.3, "late_payments": 1, "employment": "salaried", "months_at_address": 40},
}


def card_rows(rng: np.random.Generator) -> list[dict[str, object]]:
    """Rows whose default follows utilisation, late payments and employment; every fifth address is unknown."""
    utilisation = rng.uniform(0, 1.5, CARD_ROWS).round(3)
    late = rng.poisson(1.2, CARD_ROWS).clip(0, 12)
    employment = rng.choice(["salaried", "self-employed", "none"], CARD_ROWS, p=[0.6, 0.25, 0.15])
    logit = -2.5 + 2.0 * utilisation + 0.6 * late + np.where(employment == "none", 1.2, 0.0)
    defaulted = rng.random(CARD_ROWS) < 1 / (1 + np.exp(-logit))
    return [
        {
            "account": f"C{index:05d}",
            "credit_limit": int(rng.integers(5, 500)) * 100,
            "utilisation": utilisation[index],
            "late_payments": int(late[index]),
            "employment": employment[index],
            "months_at_address": "" if index % 5 == 0 else int(rng.integers(0, 240)),
            "age": int(rng.integers(21, 75)),
            "defaulted": int(defaulted[index]),
        }
        for index in range(CARD_ROWS)
    ]


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def champion_of(*, schema: dict[str, Any], rows: list[dict[str, object]], tmp_path: Path, settings, trainer, approver):
    """The book imported through `schema`, a scorecard trained on it inline and promoted by two managers."""
    from analytics.engine.dataset_schema import schema_from_dict
    from analytics.services.registry import promotion_approve, promotion_request
    from analytics.services.training_jobs import TrainingInProgressError, model_version_train
    from lending.services.datasets import dataset_import
    from lending.services.training import model_training_start

    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {**settings.STORAGES["artifacts"], "OPTIONS": {"location": str(tmp_path / "artifacts")}},
    }
    data = _write_csv(tmp_path / f"{schema['name']}.csv", rows)
    dataset_import(schema=schema_from_dict(schema), file=data, schema_origin="tests")
    version = model_training_start(dataset=schema["name"], family="scorecard", requested_by=trainer, seed=0)
    try:
        version = model_version_train(version_id=version.pk)
    except TrainingInProgressError:  # a running test worker took the queued task first: let it finish
        deadline = time.monotonic() + 120
        while version.status == "training" and time.monotonic() < deadline:
            time.sleep(0.2)
            version.refresh_from_db()
    request = promotion_request(version=version, requested_by=trainer, exception_justification="card tests")
    return promotion_approve(request=request, approved_by=approver, accept_exception=True)


@pytest.fixture
def card_champion(db, tmp_path, settings, model_manager, second_model_manager) -> Any:
    """The card book imported, a scorecard trained on it inline and promoted to the card product's champion."""
    return champion_of(
        schema=CARD_SCHEMA,
        rows=card_rows(np.random.default_rng(14)),
        tmp_path=tmp_path,
        settings=settings,
        trainer=model_manager,
        approver=second_model_manager,
    )


# Instalment plans on the card: a fixed term the model reads, usually 24 months (the schema's default term).
INSTALMENT_PRODUCT = "card_instalments"
INSTALMENT_DEFAULT_TERM = 24
INSTALMENT_SCHEMA: dict[str, Any] = {
    **CARD_SCHEMA,
    "name": "card_instalment_book",
    "product": INSTALMENT_PRODUCT,
    "default_term_months": INSTALMENT_DEFAULT_TERM,
    "columns": {
        **CARD_SCHEMA["columns"],
        "term": {
            "role": "feature",
            "type": "numeric",
            "maps_to": "term_months",
            "min": 6,
            "max": 60,
            "label": "Instalment term (months)",
        },
    },
}


@pytest.fixture
def instalment_champion(db, tmp_path, settings, model_manager, second_model_manager) -> Any:
    """A fixed-term product whose schema gives a usual term: the champion reads the term, the form may omit it."""
    rng = np.random.default_rng(15)
    rows = [{**row, "term": int(rng.choice([12, 24, 36]))} for row in card_rows(rng)]
    return champion_of(
        schema=INSTALMENT_SCHEMA,
        rows=rows,
        tmp_path=tmp_path,
        settings=settings,
        trainer=model_manager,
        approver=second_model_manager,
    )
