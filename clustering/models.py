"""Clustering records: the Berka (PKDD'99) tables as imported, experiment runs, and segment assignments.

The Berka tables keep the original identifiers as primary keys, so a second import of the same files
(or of the full transaction table after the partial one) adds only what is new. They are kept here,
apart from lending's bank accounts, because they are a research data set, not customers of record.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from clustering.experiments import ExperimentConfig


class BerkaDistrict(models.Model):
    """Demographics of a district (district.asc, columns A1..A16)."""

    district_id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=60)
    region = models.CharField(max_length=60)
    inhabitants = models.IntegerField()
    municipalities_under_500 = models.IntegerField()
    municipalities_500_1999 = models.IntegerField()
    municipalities_2000_9999 = models.IntegerField()
    municipalities_over_10000 = models.IntegerField()
    cities = models.IntegerField()
    urban_ratio = models.FloatField()
    average_salary = models.IntegerField()
    unemployment_1995 = models.FloatField(null=True, blank=True)
    unemployment_1996 = models.FloatField()
    entrepreneurs_per_1000 = models.IntegerField()
    crimes_1995 = models.IntegerField(null=True, blank=True)
    crimes_1996 = models.IntegerField()

    def __str__(self) -> str:
        return self.name


class BerkaAccount(models.Model):
    account_id = models.IntegerField(primary_key=True)
    district = models.ForeignKey(BerkaDistrict, on_delete=models.PROTECT, related_name="accounts")
    frequency = models.CharField(max_length=30, help_text="Statement frequency (POPLATEK MESICNE = monthly).")
    opened_on = models.DateField()

    def __str__(self) -> str:
        return f"Berka account {self.account_id}"


class BerkaClient(models.Model):
    """A client. The file's birth number encodes sex and birth date: they are kept apart, in
    `BerkaClientProtectedAttributes`, and never reach clustering."""

    client_id = models.IntegerField(primary_key=True)
    district = models.ForeignKey(BerkaDistrict, on_delete=models.PROTECT, related_name="clients")

    def __str__(self) -> str:
        return f"Berka client {self.client_id}"


class BerkaClientProtectedAttributes(models.Model):
    """Sex and birth date decoded from a Berka birth number (YYMMDD, month + 50 for women).

    Protected attributes (Regulation B): read only through `clustering.selectors` by compliance
    officers, to measure whether segments fall along these lines; never a model input.
    """

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"

    client = models.OneToOneField(
        BerkaClient, primary_key=True, on_delete=models.CASCADE, related_name="protected_attributes"
    )
    sex = models.CharField(max_length=6, choices=Sex.choices)
    birth_date = models.DateField()

    def __str__(self) -> str:
        return f"Protected attributes of Berka client {self.client_id}"


class BerkaDisposition(models.Model):
    """A client's right over an account (OWNER or DISPONENT)."""

    disp_id = models.IntegerField(primary_key=True)
    client = models.ForeignKey(BerkaClient, on_delete=models.PROTECT, related_name="dispositions")
    account = models.ForeignKey(BerkaAccount, on_delete=models.PROTECT, related_name="dispositions")
    type = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"{self.type} {self.client_id} of {self.account_id}"


class BerkaCard(models.Model):
    card_id = models.IntegerField(primary_key=True)
    disposition = models.ForeignKey(BerkaDisposition, on_delete=models.PROTECT, related_name="cards")
    type = models.CharField(max_length=20)
    issued_on = models.DateField()

    def __str__(self) -> str:
        return f"{self.type} card {self.card_id}"


class BerkaLoan(models.Model):
    """A loan and its status: A finished OK, B finished unpaid, C running OK, D running in debt."""

    loan_id = models.IntegerField(primary_key=True)
    account = models.ForeignKey(BerkaAccount, on_delete=models.PROTECT, related_name="loans")
    granted_on = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    duration_months = models.IntegerField()
    monthly_payment = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=1)

    def __str__(self) -> str:
        return f"Loan {self.loan_id} ({self.status})"

    @property
    def defaulted(self) -> bool:
        return self.status in ("B", "D")


class BerkaOrder(models.Model):
    """A permanent (standing) payment order."""

    order_id = models.IntegerField(primary_key=True)
    account = models.ForeignKey(BerkaAccount, on_delete=models.PROTECT, related_name="orders")
    bank_to = models.CharField(max_length=10)
    account_to = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    k_symbol = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return f"Order {self.order_id}"


class BerkaTransaction(models.Model):
    """A booked transaction; `amount` is unsigned as in the file, `type` gives its direction."""

    class Type(models.TextChoices):
        CREDIT = "PRIJEM", "Credit"
        DEBIT = "VYDAJ", "Debit"
        CASH_WITHDRAWAL = "VYBER", "Withdrawal in cash"

    trans_id = models.IntegerField(primary_key=True)
    account = models.ForeignKey(BerkaAccount, on_delete=models.PROTECT, related_name="transactions")
    booked_on = models.DateField()
    type = models.CharField(max_length=10, choices=Type.choices)
    operation = models.CharField(max_length=30, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    balance = models.DecimalField(max_digits=12, decimal_places=2)
    k_symbol = models.CharField(max_length=20, blank=True)
    bank = models.CharField(max_length=10, blank=True)
    partner_account = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "booked_on"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="berka_transaction_amount_unsigned")]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.type} {self.amount}"


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
