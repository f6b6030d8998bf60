"""Monitoring's own records: what it measured about production, stored so that pages read and never compute."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import F, Q

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


class MonitoringWindow(models.Model):
    """One window (a day, a week or a month) of a model version's live decisions, measured against the
    bins fixed when the version was trained.

    Stored, never recomputed: a page or an alert reads the figures of the run that produced them, and
    the same window is measured once (the run is idempotent per version, period and start).
    """

    class Period(models.TextChoices):
        DAY = "day", "Daily"
        WEEK = "week", "Weekly"
        MONTH = "month", "Monthly"

    model_version = models.ForeignKey(
        "analytics.ModelVersion", on_delete=models.PROTECT, related_name="monitoring_windows"
    )
    period = models.CharField(max_length=5, choices=Period.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    decisions = models.PositiveIntegerField(help_text="Primary decisions of the version in the window.")
    drift = models.JSONField(default=dict, blank=True, help_text="PSI, JS, KS, Wasserstein per feature and score.")
    rates = models.JSONField(
        default=dict, blank=True, help_text="Approval, referral and override rates and the reason-code mix."
    )
    thresholds = models.JSONField(default=dict, blank=True, help_text="The thresholds the window was judged by.")
    fairness = models.JSONField(
        default=dict,
        blank=True,
        help_text="Approval rates and adverse impact ratios per protected group, with intervals (weeks and months).",
    )
    measured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_version", "period", "starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "period", "starts_at"], name="one_monitoring_window_per_version_period_start"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="monitoring_window_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"v{self.model_version_id} {self.period} from {self.starts_at:%Y-%m-%d}"


class Alert(models.Model):
    """A breached monitoring rule about one subject (a feature of a version, a queue, the workers).

    At most one alert per rule and subject is open (or acknowledged) at a time: a further breach while it
    is open adds to it (`breaches`, `last_breached_at`, `latest`) instead of opening another, so a
    lasting problem is one item to work, not a storm. Acknowledging and resolving name who, when and
    why, and are audited.
    """

    class Rule(models.TextChoices):
        FEATURE_DRIFT = "feature_drift", "Feature drift (PSI)"
        SCORE_DRIFT = "score_drift", "Score drift (PSI)"
        APPROVAL_RATE_SHIFT = "approval_rate_shift", "Approval-rate shift"
        AUC_DROP = "auc_drop", "AUC drop"
        CALIBRATION_BAND = "calibration_band", "Calibration band failing"
        FAIRNESS_RATIO = "fairness_ratio", "Adverse impact ratio below four-fifths"
        SCORING_ERRORS = "scoring_errors", "Scoring error rate"
        QUEUE_BACKLOG = "queue_backlog", "Queue backlog"
        NO_WORKER = "no_worker", "No live worker"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    rule = models.CharField(max_length=30, choices=Rule.choices, db_index=True)
    subject = models.CharField(max_length=200, help_text="What breached the rule, e.g. 'v12 duration_in_month'.")
    model_version = models.ForeignKey(
        "analytics.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    summary = models.CharField(max_length=300)
    breaches = models.PositiveIntegerField(default=1)
    latest = models.JSONField(default=dict, blank=True, help_text="The measurement of the latest breach.")
    first_breached_at = models.DateTimeField()
    last_breached_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_breached_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"], condition=~Q(status="resolved"), name="one_open_alert_per_rule_and_subject"
            ),
            models.CheckConstraint(condition=Q(breaches__gte=1), name="alert_breached_at_least_once"),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False) | ~Q(status="resolved"),
                name="resolved_alert_has_resolution_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.subject} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED


class CohortPerformance(models.Model):
    """How one month's decisions by a model version are repaying: realised figures once the cohort is mature
    (its default horizon has passed), the label-free estimate always, and the vintage curve so far.

    Recomputed by each monitoring run as outcomes arrive; the default definition the figures were computed
    under is stored with them, since "default" is what the lender says it is (e.g. 90+ days past due within
    12 months).
    """

    model_version = models.ForeignKey(
        "analytics.ModelVersion", on_delete=models.PROTECT, related_name="cohort_performances"
    )
    cohort = models.DateField(help_text="The first day of the month the decisions were made in.")
    as_of = models.DateField()
    loans = models.PositiveIntegerField()
    months_observed = models.PositiveSmallIntegerField()
    mature = models.BooleanField(default=False)
    default_definition = models.JSONField(default=dict, blank=True)
    realised = models.JSONField(default=dict, blank=True, help_text="AUC, Gini, KS, Brier, calibration by band.")
    estimated = models.JSONField(default=dict, blank=True, help_text="Expected default rate and AUC from the PDs.")
    vintage = models.JSONField(default=dict, blank=True, help_text="Cumulative default rate by months on book.")
    measured_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_version", "cohort"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "cohort"], name="one_performance_per_version_and_cohort")
        ]

    def __str__(self) -> str:
        return f"v{self.model_version_id} cohort {self.cohort:%Y-%m}"

    @property
    def estimate_error(self) -> float | None:
        """The label-free AUC estimate less the realised AUC, once the cohort has matured."""
        realised = (self.realised or {}).get("auc") or {}
        expected = (self.estimated or {}).get("expected_auc")
        if realised.get("value") is None or expected is None:
            return None
        return expected - realised["value"]


class Backtest(models.Model):
    """The policy lab: a candidate model version and/or new cut-offs replayed over a period of past applications
    (a Celery job), against the decisions that were made.

    The replay scores the stored feature vectors (the exact inputs of each decision), so it is reproducible; the
    results compare the two sets of outcomes (`analytics.engine.decision_comparison`). A done backtest of a
    version can be attached to that version's pending promotion request, where the second approver reads it.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    product = models.CharField(max_length=50)
    candidate = models.ForeignKey(
        "analytics.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="backtests",
        help_text="The version replayed; none to replay the stored probabilities under new cut-offs.",
    )
    policy_version = models.CharField(
        max_length=50, blank=True, help_text="The new cut-offs' version; blank: the candidate's own policy."
    )
    approve_below = models.FloatField(null=True, blank=True)
    decline_from = models.FloatField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Backtest progress, percent.")
    progress_message = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Resamples, default definition, as-of date.")
    results = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed the backtest; a lease against duplicate deliveries."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    promotion_request = models.ForeignKey(
        "analytics.PromotionRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="backtests",
        help_text="The promotion request this backtest is attached to, for its second approver.",
    )
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="backtest_progress_at_most_100"),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="backtest_period_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(approve_below__isnull=True, decline_from__isnull=True, policy_version="")
                | Q(
                    approve_below__gt=0,
                    approve_below__lte=F("decline_from"),
                    decline_from__lte=1,
                    policy_version__gt="",
                ),
                name="backtest_cut_offs_valid",
            ),
            models.CheckConstraint(
                condition=Q(candidate__isnull=False) | Q(approve_below__isnull=False),
                name="backtest_replays_a_candidate_or_cut_offs",
            ),
        ]

    def __str__(self) -> str:
        return f"Backtest {self.pk} ({self.status})"

    @property
    def has_own_policy(self) -> bool:
        """New cut-offs were set (rather than the candidate's own policy)."""
        return self.approve_below is not None


