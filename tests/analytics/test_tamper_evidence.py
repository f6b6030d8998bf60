"""Model artifacts and stored dataset schemas altered after they were recorded are named by every audit
verification and shown in the portal (issue 20, tamper evidence end to end)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from analytics.models import DatasetSchemaRecord, ModelVersion
from finai.services import audit_trail_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def artifacts(settings, tmp_path: Path) -> Path:
    """This test's own artifact storage, so altering a file touches no other run's."""
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {**settings.STORAGES["artifacts"], "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def version(artifacts, trained_version) -> ModelVersion:
    """A scorecard trained through the services: its artifact, snapshot and schema record each have an event."""
    return trained_version


def _verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def _findings() -> dict[str, str]:
    return {f"{finding.object_type} {finding.object_id}": finding.problem for finding in audit_trail_verify().findings}


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _artifact_file(artifacts: Path, version: ModelVersion) -> Path:
    return artifacts / version.artifact_path


def test_artifacts_and_schemas_stored_through_the_services_agree_with_their_hashes_and_events(version):
    assert DatasetSchemaRecord.objects.filter(name="german_credit").exists()

    assert _findings() == {}
    assert _verify().startswith("Audit chain intact:")


def test_the_version_page_of_an_untouched_version_shows_no_warning(manager_client, version):
    html = manager_client.get(reverse("analytics:version_detail", args=[version.pk])).content.decode()

    assert 'id="tamper-warning"' not in html


def test_verify_audit_log_names_an_artifact_altered_on_disk(artifacts, version):
    path = _artifact_file(artifacts, version)
    path.write_bytes(path.read_bytes() + b"\n")
    altered = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(CommandError) as caught:
        _verify()

    assert (
        f"model version {version.pk}: its artifact's bytes have SHA-256 {altered[:12]}…, but the registry records "
        f"{version.artifact_sha256[:12]}…: the file was altered after training"
    ) in str(caught.value)


def test_the_version_page_shows_a_tampered_artifact_to_a_model_manager(manager_client, artifacts, version):
    path = _artifact_file(artifacts, version)
    path.write_bytes(b"not the trained model")

    response = manager_client.get(reverse("analytics:version_detail", args=[version.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="tamper-warning"' in html
    assert "<strong>Artifact tampered</strong>: its artifact&#x27;s bytes have SHA-256" in html


def test_a_missing_artifact_is_named_on_the_page_and_by_the_verification(manager_client, artifacts, version):
    _artifact_file(artifacts, version).unlink()

    html = manager_client.get(reverse("analytics:version_detail", args=[version.pk])).content.decode()

    assert f"its artifact {version.artifact_path} is missing" in html
    assert _findings() == {f"model version {version.pk}": f"its artifact {version.artifact_path} is missing"}


def test_an_artifact_replaced_with_its_registry_hash_is_named_against_the_training_event(artifacts, version):
    """Whoever can write the file and the database can make the two agree; the sealed event still disagrees."""
    forged = b"a model that approves everyone"
    _artifact_file(artifacts, version).write_bytes(forged)
    ModelVersion.objects.filter(pk=version.pk).update(artifact_sha256=hashlib.sha256(forged).hexdigest())

    [problem] = _findings().values()

    assert problem.startswith("the registry's artifact SHA-256 ")
    assert f"({version.artifact_sha256[:12]}…): the recorded hash was replaced" in problem


def _schema_edit(table: str, where: str, value: object) -> None:
    """What an attacker with database access does: change one column's domain in the stored JSON."""
    _sql(
        f"UPDATE {table} SET schema = jsonb_set(schema, '{{columns,duration_in_month,max}}', %s::jsonb) "  # noqa: S608
        f"WHERE {where}",
        [json.dumps(value)],
    )


def test_a_data_sets_stored_schema_altered_in_the_database_is_named(version):
    _schema_edit("analytics_datasetschemarecord", "name = 'german_credit'", 720)

    findings = _findings()

    assert findings == {
        "dataset schema german_credit": f"the stored schema no longer matches its SHA-256 "
        f"{DatasetSchemaRecord.objects.get().schema_sha256[:12]}…: it was altered after it was recorded"
    }


def test_the_audit_page_shows_an_altered_schema_to_compliance(compliance_client, version):
    _schema_edit("analytics_datasetschemarecord", "name = 'german_credit'", 720)

    response = compliance_client.post(reverse("audit_verify"), follow=True)

    html = response.content.decode()
    assert response.context["verification"]["intact"] is False
    assert "<strong>dataset schema german_credit</strong> the stored schema no longer matches its SHA-256" in html


def test_a_schema_rewritten_with_a_matching_hash_is_named_against_the_event_that_recorded_it(version):
    record = DatasetSchemaRecord.objects.get(name="german_credit")
    original = record.schema_sha256
    forged = {**record.schema, "description": "rewritten"}
    forged_sha256 = hashlib.sha256(json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    DatasetSchemaRecord.objects.filter(pk=record.pk).update(schema=forged, schema_sha256=forged_sha256)

    [problem] = _findings().values()

    assert problem.startswith(f"its SHA-256 {forged_sha256[:12]}… differs from the one event #")
    assert problem.endswith(f"recorded ({original[:12]}…)")


def test_the_version_page_and_the_audit_page_show_the_snapshots_altered_schema(
    manager_client, compliance_officer, client, version
):
    _schema_edit("analytics_datasnapshot", f"id = {version.snapshot_id}", 720)

    html = manager_client.get(reverse("analytics:version_detail", args=[version.pk])).content.decode()
    client.force_login(compliance_officer)
    audit = client.post(reverse("audit_verify"), follow=True).content.decode()

    assert "<strong>Data set schema tampered</strong>: the stored schema no longer matches its SHA-256" in html
    assert f"<strong>dataset schema german_credit (snapshot {version.snapshot_id})</strong>" in audit
