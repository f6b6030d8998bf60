"""Tamper evidence beyond the hash chain: the head against checkpoints kept outside the database, and the
record checks that apps register (issue 20, finding 2)."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from finai.models import AuditChainHead, AuditEvent
from finai.services import (
    IntegrityFinding,
    audit_chain_verification_record,
    audit_chain_verify,
    audit_checkpoint_export,
    audit_event_record,
    audit_trail_verify,
)
from finai.tasks import export_audit_checkpoint
from tests.finai.tampering import tamper

pytestmark = pytest.mark.django_db


def _record(count: int) -> list[AuditEvent]:
    return [audit_event_record(action="test.event", payload={"index": index}) for index in range(count)]


def _verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def _roll_back_to(head: AuditChainHead) -> None:
    """What the probe did: remove the newest events (triggers off) and put an earlier sealed head back."""
    tamper("DELETE FROM finai_auditevent WHERE sequence > %s", [head.sequence])
    AuditChainHead.objects.update(sequence=head.sequence, hash=head.hash, seal=head.seal)


@pytest.fixture
def rolled_back() -> AuditChainHead:
    """Eight events, the head exported at #8 by the periodic task, then rolled back to the sealed head of #5."""
    _record(5)
    earlier = AuditChainHead.objects.get()
    _record(3)
    export_audit_checkpoint()
    _roll_back_to(earlier)
    return earlier


def test_a_rolled_back_head_passes_the_chain_alone(rolled_back):
    """The gap the probe found: the chain and the seal of an earlier head are both valid."""
    assert audit_chain_verify().intact


def test_verify_audit_log_names_a_head_rolled_back_behind_its_checkpoint(rolled_back):
    with pytest.raises(CommandError, match=r"audit chain head: is at #5, behind the checkpoint exported at .* \(#8\)"):
        _verify()


def test_a_rollback_hidden_by_new_events_is_named_at_the_checkpoint(rolled_back):
    """Once new events carry the sequence past the checkpoint again, the checkpointed event's hash differs."""
    _record(4)

    verification = audit_trail_verify()

    assert verification.chain_intact
    [finding] = verification.findings
    assert finding.object_id == "#8"
    assert "the chain was rolled back and written again since" in finding.problem


def test_the_portal_shows_a_rolled_back_head(compliance_client, rolled_back):
    html = compliance_client.post(reverse("audit_verify"), follow=True).content.decode()

    assert "Chain links intact" in html
    assert "behind the checkpoint" in html
    recorded = AuditEvent.objects.get(action="audit.chain_verified")
    assert recorded.payload["intact"] is False
    assert recorded.payload["findings_total"] == 1


def test_an_untouched_chain_agrees_with_every_checkpoint(audit_checkpoint_file):
    _record(3)
    call_command("verify_audit_log", stdout=io.StringIO())
    _record(2)
    export_audit_checkpoint()
    export_audit_checkpoint()  # the head has not moved: nothing new to write

    assert _verify() == "Audit chain intact: 5 events\n"
    lines = [json.loads(line) for line in audit_checkpoint_file.read_text().splitlines()]
    assert [line["sequence"] for line in lines] == [3, 5]
    assert set(lines[0]) == {"sequence", "hash", "seal", "recorded_at"}


def test_a_verification_exports_the_head_once_it_is_committed(
    audit_checkpoint_file, django_capture_on_commit_callbacks
):
    _record(2)

    with django_capture_on_commit_callbacks(execute=True):
        verification = audit_chain_verification_record()

    assert verification.intact
    [line] = audit_checkpoint_file.read_text().splitlines()
    assert json.loads(line)["sequence"] == 3  # the head after the verification's own event


def test_a_checkpoint_not_sealed_with_the_audit_key_is_named(audit_checkpoint_file):
    _record(2)
    audit_checkpoint_export()
    forged = {"sequence": 99, "hash": "a" * 64, "seal": "b" * 64, "recorded_at": "2030-01-01T00:00:00+00:00"}
    with audit_checkpoint_file.open("a") as file:
        file.write(json.dumps(forged) + "\n")
        file.write("not a checkpoint\n")

    findings = audit_trail_verify().findings

    assert [(finding.object_id, finding.problem) for finding in findings] == [
        ("line 2", "is not sealed with the audit key"),
        ("line 3", "is not a checkpoint this service wrote"),
    ]


def test_a_head_whose_seal_does_not_match_is_not_exported(audit_checkpoint_file):
    _record(2)
    AuditChainHead.objects.update(seal="0" * 64)

    assert audit_checkpoint_export() is None
    assert not audit_checkpoint_file.exists()


def test_checkpoints_are_off_when_no_file_is_configured(settings):
    settings.AUDIT_CHECKPOINT_FILE = ""
    _record(1)

    assert audit_checkpoint_export() is None
    assert audit_trail_verify().intact


def test_the_checkpoint_is_exported_by_celery_beat():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["export-audit-checkpoint"]

    assert schedule == {
        "task": "finai.tasks.export_audit_checkpoint",
        "schedule": django_settings.AUDIT_CHECKPOINT_EVERY_SECONDS,
    }


def every_record_is_forged() -> list[IntegrityFinding]:
    """A registered check (AUDIT_INTEGRITY_CHECKS names it by its dotted path)."""
    return [IntegrityFinding(check="test", object_type="record", object_id="7", problem="was forged")]


def test_verification_runs_the_checks_apps_register(settings):
    settings.AUDIT_INTEGRITY_CHECKS = ["tests.finai.test_tamper_evidence.every_record_is_forged"]
    _record(1)

    with pytest.raises(CommandError, match=r"1 records disagree with the audit trail:\n  record 7: was forged"):
        _verify()
