"""Model artifacts and stored dataset schemas checked against their recorded SHA-256 and their audit events.

Scoring refuses an artifact whose bytes differ from the registry's hash, but nobody is told until a decision
fails; and a stored schema (a data set's record, a snapshot's copy) is read through a cache keyed by its hash,
so a schema edited in the database would be believed. These checks name both, and a registry hash replaced
to match altered bytes (the `model.trained` or `dataset.schema_recorded` event still records the original).
Registered in AUDIT_INTEGRITY_CHECKS, so `verify_audit_log`, the portal's verification and the daily task run
them; the version page calls `model_artifact_problem` for its own warning.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.files.storage import storages

from analytics.models import DatasetSchemaRecord, DataSnapshot, ModelVersion
from finai.models import AuditEvent
from finai.services import IntegrityFinding

READ_CHUNK = 1024 * 1024


def _short(digest: str) -> str:
    return f"{digest[:12]}…"


def _file_sha256(path: str) -> str | None:
    """The SHA-256 of an artifact in storage, read in chunks; None when it is not there."""
    storage = storages["artifacts"]
    if not storage.exists(path):
        return None
    digest = hashlib.sha256()
    with storage.open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_artifact_problem(version: ModelVersion) -> str:
    """Why the version's artifact cannot be trusted (missing, or its bytes no longer match the registry's
    SHA-256), or "" when it matches or the version has no artifact."""
    if not version.artifact_path:
        return ""
    actual = _file_sha256(version.artifact_path)
    if actual is None:
        return f"its artifact {version.artifact_path} is missing"
    if actual != version.artifact_sha256:
        return (
            f"its artifact's bytes have SHA-256 {_short(actual)}, but the registry records "
            f"{_short(version.artifact_sha256)}: the file was altered after training, and it will not be loaded"
        )
    return ""


def _latest_payloads(action: str, object_type: str) -> dict[str, tuple[int, dict[str, Any]]]:
    """The newest event of `action` for each object id: (sequence, payload)."""
    events = AuditEvent.objects.filter(action=action, object_type=object_type).order_by("sequence")
    return {
        object_id: (sequence, payload)
        for sequence, object_id, payload in events.values_list("sequence", "object_id", "payload").iterator()
        if isinstance(payload, dict)
    }


def model_artifact_records_check() -> list[IntegrityFinding]:
    """Every stored model artifact against the registry's SHA-256, and that hash against `model.trained`."""
    findings = []
    trained = _latest_payloads("model.trained", "model_version")
    versions = ModelVersion.objects.exclude(artifact_path="").order_by("pk")
    for version in versions.only("pk", "artifact_path", "artifact_sha256").iterator():
        if problem := model_artifact_problem(version):
            findings.append(_artifact_finding(version.pk, problem))
        sequence, payload = trained.get(str(version.pk), (None, {}))
        recorded = payload.get("artifact_sha256")
        if recorded and recorded != version.artifact_sha256:
            findings.append(
                _artifact_finding(
                    version.pk,
                    f"the registry's artifact SHA-256 {_short(version.artifact_sha256)} differs from model.trained "
                    f"event #{sequence} ({_short(recorded)}): the recorded hash was replaced",
                )
            )
    return findings


def _schema_sha256(source: Any) -> str:
    """As `DatasetSchema.sha256` computes it, over the stored JSON, without parsing (a forged schema may not)."""
    return hashlib.sha256(json.dumps(source, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def snapshot_schema_problem(snapshot: DataSnapshot) -> str:
    """Why the schema stored with a snapshot cannot be trusted, or "" when it matches its SHA-256 (or the snapshot
    predates stored schemas)."""
    if snapshot.schema_sha256 and _schema_sha256(snapshot.schema) != snapshot.schema_sha256:
        return _altered(snapshot.schema_sha256)
    return ""


def dataset_schema_records_check() -> list[IntegrityFinding]:
    """Each stored schema (a data set's record, each snapshot's copy) against its SHA-256, and that hash against
    the event that recorded it (`dataset.schema_recorded`, `snapshot.created`)."""
    findings = []
    recorded = _latest_payloads("dataset.schema_recorded", "dataset")
    for record in DatasetSchemaRecord.objects.order_by("name").iterator():
        if _schema_sha256(record.schema) != record.schema_sha256:
            findings.append(_schema_finding(record.name, _altered(record.schema_sha256)))
        sequence, payload = recorded.get(record.name, (None, {}))
        original = payload.get("sha256")
        if original and original != record.schema_sha256:
            findings.append(_schema_finding(record.name, _replaced(record.schema_sha256, sequence, original)))
    created = _latest_payloads("snapshot.created", "data_snapshot")
    snapshots = DataSnapshot.objects.exclude(schema_sha256="").order_by("pk")
    for snapshot in snapshots.only("pk", "dataset", "schema", "schema_sha256").iterator():
        where = f"{snapshot.dataset} (snapshot {snapshot.pk})"
        if problem := snapshot_schema_problem(snapshot):
            findings.append(_schema_finding(where, problem))
        sequence, payload = created.get(str(snapshot.pk), (None, {}))
        original = payload.get("schema_sha256")
        if original and original != snapshot.schema_sha256:
            findings.append(_schema_finding(where, _replaced(snapshot.schema_sha256, sequence, original)))
    return findings


def _altered(sha256: str) -> str:
    return f"the stored schema no longer matches its SHA-256 {_short(sha256)}: it was altered after it was recorded"


def _replaced(sha256: str, sequence: int | None, original: str) -> str:
    return f"its SHA-256 {_short(sha256)} differs from the one event #{sequence} recorded ({_short(original)})"


def _artifact_finding(version_id: int, problem: str) -> IntegrityFinding:
    return IntegrityFinding(check="artifacts", object_type="model version", object_id=str(version_id), problem=problem)


def _schema_finding(name: str, problem: str) -> IntegrityFinding:
    return IntegrityFinding(check="schemas", object_type="dataset schema", object_id=name, problem=problem)
