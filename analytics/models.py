"""The model registry: data snapshots and the model versions trained from them, with lineage."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from analytics.engine.dataset_schema import DatasetSchema, schema_from_dict, schema_load
from analytics.engine.mitigation import MITIGATION_PARAMS, Mitigation, mitigation_resolve
from analytics.engine.policy import DEFAULT_POLICY, DecisionPolicy
from finai.protected_attributes import GROUP_ATTRIBUTES

# Keys of a version's params that are not the family's own.
LINEAGE_PARAM = "lineage"
# Opt-in alternative-data features: {feature name: where its values came from (e.g. the clustering run)}.
ALTERNATIVE_DATA_PARAM = "alternative_data"
NON_FAMILY_PARAMS = (LINEAGE_PARAM, ALTERNATIVE_DATA_PARAM)
# Transaction-screening models share the registry (lineage, artifact hash, four-eyes promotion) but decide no
# credit: they score accounts, so ROC bands, approval fairness, backtests and challengers do not apply.
SCREENING_PRODUCT = "transaction_screening"


_parsed_schemas: dict[str, DatasetSchema] = {}
_parsed_lock = threading.Lock()


def stored_schema(source: dict[str, Any], sha256: str) -> DatasetSchema:
    """A stored schema, parsed once per process by its hash (scoring reads it on every decision)."""
    schema = _parsed_schemas.get(sha256)
    if schema is None:
        schema = schema_from_dict(source)
        with _parsed_lock:
            _parsed_schemas[sha256] = schema
    return schema


class DatasetSchemaRecord(models.Model):
    """The schema a data set was last imported under (given by path or uploaded), so later steps find it by
    name; the schema files in `data/schemas/` need no record."""

    name = models.CharField(max_length=39, unique=True)
    kind = models.CharField(max_length=20)
    product = models.CharField(max_length=50)
    schema = models.JSONField(help_text="The schema as written.")
    schema_sha256 = models.CharField(max_length=64)
    origin = models.CharField(max_length=300, help_text="The file or upload it came from.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    @property
    def dataset_schema(self) -> DatasetSchema:
        return stored_schema(self.schema, self.schema_sha256)


class DataSnapshot(models.Model):
    """A frozen, hashed extract of training data: what a model version learned from."""

    dataset = models.CharField(max_length=100, db_index=True)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical snapshot file.")
    row_count = models.PositiveIntegerField()
    schema = models.JSONField(default=dict, help_text="The dataset schema the snapshot was taken under.")
    schema_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the schema's canonical JSON.")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    storage_path = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "content_hash", "schema_sha256"], name="snapshot_unique_per_content_and_schema"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset} @ {self.content_hash[:12]}"

    @property
    def dataset_schema(self) -> DatasetSchema:
        """The schema stored with the snapshot; snapshots from before whole schemas were stored read the file."""
        if self.schema_sha256:
            return stored_schema(self.schema, self.schema_sha256)
        return schema_load(self.dataset)


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
    drift_reference = models.JSONField(
        default=dict,
        blank=True,
        help_text="Bins fixed from the training rows; every drift comparison of this version uses them.",
    )
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

    # A version's params hold the family's own, the mitigation's (`MITIGATION_PARAMS`), the alternative
    # data it reads and, for a model found by a less-discriminatory-alternative search, its lineage.

    @property
    def alternative_data(self) -> dict[str, dict[str, Any]]:
        """The opt-in alternative-data features the version reads, each with where its values come from."""
        return dict((self.params or {}).get(ALTERNATIVE_DATA_PARAM) or {})

    @property
    def decides_credit(self) -> bool:
        return self.product != SCREENING_PRODUCT

    @property
    def lineage(self) -> dict[str, Any] | None:
        """For a model trained by a less-discriminatory-alternative search: its base and plan."""
        return (self.params or {}).get(LINEAGE_PARAM)

    @property
    def mitigation_settings(self) -> Mitigation:
        """The mitigation the version was (or will be) trained with, from its recorded params."""
        attributes = self.snapshot.dataset_schema.group_attributes if self.snapshot_id else GROUP_ATTRIBUTES
        return mitigation_resolve(method=self.mitigation, family=self.family, params=self.params, attributes=attributes)

    @property
    def family_params(self) -> dict[str, Any]:
        """The family's own parameters: the params without mitigation, alternative-data and lineage entries."""
        return {
            name: value
            for name, value in (self.params or {}).items()
            if name not in MITIGATION_PARAMS and name not in NON_FAMILY_PARAMS
        }

    @property
    def monitored_attributes(self) -> tuple[str, ...]:
        """The protected groupings the promotion gate and searches judge: the lender's chosen fields
        (FAIRNESS_MONITORED_ATTRIBUTES) and the protected columns the version's data set keeps by their own
        name (education, say), which no setting can know in advance."""
        own = self.snapshot.dataset_schema.own_attributes if self.snapshot_id else ()
        return tuple(dict.fromkeys((*settings.FAIRNESS_MONITORED_ATTRIBUTES, *own)))

    @property
    def policy(self) -> DecisionPolicy:
        """The decision policy the version was evaluated under at training (recorded in its metrics)."""
        recorded = (self.metrics or {}).get("policy")
        return DecisionPolicy.from_dict(recorded) if recorded else DEFAULT_POLICY


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


class FairnessReport(models.Model):
    """A stored fair-lending audit, so later reviews can cite exactly what was measured.

    Audits run on the `analytics` workers (bootstrap intervals take seconds to minutes): a report is
    created RUNNING when requested and ends DONE with its results or FAILED with the reason. Its source
    is a model version's holdout decisions, the live decisions of a time window, or an uploaded
    decisions file read through a dataset schema (identified by the file's SHA-256).
    """

    class Kind(models.TextChoices):
        MODEL_VERSION = "model_version", "Model version holdout"
        WINDOW = "window", "Live decisions in a time window"
        FILE = "file", "Uploaded decisions file"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    title = models.CharField(max_length=200)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="fairness_reports"
    )
    dataset = models.CharField(max_length=100, blank=True, help_text="The dataset schema the data was read with.")
    source_sha256 = models.CharField(max_length=64, blank=True, help_text="Hash of an uploaded decisions file.")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    source_path = models.CharField(
        max_length=300, blank=True, help_text="An uploaded decisions file, kept in artifact storage for the worker."
    )
    parameters = models.JSONField(default=dict, blank=True, help_text="Thresholds, reference groups, resamples.")
    results = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Audit progress, percent.")
    progress_message = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed the audit; a lease against duplicate deliveries."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="fairness_report_progress_at_most_100"),
            models.CheckConstraint(
                condition=~Q(kind="model_version") | Q(model_version__isnull=False),
                name="fairness_report_model_version_names_its_version",
            ),
            models.CheckConstraint(
                condition=~Q(kind="window") | Q(window_start__isnull=False, window_end__isnull=False),
                name="fairness_report_window_has_bounds",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class LdaSearch(models.Model):
    """A search for a less discriminatory alternative to a model version (a Celery job).

    Each alternative trained is a registered candidate that can go through promotion; `results` holds
    the accuracy-fairness frontier and which alternatives improve the adverse impact ratio within the
    AUC tolerance.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    base_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="lda_searches")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=dict, blank=True)
    alternatives = models.ManyToManyField(ModelVersion, blank=True, related_name="+")
    failure = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="search_progress_at_most_100")]

    def __str__(self) -> str:
        return f"Alternatives to v{self.base_version_id} ({self.status})"
