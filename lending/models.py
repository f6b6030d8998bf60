"""The system of record: applicants, their accounts, applications, decisions and outcomes; the Berka bank's tables."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q


class Applicant(models.Model):
    """A person who applies for credit. Protected attributes live apart, in ProtectedAttributes."""

    reference = models.CharField(max_length=100, unique=True, help_text="Stable external reference.")
    full_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    source = models.CharField(max_length=50, default="portal", db_index=True, help_text="Data set or channel.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.full_name or self.reference


class ProtectedAttributes(models.Model):
    """Characteristics ECOA / Regulation B forbid as decision inputs, kept for fairness measurement.

    Readable only by compliance roles (see `lending.selectors.protected_attributes_get`); no feature
    pipeline reads this table.
    """

    applicant = models.OneToOneField(Applicant, on_delete=models.CASCADE, related_name="protected_attributes")
    sex = models.CharField(max_length=30, blank=True)
    marital_status = models.CharField(max_length=50, blank=True)
    age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    age_band = models.CharField(max_length=20, blank=True)
    race_ethnicity = models.CharField(max_length=60, blank=True)
    national_origin = models.CharField(max_length=60, blank=True, help_text="Or a proxy such as foreign-worker status.")
    other = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "protected attributes"
        permissions = [("view_protected", "Can read protected attributes (compliance only)")]

    def __str__(self) -> str:
        return f"Protected attributes of {self.applicant_id}"


class BankAccount(models.Model):
    applicant = models.ForeignKey(
        Applicant, null=True, blank=True, on_delete=models.CASCADE, related_name="bank_accounts"
    )
    reference = models.CharField(max_length=100, unique=True)
    opened_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=50, default="portal", db_index=True)

    def __str__(self) -> str:
        return self.reference


class Transaction(models.Model):
    """A booked bank transaction; amount is signed (credits positive, debits negative)."""

    account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="transactions")
    reference = models.CharField(max_length=100, blank=True)
    booked_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    balance = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    kind = models.CharField(max_length=40, blank=True, help_text="e.g. credit, debit, cash withdrawal")
    operation = models.CharField(max_length=60, blank=True)
    category = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "booked_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "reference"], condition=~Q(reference=""), name="transaction_reference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount}"


RATE_VALIDATOR = RegexValidator(
    r"^[1-9][0-9]*/(second|minute|hour|day)$",
    "A rate looks like 600/minute: a whole number per second, minute, hour or day.",
)


class Partner(models.Model):
    """A partner organisation that submits applications through the API."""

    name = models.CharField(max_length=200, unique=True)
    is_active = models.BooleanField(default=True)
    webhook_url = models.URLField(blank=True)
    rate_limit = models.CharField(
        max_length=30,
        blank=True,
        validators=[RATE_VALIDATOR],
        help_text="This partner's requests per window, e.g. 6000/minute; blank: the API_RATE_LIMIT setting.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class PartnerApiKeyQuerySet(models.QuerySet):
    def active(self) -> PartnerApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True, partner__is_active=True)


class PartnerApiKey(models.Model):
    """An API credential. Only its SHA-256 is stored; the key itself is shown once at creation.

    Keys are 256-bit random tokens, so a fast hash is sufficient (no dictionary to attack).
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, to find the key.")
    key_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PartnerApiKeyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.partner} key {self.prefix}…"


