"""Monitoring's own records: what it measured about production, stored so that pages read and never compute."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q

# A segment's membership rate in a group over the reference group's: outside this band (the four-fifths
# rule and its reciprocal) the segment over- or under-represents the group.
PROXY_BAND = (0.8, 1.25)


@dataclass(frozen=True)
class SegmentGroupShare:
    """How often one protected group's accounts fall in one segment, against the attribute's reference group."""

    segment: int
    attribute: str
    group: str
    is_reference: bool
    accounts: int
    small_group: bool
    share: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None

    @property
    def outside_band(self) -> bool:
        """The ratio lies outside the four-fifths band either way (over- or under-represented)."""
        return not self.small_group and self.ratio is not None and not PROXY_BAND[0] <= self.ratio <= PROXY_BAND[1]

    @property
    def flagged(self) -> bool:
        """Outside the band and clearly so: its whole 95% interval lies outside the band too."""
        if not self.outside_band:
            return False
        if self.ratio_low is None or self.ratio_high is None:
            return True
        return self.ratio_high < PROXY_BAND[0] or self.ratio_low > PROXY_BAND[1]


class SegmentProxyCheck(models.Model):
    """Whether a segmentation's segments follow its account owners' sex or age band (a Celery job).

    A segment far more (or less) common in one protected group acts as a proxy for it, and a credit model
    reading it would carry that into decisions. `results` holds one row per segment and group.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    run = models.ForeignKey("clustering.ClusteringRun", on_delete=models.CASCADE, related_name="proxy_checks")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Check progress, percent.")
    progress_message = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Band, resamples, attributes.")
    results = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed the check; a lease against duplicate deliveries."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="proxy_check_progress_at_most_100")]

    def __str__(self) -> str:
        return f"Proxy check of run {self.run_id} ({self.status})"

    @property
    def shares(self) -> list[SegmentGroupShare]:
        """The stored rows, one per segment and group (none until the check is done)."""
        return [SegmentGroupShare(**row) for row in (self.results or {}).get("shares", [])]
