"""Data snapshots: the frozen, hashed training data a model version is tied to."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import pandas as pd

from analytics.engine.dataset_schema import DatasetSchema
from analytics.models import DataSnapshot
from finai.artifacts import artifact_load, artifact_store
from finai.services import audit_event_record

PROTECTED_PREFIX = "protected:"
TARGET_COLUMN = "target"


def snapshot_bytes(frame: pd.DataFrame) -> bytes:
    """Canonical CSV bytes of a snapshot frame, so equal data always hashes equally."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def data_snapshot_store(
    *,
    schema: DatasetSchema,
    frame: pd.DataFrame,
    period: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
    created_by: Any = None,
) -> DataSnapshot:
    """Store a snapshot frame (features, `target`, `protected:*` columns) once per distinct content."""
    content = snapshot_bytes(frame)

    digest = hashlib.sha256(content).hexdigest()
    same_rows = DataSnapshot.objects.filter(dataset=schema.name, content_hash=digest)
    existing = same_rows.filter(schema_sha256=schema.sha256).first()
    if existing is not None:
        return existing
    # The same rows under a changed schema (new labels, cut-offs or domains) make a new snapshot, the schema's
    # hash in its file name, so each version's lineage names its exact schema.
    digest_name = f"{digest[:16]}-{schema.sha256[:8]}" if same_rows.exists() else digest[:16]
    path, digest = artifact_store(name=f"snapshots/{schema.name}-{digest_name}.csv", content=content)
    snapshot = DataSnapshot.objects.create(
        dataset=schema.name,
        content_hash=digest,
        row_count=len(frame),
        schema=schema.as_dict(),
        schema_sha256=schema.sha256,
        period_start=period[0],
        period_end=period[1],
        storage_path=path,
        created_by=created_by,
    )
    audit_event_record(
        action="snapshot.created",
        actor=created_by,
        object_type="data_snapshot",
        object_id=snapshot.pk,
        payload={"dataset": schema.name, "sha256": digest, "rows": len(frame), "schema_sha256": schema.sha256},
    )
    return snapshot


def data_snapshot_frame(*, snapshot: DataSnapshot) -> pd.DataFrame:
    """Load a snapshot's rows, refusing a file whose hash no longer matches."""
    content = artifact_load(path=snapshot.storage_path, sha256=snapshot.content_hash)
    return pd.read_csv(io.BytesIO(content), keep_default_na=True)