class LoanApplication(models.Model):
    """A request for credit, with the characteristics the decision may use.

    `features` holds the applicant's credit characteristics exactly as submitted (never protected
    attributes); the loan's amount and term are columns of their own.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        SCORING = "scoring", "Scoring"
        DECIDED = "decided", "Decided"
        OVERRIDDEN = "overridden", "Overridden"
        WITHDRAWN = "withdrawn", "Withdrawn"
        FUNDED = "funded", "Funded"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        API = "api", "Partner API"
        IMPORT = "import", "Data import"
        SYNTHETIC = "synthetic", "Synthetic generator"

    # The explicit state machine: status -> statuses it may move to.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.SUBMITTED: frozenset({Status.SCORING, Status.WITHDRAWN}),
        Status.SCORING: frozenset({Status.DECIDED, Status.SUBMITTED, Status.WITHDRAWN}),
        Status.DECIDED: frozenset({Status.OVERRIDDEN, Status.WITHDRAWN, Status.FUNDED}),
        Status.OVERRIDDEN: frozenset({Status.WITHDRAWN, Status.FUNDED}),
        Status.WITHDRAWN: frozenset(),
        # A funded loan the applicant withdrew before any repayment (`lending.services.loans.loan_withdraw`).
        Status.FUNDED: frozenset({Status.WITHDRAWN}),
    }

    reference = models.CharField(max_length=100, unique=True)
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="applications")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="applications")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.PORTAL)
    product = models.CharField(max_length=50, default="consumer_loan", db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    # Null for open-ended credit (a card, a credit line), whose data set has no term.
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=100, blank=True)
    features = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    submitted_at = models.DateTimeField(db_index=True)
    # When its decision task was last published (lending.tasks stamps it): the sweeper leaves an application
    # whose task may still be queued alone, and queues at once one whose task never reached the broker.
    decision_queued_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(condition=Q(term_months__gt=0), name="application_term_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["submitted", "scoring", "decided", "overridden", "withdrawn", "funded"]),
                name="application_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class Decision(models.Model):
    """The outcome of scoring one application with one model version, reproducible from its record.

    The primary decision is the one acted on; shadow decisions (challengers) are stored, never shown.
    Historical decisions loaded from data sets have no model version.
    """

    class Outcome(models.TextChoices):
        APPROVE = "approve", "Approve"
        REFER = "refer", "Refer"
        DECLINE = "decline", "Decline"

    application = models.ForeignKey(LoanApplication, on_delete=models.PROTECT, related_name="decisions")
    model_version = models.ForeignKey(
        "analytics.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    is_shadow = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    probability_of_default = models.FloatField(null=True, blank=True)
    score = models.IntegerField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True, help_text="Up to four {code, text} principal reasons.")
    feature_vector = models.JSONField(default=dict, blank=True, help_text="The exact model inputs used.")
    outside_training_range = models.JSONField(
        default=list, blank=True, help_text="Inputs beyond the values the model learnt from (inside their domain)."
    )
    policy_version = models.CharField(max_length=50)
    decided_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(is_shadow=False), name="one_primary_decision_per_application"
            ),
            models.UniqueConstraint(
                fields=["application", "model_version"], name="one_decision_per_application_and_model_version"
            ),
            models.CheckConstraint(
                condition=Q(probability_of_default__isnull=True)
                | Q(probability_of_default__gte=0, probability_of_default__lte=1),
                name="decision_probability_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["approve", "refer", "decline"]), name="decision_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} for {self.application_id}"


class OverrideQuerySet(models.QuerySet):
    def acted_on(self) -> OverrideQuerySet:
        """Overrides in force: a pending or rejected one leaves the model's outcome acted on."""
        return self.filter(status=Override.Status.APPROVED)

    def pending(self) -> OverrideQuerySet:
        return self.filter(status=Override.Status.PENDING)


class Override(models.Model):
    """A loan officer's change of a decision's outcome, with the written justification.

    An override beyond the risk limit (`lending.services.overrides.override_risk_limit`) is `pending` until a
    second officer approves it (then `approved`, with `approved_by`) or rejects it (`rejected`); only approved
    overrides are acted on. The default is `approved` because overrides made before four eyes were acted on at
    once; the service always states the status.
    """

    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        PENDING = "pending", "Waiting for a second officer"
        REJECTED = "rejected", "Rejected"

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="overrides")
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField()
    outcome_before = models.CharField(max_length=10, choices=Decision.Outcome.choices)
    outcome_after = models.CharField(max_length=10, choices=Decision.Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED, db_index=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The second officer who approved it; empty when it was within the risk limit.",
    )
    approved_at = models.DateTimeField(null=True, blank=True, help_text="When it came into force.")
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, help_text="The second officer's note on approving or rejecting.")

    objects = OverrideQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(justification=""), name="override_justification_required"),
            models.CheckConstraint(
                condition=~Q(outcome_before=models.F("outcome_after")), name="override_changes_outcome"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["approved", "pending", "rejected"]), name="override_status_valid"
            ),
            # Four eyes: whoever approves or rejects an override is not the officer who asked for it.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("overridden_by")),
                name="override_approver_is_a_second_officer",
            ),
            models.CheckConstraint(
                condition=Q(rejected_by__isnull=True) | ~Q(rejected_by=models.F("overridden_by")),
                name="override_rejecter_is_a_second_officer",
            ),
            models.CheckConstraint(
                condition=Q(
                    status="pending",
                    approved_by__isnull=True,
                    approved_at__isnull=True,
                    rejected_by__isnull=True,
                    rejected_at__isnull=True,
                )
                | Q(status="approved", rejected_by__isnull=True, rejected_at__isnull=True)
                | Q(
                    status="rejected",
                    rejected_by__isnull=False,
                    rejected_at__isnull=False,
                    approved_by__isnull=True,
                    approved_at__isnull=True,
                ),
                name="override_review_matches_status",
            ),
            models.UniqueConstraint(
                fields=["decision"], condition=Q(status="pending"), name="one_pending_override_per_decision"
            ),
        ]

    def __str__(self) -> str:
        return f"Override {self.outcome_before} -> {self.outcome_after} ({self.status})"


