"""Training snapshots exported from the record: features, repayment outcome, protected attributes apart."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.db.models import Max, Min, Q, QuerySet

from analytics.engine.dataset_schema import DatasetSchema
from analytics.models import DataSnapshot
from analytics.services.data_snapshots import PROTECTED_PREFIX, TARGET_COLUMN, data_snapshot_store
from finai.errors import ApplicationError
from finai.protected_attributes import GROUP_ATTRIBUTES
from lending.models import LoanApplication, RepaymentOutcome
from lending.services.segments import SEGMENT_FEATURE, application_segments


def _labelled_applications(schema: DatasetSchema) -> QuerySet[LoanApplication]:
    """Funded applications of the data set whose loans have a final outcome (paid or defaulted)."""
    finished = Q(loan__outcomes__status=RepaymentOutcome.Status.DEFAULTED) | Q(
        loan__outcomes__status=RepaymentOutcome.Status.PAID
    )
    return LoanApplication.objects.filter(applicant__source=schema.name, loan__isnull=False).filter(finished).distinct()


def training_snapshot_export(
    *, schema: DatasetSchema, created_by: Any = None, alternative_data: dict[str, dict[str, Any]] | None = None
) -> DataSnapshot:
    """Freeze the labelled applications of a data set into a hashed snapshot for training.

    A loan that ever defaulted is labelled 1; a paid loan 0; loans still running are left out because
    their outcome is not known yet. Protected attributes travel in `protected:*` columns for fairness
    evaluation only (the record's fields and the schema's own protected columns, such as education); the
    feature pipeline refuses them. The schema is stored with the snapshot. `alternative_data` ({feature: source}) adds
    each opt-in feature as a column, computed from the record as of each application.
    """
    dataset = schema.name
    if schema.kind != "outcomes":
        raise ApplicationError(
            f"The data set {dataset!r} records lender decisions, not repayment; it cannot train a default model.",
            details={"dataset": "needs a schema of kind 'outcomes'"},
        )
    applications = _labelled_applications(schema)
    defaulted = set(
        RepaymentOutcome.objects.filter(
            loan__application__in=applications, status=RepaymentOutcome.Status.DEFAULTED
        ).values_list("loan__application_id", flat=True)
    )
    rows = applications.order_by("pk").values_list(
        "pk",
        "features",
        "applicant__protected_attributes__other",
        *(f"applicant__protected_attributes__{name}" for name in GROUP_ATTRIBUTES),
    )
    feature_names = [spec.name for spec in schema.features]
    own = schema.own_attributes
    records = []
    for pk, features, other, *protected in rows.iterator(chunk_size=5000):
        record = {"application_id": pk, **{name: features.get(name) for name in feature_names}}
        record[TARGET_COLUMN] = int(pk in defaulted)
        record.update({PROTECTED_PREFIX + name: value for name, value in zip(GROUP_ATTRIBUTES, protected, strict=True)})
        record.update({PROTECTED_PREFIX + name: (other or {}).get(name) for name in own})
        records.append(record)
    if not records:
        raise ApplicationError(
            f"The data set {dataset!r} has no funded applications with a known repayment outcome.",
            details={"dataset": "load it first, e.g. python manage.py load_german_credit"},
        )
    frame = pd.DataFrame.from_records(records)
    if alternative_data and SEGMENT_FEATURE in alternative_data:
        segments = application_segments(
            application_ids=frame["application_id"].tolist(), source=alternative_data[SEGMENT_FEATURE]
        )
        frame[SEGMENT_FEATURE] = frame["application_id"].map(segments)
    empty_protected = [c for c in frame.columns if c.startswith(PROTECTED_PREFIX) and frame[c].fillna("").eq("").all()]
    frame = frame.drop(columns=empty_protected)
    period = applications.aggregate(start=Min("submitted_at"), end=Max("submitted_at"))
    return data_snapshot_store(
        schema=schema, frame=frame, period=(period["start"], period["end"]), created_by=created_by
    )
