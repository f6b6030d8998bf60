"""Clustering records: experiment runs on a data set, and the segment each account was put in.

The transactions a run clusters belong to the app that holds them (see `clustering.datasets`);
accounts are referred to by their reference only, so no table here points into another app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from clustering.experiments import ExperimentConfig


class ClusteringExperiment(models.Model):
    """A set of runs on one series representation of one data set, compared with each other."""

    class Series(models.TextChoices):
        AMOUNTS = "amounts", "Signed amounts, standardised, left-padded (reference protocol)"
        WEEKLY = "weekly", "Weekly net flow and balance"
        DAILY = "daily", "Daily net flow and balance"

    name = models.CharField(max_length=200)
    dataset = models.CharField(max_length=50, default="berka")
    series = models.CharField(max_length=10, choices=Series.choices, default=Series.AMOUNTS)
    series_length = models.PositiveIntegerField(
        null=True, blank=True, help_text="Amount series: keep the last N transactions; empty for the longest account."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ClusteringRun(models.Model):
    """One configuration trained and scored; finished runs are never redone, failed ones may be retried."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    experiment = models.ForeignKey(ClusteringExperiment, on_delete=models.CASCADE, related_name="runs")
    config = models.JSONField(help_text="The full engine configuration (clustering.experiments.ExperimentConfig).")
    config_key = models.CharField(max_length=64, help_text="SHA-256 of the canonical configuration.")
    encoder = models.CharField(max_length=10)
    pretext = models.CharField(max_length=10)
    head = models.CharField(max_length=10)
    distance = models.CharField(max_length=10)
    k = models.PositiveSmallIntegerField()
    reduction = models.CharField(max_length=10)
    seed = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True, help_text="Lease against duplicate deliveries.")
    progress = models.PositiveSmallIntegerField(
        default=0, help_text="Percent of the training epochs done; 100 when finished. For the progress bar."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    account_count = models.PositiveIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    silhouette_test = models.FloatField(null=True, blank=True)
    davies_bouldin_test = models.FloatField(null=True, blank=True)
    degenerate = models.BooleanField(null=True, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    artifact_path = models.CharField(max_length=300, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    chosen = models.BooleanField(
        default=False, help_text="The segmentation in use: its segments are served to officers and credit models."
    )
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    chosen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "config_key"], name="clustering_run_unique_config"),
            models.CheckConstraint(condition=Q(k__gte=2), name="clustering_run_k_at_least_2"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="clustering_run_progress_percent"),
            models.UniqueConstraint(fields=["chosen"], condition=Q(chosen=True), name="clustering_one_chosen_run"),
            models.CheckConstraint(
                condition=Q(chosen=False) | Q(status="finished", degenerate=False), name="clustering_chosen_is_usable"
            ),
        ]
        indexes = [models.Index(fields=["experiment", "k", "status"])]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.label} seed={self.seed} ({self.status})"

    @classmethod
    def for_config(cls, *, experiment: ClusteringExperiment, config: ExperimentConfig, **fields: Any) -> ClusteringRun:
        """An unsaved run of `config`, its searchable columns copied from the configuration."""
        return cls(
            experiment=experiment,
            config=config.as_dict(),
            config_key=config.key,
            encoder=config.encoder,
            pretext=config.pretext,
            head=config.head,
            distance=config.distance,
            k=config.k,
            reduction=config.reduction,
            seed=config.seed,
            **fields,
        )

    @property
    def label(self) -> str:
        """The configuration without its seed, as the engine names it, e.g. "resnet/mse/dtc-cid/k=4"."""
        return ExperimentConfig.from_dict(self.config).label


class SegmentAssignment(models.Model):
    """The segment a run put an account in; `in_train` tells which half of the split it was in."""

    run = models.ForeignKey(ClusteringRun, on_delete=models.CASCADE, related_name="assignments")
    account_reference = models.CharField(max_length=100)
    segment = models.PositiveSmallIntegerField()
    in_train = models.BooleanField()
    projection_x = models.FloatField(null=True, help_text="First principal component of the account's latent.")
    projection_y = models.FloatField(null=True, help_text="Second principal component of the account's latent.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "account_reference"], name="segment_assignment_unique_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.account_reference} -> {self.segment}"