class Loan(models.Model):
    """A funded loan, whose repayment outcomes feed monitoring and retraining.

    It is `active` from funding until it ends: `withdrawn` when the applicant withdrew before any repayment
    was reported (the loan never ran, so it teaches the models nothing), or closed as `repaid`, `charged_off`
    or `closed` (ended otherwise: settled, refinanced, sold). The transitions are `lending.services.loans`'s.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REPAID = "repaid", "Repaid"
        CHARGED_OFF = "charged_off", "Charged off"
        CLOSED = "closed", "Closed"

    # How a running loan may end, in the order the close form offers them.
    CLOSING_STATUSES = (Status.REPAID, Status.CHARGED_OFF, Status.CLOSED)

    application = models.OneToOneField(LoanApplication, on_delete=models.PROTECT, related_name="loan")
    principal = models.DecimalField(max_digits=14, decimal_places=2)
    term_months = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Null for open-ended credit.")
    funded_on = models.DateField()
    # Database defaults too: bulk loaders (lending.services.synthetic_load) insert rows naming only the columns
    # above.
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, db_default=Status.ACTIVE, db_index=True
    )
    ended_on = models.DateField(null=True, blank=True, help_text="When it was withdrawn or closed.")
    end_note = models.TextField(
        blank=True, default="", db_default="", help_text="Why the applicant withdrew, or a note on the closure."
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=Q(term_months__gt=0), name="loan_term_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "withdrawn", "repaid", "charged_off", "closed"]),
                name="loan_status_valid",
            ),
            # An ended loan says when; a running one has no end date.
            models.CheckConstraint(
                condition=Q(status="active", ended_on__isnull=True) | (~Q(status="active") & Q(ended_on__isnull=False)),
                name="loan_ended_on_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("funded_on")),
                name="loan_ends_after_funding",
            ),
            # The applicant withdrew: why is on record.
            models.CheckConstraint(condition=~Q(status="withdrawn") | ~Q(end_note=""), name="loan_withdrawal_reason"),
        ]

    def __str__(self) -> str:
        return f"Loan {self.pk} for {self.application_id}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class RepaymentOutcome(models.Model):
    """The loan's repayment status as of a date."""

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        PAID = "paid", "Paid"
        DEFAULTED = "defaulted", "Defaulted"

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="outcomes")
    status = models.CharField(max_length=10, choices=Status.choices)
    days_past_due = models.PositiveIntegerField(default=0)
    as_of = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "as_of"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "as_of"], name="one_outcome_per_loan_and_date"),
            models.CheckConstraint(
                condition=Q(status__in=["current", "paid", "defaulted"]), name="outcome_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} as of {self.as_of}"


class IdempotencyRecord(models.Model):
    """The first response to a partner request sent with an `Idempotency-Key`, replayed to every retry.

    The key is claimed by inserting this row in the same transaction that does the work, so of many
    concurrent retries exactly one creates anything; the others wait on the unique constraint and then
    replay what it answered. `fingerprint` tells a retry from a different request reusing the key.
    """

    scope = models.CharField(max_length=40, help_text='Whose key: "partner:<id>" or "user:<id>".')
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path, mode and canonical body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_location = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_caller")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class Batch(models.Model):
    """Many applications submitted in one request, processed in chunks on the `scoring` queue."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"

    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="batches")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.CharField(max_length=50, default="consumer_loan")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    total = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.total} rows, {self.status})"


class BatchItem(models.Model):
    """One row of a batch: its input, the application it became, or why it could not."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUBMITTED = "submitted", "Stored, awaiting a decision"
        DECIDED = "decided", "Decided"
        INVALID = "invalid", "Invalid"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    row = models.PositiveIntegerField(help_text="1-based position in the submitted batch.")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    application = models.OneToOneField(
        LoanApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="batch_item"
    )
    errors = models.JSONField(default=dict, blank=True, help_text="Field (or 'decision') -> problem.")

    class Meta:
        ordering = ["batch", "row"]
        indexes = [models.Index(fields=["batch", "status"])]
        constraints = [models.UniqueConstraint(fields=["batch", "row"], name="batch_row_unique")]

    def __str__(self) -> str:
        return f"Batch {self.batch_id} row {self.row}"


class PartnerWebhookSecret(models.Model):
    """The shared secret that signs a partner's webhooks (HMAC-SHA256); the partner verifies with it.

    Unlike an API key it must be readable to sign each delivery, so it is kept as issued.
    """

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Webhook secret of {self.partner}"


class WebhookDelivery(models.Model):
    """One event to notify a partner of, with its delivery attempts; at most one per application and event."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_deliveries")
    application = models.ForeignKey(LoanApplication, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "event"], name="one_webhook_per_application_and_event")
        ]

    def __str__(self) -> str:
        return f"{self.event} for {self.application_id} ({self.status})"


# The PKDD'99 (Berka) bank's tables as imported (`lending.services.berka`). They keep the original
# identifiers as primary keys, so a second import of the same files (or of the full transaction table
# after the partial one) adds only what is new; they stay apart from the bank accounts above because
# they are a research data set, not customers of record.


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

    Protected attributes (Regulation B): read only through `lending.selectors` by compliance
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

    DEFAULTED_STATUSES = ("B", "D")

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
        return self.status in self.DEFAULTED_STATUSES


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
