"""The model registry: data snapshots and the model versions trained from them, with lineage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DataSnapshot(models.Model):
    """A frozen, hashed extract of training data: what a model version learned from."""

    dataset = models.CharField(max_length=100, db_index=True)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical snapshot file.")
    row_count = models.PositiveIntegerField()
    schema = models.JSONField(default=dict, help_text="Column roles and types (the dataset schema).")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    storage_path = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "content_hash"], name="snapshot_unique_per_content")]

    def __str__(self) -> str:
        return f"{self.dataset} @ {self.content_hash[:12]}"


class ModelVersion(models.Model):
    """One trained model: its artifact (SHA-256 checked before every load), inputs and evaluation."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        FAILED = "failed", "Failed"
        CANDIDATE = "candidate", "Candidate"
        CHALLENGER = "challenger", "Challenger"
        CHAMPION = "champion", "Champion"
        RETIRED = "retired", "Retired"

    product = models.CharField(max_length=50, default="consumer_loan", db_index=True)
    family = models.CharField(max_length=30)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRAINING, db_index=True)
    snapshot = models.ForeignKey(
        DataSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    params = models.JSONField(default=dict, blank=True)
    mitigation = models.CharField(max_length=50, blank=True)
    seed = models.IntegerField(default=0)
    artifact_path = models.CharField(max_length=300, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Training progress, percent.")
    progress_message = models.CharField(max_length=200, blank=True)
    training_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed the training; a lease against duplicate deliveries."
    )
    training_seconds = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    fairness = models.JSONField(default=dict, blank=True)
    explanations = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)
    previous_champion = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The champion this version replaced; rollback restores it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product"], condition=Q(status="champion"), name="one_champion_per_product"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="model_progress_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.product} v{self.pk} ({self.family}, {self.status})"


class PromotionRequest(models.Model):
    """A request to make a version champion; another person must decide it (four eyes).

    `gates` records each gate's result at request time; a failed gate needs a written exception,
    which the approver accepts explicitly.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="promotion_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    gates = models.JSONField(default=dict, blank=True)
    exception_justification = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version"], condition=Q(status="pending"), name="one_pending_promotion_per_version"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="promotion_decided_by_another_person",
            ),
        ]

    def __str__(self) -> str:
        return f"Promotion of {self.version_id} ({self.status})"