class ChallengerComparison(models.Model):
    """A champion against its challenger on the same applications in a period (a Celery job): the champion's
    primary decisions and the challenger's shadow decisions, compared (`analytics.engine.decision_comparison`)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    champion = models.ForeignKey("analytics.ModelVersion", on_delete=models.PROTECT, related_name="+")
    challenger = models.ForeignKey("analytics.ModelVersion", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Comparison progress, percent.")
    progress_message = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Resamples, default definition, as-of date.")
    results = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed the comparison; a lease against duplicate deliveries."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="challenger_comparison_progress_at_most_100"),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="challenger_comparison_period_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(champion=F("challenger")), name="challenger_comparison_of_two_versions"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.champion_id} against v{self.challenger_id} ({self.status})"


# Transaction screening: the bookings received, the scenarios (typology rules) under four eyes, the runs
# that apply them, the alerts they raise and the cases compliance officers work to a disposition.

SCREENING_TYPOLOGIES = (
    ("structuring", "Structuring under a reporting threshold"),
    ("pass_through", "Rapid pass-through"),
    ("fan_in", "Fan-in"),
    ("fan_out", "Fan-out"),
    ("cycle", "Cycle"),
    ("dormant_reactivation", "Dormant account reactivated"),
    ("velocity_spike", "Velocity spike"),
    ("round_amounts", "Round amounts"),
)


class ScreenedTransaction(models.Model):
    """One booking on one account as screening received it: from a partner's API call, or a data set loaded.

    Kept apart from the lending ledger (`lending.Transaction`, the borrowers' statements): screening covers
    every account the bank reports, each booking has a time of day and a counterparty account, and the
    sender's own id makes a resubmission of the same booking one record, not two.
    """

    class Direction(models.TextChoices):
        IN = "in", "In (credit)"
        OUT = "out", "Out (debit)"

    source = models.CharField(max_length=40, help_text='"partner:<id>", "berka", "amlsim" or "synthetic".')
    partner = models.ForeignKey(
        "lending.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="screened_transactions"
    )
    external_id = models.CharField(max_length=100, help_text="The sender's transaction id, unique per source.")
    account = models.CharField(max_length=100)
    counterparty = models.CharField(max_length=100, blank=True, help_text="Blank for cash.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=30, help_text='The channel: "cash", "transfer", "card", ...')
    booked_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "booked_at", "pk"]
        indexes = [models.Index(fields=["account", "booked_at"]), models.Index(fields=["booked_at"])]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="screened_transaction_once_per_source"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="screened_transaction_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.direction} {self.amount} at {self.booked_at:%Y-%m-%d %H:%M}"


class AccountLabel(models.Model):
    """A data set's known answer for an account (AMLSim's planted laundering, the generator's truth).

    Evaluation only: test runs measure precision against it; no rule or score ever reads it.
    """

    source = models.CharField(max_length=40)
    account = models.CharField(max_length=100)
    suspicious = models.BooleanField()
    typology = models.CharField(max_length=30, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "account"], name="account_label_once_per_source")]

    def __str__(self) -> str:
        return f"{self.source}:{self.account} {'suspicious' if self.suspicious else 'ordinary'}"


class ScreeningScenario(models.Model):
    """A named typology rule; what it checks lives in its versions, of which at most one is active."""

    name = models.SlugField(max_length=60, unique=True, help_text="The name alerts carry, e.g. structuring_10k.")
    typology = models.CharField(max_length=30, choices=SCREENING_TYPOLOGIES)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScenarioVersion(models.Model):
    """One proposed set of a scenario's parameters. A compliance officer proposes; a second one approves it,
    which makes it active and retires the one before (a scenario change moves alert volumes as much as a model
    promotion moves approvals, so it gets the same four eyes)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "Retired"

    scenario = models.ForeignKey(ScreeningScenario, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    parameters = models.JSONField(default=dict, help_text="The typology's parameters, validated by the engine.")
    enabled = models.BooleanField(default=True, help_text="A version may switch its scenario off.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    change_note = models.TextField(help_text="Why the change: the proposer's reasoning, read by the approver.")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["scenario__name", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "number"], name="scenario_version_number_unique"),
            models.UniqueConstraint(
                fields=["scenario"], condition=Q(status="active"), name="one_active_version_per_scenario"
            ),
            models.UniqueConstraint(
                fields=["scenario"], condition=Q(status="pending"), name="one_pending_version_per_scenario"
            ),
            models.CheckConstraint(
                condition=~Q(proposed_by=F("reviewed_by")) | Q(proposed_by__isnull=True),
                name="scenario_version_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario.name} v{self.number} ({self.status})"

    @property
    def rule_name(self) -> str:
        """The name alerts carry: the scenario and the version that raised them."""
        return f"{self.scenario.name} v{self.number}"


class ScreeningRun(models.Model):
    """Scenario versions applied to the bookings of a period (a Celery job).

    A live run raises alerts and opens cases; a test run replays versions (usually a pending one) over the
    same past and only counts: alerts and accounts per rule, and precision against closed cases' dispositions
    and the data sets' labels, before anyone approves the change.
    """

    class Kind(models.TextChoices):
        LIVE = "live", "Live"
        TEST = "test", "Test run"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.LIVE)
    period_start = models.DateTimeField(help_text="Windows ending from here are screened.")
    period_end = models.DateTimeField(help_text="Exclusive.")
    versions = models.ManyToManyField(ScenarioVersion, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Run progress, percent.")
    progress_message = models.CharField(max_length=200, blank=True)
    results = models.JSONField(default=dict, blank=True, help_text="Counts, timings and (test runs) precision.")
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker claimed the run.")
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="screening_run_progress_at_most_100"),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="screening_run_period_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d} ({self.status})"


class ScreeningCase(models.Model):
    """An account's open alerts, worked by one compliance officer to a disposition.

    Pending until someone takes it; whoever holds it (`assigned_to`) is the only one who may work it, which
    is the lock. A false positive or a valuable-but-not-suspicious alert is closed by its investigator; a
    confirmed one is a suspicious-activity report in the making and closes only when a second compliance
    officer approves the investigator's request.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        INVESTIGATING = "investigating", "Investigating"
        CLOSED = "closed", "Closed"

    class Disposition(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed suspicious"
        NOT_SUSPICIOUS = "not_suspicious", "Valuable, not suspicious"
        FALSE_POSITIVE = "false_positive", "False positive"

    account = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING, db_index=True)
    priority = models.FloatField(default=0.0, help_text="The sum of its alerts' scores: the queue's order.")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    sar_narrative = models.TextField(blank=True, help_text="The report's narrative: who, what, when, why suspicious.")
    close_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_requested_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=15, choices=Disposition.choices, blank=True)
    closing_note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-priority", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=~Q(status="closed"), name="one_open_case_per_account"
            ),
            models.CheckConstraint(
                condition=(Q(status="closed") & ~Q(disposition="") & Q(closed_at__isnull=False))
                | (~Q(status="closed") & Q(disposition="")),
                name="screening_case_closed_with_disposition",
            ),
            models.CheckConstraint(
                condition=~Q(disposition="confirmed") | ~Q(closed_by=F("close_requested_by")),
                name="screening_case_confirmed_by_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk}: {self.account} ({self.status})"

    @property
    def awaiting_second_approval(self) -> bool:
        return self.status == self.Status.INVESTIGATING and self.close_requested_by_id is not None


class ScreeningAlert(models.Model):
    """One account flagged by one scenario version (or a score), with the evidence: window, bookings, reason."""

    class Source(models.TextChoices):
        RULE = "rule", "Scenario"
        ANOMALY = "anomaly", "Anomaly score"
        MODEL = "model", "Supervised model"

    account = models.CharField(max_length=100, db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.RULE)
    scenario_version = models.ForeignKey(
        ScenarioVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    run = models.ForeignKey(ScreeningRun, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    case = models.ForeignKey(ScreeningCase, on_delete=models.PROTECT, related_name="alerts")
    rule = models.CharField(max_length=80, help_text='The scenario and version, e.g. "structuring v2".')
    typology = models.CharField(max_length=30)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    transaction_ids = models.JSONField(default=list, help_text="The external ids of the bookings that triggered it.")
    score = models.FloatField(help_text="How far past the rule's bar: 1.0 is just at it.")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario_version", "account", "window_end"], name="screening_alert_once_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.account}"


class CaseNote(models.Model):
    """An investigator's note on a case: what was checked, what was found."""

    case = models.ForeignKey(ScreeningCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note on case {self.case_id}"
