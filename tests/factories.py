"""Factories for the records tests build (factory_boy): plausible defaults, any field overridable.

A decision's defaults follow its outcome (probability of default, reasons for adverse action only), and
building one marks its application decided, as the decision service would.
"""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone
from factory.django import DjangoModelFactory

from analytics.models import DataSnapshot, ModelVersion, PromotionRequest
from lending.models import Applicant, Decision, LoanApplication

PASSWORD = "correct-horse-battery-staple"
POLICY_VERSION = "consumer-2025.1"  # analytics.engine.policy.DEFAULT_POLICY: approve < 0.25, decline >= 0.5
PROBABILITY_OF = {"approve": 0.1, "refer": 0.35, "decline": 0.62}
ADVERSE_REASONS = [
    {"code": "R06", "text": "Credit history shows a critical account", "feature": "credit_history"},
    {"code": "R10", "text": "Amount requested is too high", "feature": "credit_amount"},
]


class UserFactory(DjangoModelFactory):
    """A staff member; `roles=[...]` puts them in the role groups."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, roles: list[str] | None, **kwargs: object) -> None:
        if create and roles:
            self.groups.set([Group.objects.get_or_create(name=role)[0] for role in roles])


class ApplicantFactory(DjangoModelFactory):
    class Meta:
        model = Applicant

    reference = factory.Sequence(lambda n: f"applicant-{n}")
    full_name = "Ann Example"


class LoanApplicationFactory(DjangoModelFactory):
    class Meta:
        model = LoanApplication

    reference = factory.Sequence(lambda n: f"app-{n:05d}")
    applicant = factory.SubFactory(ApplicantFactory)
    amount = Decimal("2500.00")
    term_months = 24
    purpose = "car (new)"
    features = factory.LazyFunction(
        lambda: {"credit_history": "critical account/ other credits existing (not at this bank)"}
    )
    status = LoanApplication.Status.SUBMITTED
    submitted_at = factory.LazyFunction(timezone.now)


class DecisionFactory(DjangoModelFactory):
    """The primary decision of an application (which it marks decided)."""

    class Meta:
        model = Decision

    application = factory.SubFactory(LoanApplicationFactory)
    model_version = None
    outcome = Decision.Outcome.DECLINE
    probability_of_default = factory.LazyAttribute(lambda decision: PROBABILITY_OF[decision.outcome])
    score = 520
    reasons = factory.LazyAttribute(lambda decision: [] if decision.outcome == "approve" else list(ADVERSE_REASONS))
    policy_version = POLICY_VERSION
    decided_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: type[Decision], *args: object, **kwargs: object) -> Decision:
        application = kwargs["application"]
        application.status = LoanApplication.Status.DECIDED
        application.save(update_fields=["status"])
        return super()._create(model_class, *args, **kwargs)


class DataSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = DataSnapshot

    dataset = "german_credit"
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
    row_count = 1000


class ModelVersionFactory(DjangoModelFactory):
    """A trained candidate as the registry records one (no artifact: pages and gates read its JSON)."""

    class Meta:
        model = ModelVersion

    family = "scorecard"
    status = ModelVersion.Status.CANDIDATE
    snapshot = factory.SubFactory(DataSnapshotFactory)
    progress = 100
    progress_message = "done"


class PromotionRequestFactory(DjangoModelFactory):
    class Meta:
        model = PromotionRequest

    version = factory.SubFactory(ModelVersionFactory)
    requested_by = factory.SubFactory(UserFactory, roles=["model_manager"])
    exception_justification = "Fairness gate reviewed."
