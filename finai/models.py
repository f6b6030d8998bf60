"""Core records shared by every app: the tamper-evident audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: the trail is append-only (a database trigger backs this)."""

    def update(self, **kwargs):
        raise AuditEventImmutableError("Audit events cannot be updated.")

    def delete(self):
        raise AuditEventImmutableError("Audit events cannot be deleted.")


class AuditEventImmutableError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEvent(models.Model):
    """One state change, linked to its predecessor by hash so any edit breaks the chain.

    Written only by `finai.services.audit_event_record`; `verify_audit_log` recomputes the chain.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted, as text (user, partner, system).")
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        constraints = [models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_sequence_positive")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AuditEventImmutableError("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutableError("Audit events cannot be deleted.")


class AuditChainHead(models.Model):
    """The single row that writers lock to append to the chain one at a time.

    It also records the last sequence and hash, so removing events from the tail is detected, and seals
    them with a key kept outside the database, so a chain rewritten and rehashed end to end is detected.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    seal = models.CharField(
        max_length=64, blank=True, help_text="HMAC-SHA256 of sequence and hash under AUDIT_CHAIN_KEY."
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"Audit chain head at #{self.sequence}"
