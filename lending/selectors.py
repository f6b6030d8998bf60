"""Reads of lending records that carry rules of their own, and the Berka tables as clustering reads them."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict

import numpy as np
import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.engine.dataset_schema import ColumnSpec, DatasetSchema, domain_text
from analytics.models import DatasetSchemaRecord, ModelVersion
from analytics.services.dataset_schemas import dataset_schemas_known
from analytics.services.serving import decision_policy_get, scorer_for_version, scoring_versions
from clustering.datasets import ClusteringDataset
from clustering.models import ClusteringRun
from finai.errors import ApplicationError
from finai.protected_attributes import GROUP_ATTRIBUTES, PROTECTED_ATTRIBUTES
from finai.roles import COMPLIANCE_ROLES, can_read_protected_attributes, ensure_role
from lending.berka import SIGNS
from lending.models import (
    Applicant,
    BerkaDisposition,
    BerkaLoan,
    BerkaTransaction,
    Decision,
    Loan,
    LoanApplication,
    Override,
    ProtectedAttributes,
    RepaymentOutcome,
)

# The probabilities of default at the ends of the drawn score scale.
SCALE_HIGHEST_RISK, SCALE_LOWEST_RISK = 0.95, 0.005


def protected_attributes_get(*, applicant: Applicant, viewer: Any) -> ProtectedAttributes | None:
    """An applicant's protected attributes, for compliance roles only (ECOA / Regulation B)."""
    if not can_read_protected_attributes(viewer):
        raise PermissionDenied("Protected attributes are readable by compliance officers only.")
    return ProtectedAttributes.objects.filter(applicant=applicant).first()


class FeatureField(TypedDict):
    """One input of the application form, derived from the data set's schema."""

    name: str
    label: str
    type: Literal["numeric", "categorical"]
    choices: list[str]
    help: str
    maps_to: str
    minimum: float | None  # a numeric feature's domain from the schema (None: unbounded)
    maximum: float | None
    choice_labels: dict[str, str]  # a category's readable words, where the schema gives them
    required: bool


def field_label(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _product_schema(product: str, champion: ModelVersion | Literal["read"] | None = "read") -> DatasetSchema:
    """The schema the product's champion learnt under (stored with its snapshot), else the first known
    outcomes data set of the product. The champion is read unless the caller already holds it."""
    if champion == "read":
        champion, _ = scoring_versions(product=product)
    if champion is not None and champion.snapshot_id:
        return champion.snapshot.dataset_schema
    for schema in dataset_schemas_known():
        if schema.kind == "outcomes" and schema.product == product:
            return schema
    raise ApplicationError(f"No data set schema describes {product}.", details={"product": product})


_values_by_schema: dict[str, dict[str, tuple[str, ...]]] = {}


def _dataset_values(schema: DatasetSchema) -> dict[str, tuple[str, ...]]:
    """Distinct values of each categorical feature and protected field in the data set's file (read once
    per schema version; a schema recorded from elsewhere names no file here and gives none)."""
    if schema.sha256 in _values_by_schema:
        return _values_by_schema[schema.sha256]
    path = schema.resolve_file() if schema.file else None
    seen: dict[str, set[str]] = {}
    if path is not None and path.is_file():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter=schema.delimiter):
                _values_collect(schema, row, seen)
    values = {name: tuple(sorted(found)) for name, found in seen.items()}
    _values_by_schema[schema.sha256] = values
    return values


def _values_collect(schema: DatasetSchema, row: dict[str, str], seen: dict[str, set[str]]) -> None:
    for column in schema.features:
        if column.type == "categorical" and row.get(column.name):
            value = column.parse(row[column.name])
            if value is not None:
                seen.setdefault(column.name, set()).add(str(value))
    for column in schema.protected:
        with contextlib.suppress(ValueError):
            for name, value in column.protected_values(column.parse(row.get(column.name) or "")).items():
                if isinstance(value, str):
                    seen.setdefault(name, set()).add(value)


def _champion_categories(champion: ModelVersion | None) -> dict[str, tuple[str, ...]] | None:
    """The categories the champion learnt from: any other value would be refused at scoring."""
    if champion is None or not champion.artifact_path:
        return None
    try:
        return dict(scorer_for_version(champion).coding.categories)
    except ApplicationError:
        return None


def product_default_term(product: str) -> int | None:
    """The term an application for the product gets when it gives none (the schema's default_term_months)."""
    return _product_schema(product).default_term_months


def _help_text(column: ColumnSpec) -> str:
    """The schema's help, then the domain in words: "… From 1 to 4."."""
    bounded = column.minimum is not None or column.maximum is not None
    domain = f"From {domain_text(column.minimum, column.maximum)}." if bounded else ""
    return " ".join(part for part in (column.help, domain) if part)


def application_feature_fields(product: str = "consumer_loan") -> list[FeatureField]:
    """The credit characteristics an application for `product` needs, as form fields.

    Names and kinds come from the data set's schema; categorical choices from the champion's coding
    when there is one (values it has never seen cannot be scored), else from the data set's file.
    """
    champion, _ = scoring_versions(product=product)
    schema = _product_schema(product, champion)
    categories = _champion_categories(champion) or _dataset_values(schema)
    return [
        FeatureField(
            name=column.name,
            label=column.display_label,
            type=column.type,
            choices=list(categories.get(column.name, ())) if column.type == "categorical" else [],
            choice_labels=dict(column.value_labels),
            help=_help_text(column),
            required=column.required,
            maps_to=column.maps_to if isinstance(column.maps_to, str) else "",
            minimum=column.minimum,
            maximum=column.maximum,
        )
        for column in schema.features
    ]


def applicant_monitoring_fields(product: str = "consumer_loan") -> list[FeatureField]:
    """Protected characteristics the lender may ask for to monitor fairness, never to decide.

    One field per ProtectedAttributes field the product's schema fills; choices from its data file.
    """
    schema = _product_schema(product)
    values = _dataset_values(schema)
    fields: list[FeatureField] = []
    for column in schema.protected:
        targets = column.maps_to if isinstance(column.maps_to, tuple) else (column.maps_to or column.name,)
        for name in targets:
            if name not in PROTECTED_ATTRIBUTES or name == "age_band":
                continue
            numeric = name == "age_years"
            fields.append(
                FeatureField(
                    name=name,
                    label="Age in years" if numeric else field_label(name),
                    type="numeric" if numeric else "categorical",
                    choices=[] if numeric else list(values.get(name, ())),
                    help="",
                    maps_to=column.name,
                    minimum=None,
                    maximum=None,
                    choice_labels={},
                    required=False,
                )
            )
    return fields


def applicant_protected_values(*, product: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The ProtectedAttributes fields for monitoring answers, with the age band the schema derives."""
    schema = _product_schema(product)
    protected = {name: value for name, value in answers.items() if value not in (None, "")}
    age = protected.get("age_years")
    if age is not None:
        for column in schema.protected:
            if column.maps_to == "age_years":
                protected.update(column.protected_values(age))
    return protected


def application_primary_decision(*, application: LoanApplication) -> Decision | None:
    """The decision acted on; shadow (challenger) decisions are never shown."""
    return application.decisions.filter(is_shadow=False).select_related("model_version").first()


def _final_outcome_annotations() -> dict[str, Any]:
    primary = Decision.objects.filter(application=OuterRef("pk"), is_shadow=False)
    latest_override = (
        Override.objects.acted_on()
        .filter(decision__application=OuterRef("pk"), decision__is_shadow=False)
        .order_by("-created_at", "-pk")
    )
    return {
        "decision_outcome": Subquery(primary.values("outcome")[:1]),
        "decided_at": Subquery(primary.values("decided_at")[:1]),
        "final_outcome": Coalesce(
            Subquery(latest_override.values("outcome_after")[:1]), Subquery(primary.values("outcome")[:1])
        ),
    }


# The officer's list groups applications by where they came from: the live work of the portal and the partner
# API, apart from the historical rows imported to train on and the generated ones (the synthetic population, the
# demo's replayed history), which would otherwise bury today's applications under thousands of old rows.
SOURCE_LIVE = "live"
SOURCE_HISTORICAL = "historical"
SOURCE_ALL = "all"
APPLICATION_SOURCES: dict[str, tuple[str, ...]] = {
    SOURCE_LIVE: (LoanApplication.Channel.PORTAL, LoanApplication.Channel.API),
    SOURCE_HISTORICAL: (LoanApplication.Channel.IMPORT, LoanApplication.Channel.SYNTHETIC),
}


def application_search(
    *,
    query: str = "",
    status: str = "",
    outcome: str = "",
    submitted_from: dt.date | None = None,
    submitted_to: dt.date | None = None,
    submitted_by: Any = None,
    source: str = SOURCE_ALL,
) -> QuerySet[LoanApplication]:
    """Applications matching a reference or applicant name, status, final outcome, submission dates and source
    (`APPLICATION_SOURCES`: live, historical, or all).

    The outcome filter reads the outcome acted on: an approved override's, else the primary decision's.
    """
    applications = (
        LoanApplication.objects.select_related("applicant", "submitted_by")
        .annotate(**_final_outcome_annotations())
        .order_by("-submitted_at", "-pk")
    )
    if query:
        applications = applications.filter(
            Q(reference__icontains=query) | Q(applicant__full_name__icontains=query) | Q(applicant__reference=query)
        )
    if status:
        applications = applications.filter(status=status)
    if outcome == "pending":
        applications = applications.filter(final_outcome__isnull=True)
    elif outcome:
        applications = applications.filter(final_outcome=outcome)
    if submitted_from:
        applications = applications.filter(submitted_at__date__gte=submitted_from)
    if submitted_to:
        applications = applications.filter(submitted_at__date__lte=submitted_to)
    if submitted_by is not None:
        applications = applications.filter(submitted_by=submitted_by)
    if source in APPLICATION_SOURCES:
        applications = applications.filter(channel__in=APPLICATION_SOURCES[source])
    return applications


def application_source_counts(**filters: Any) -> dict[str, int]:
    """How many applications match the other filters (`application_search`'s) in each source, and in all: what
    the list's source filter shows and hides."""
    filters.pop("source", None)
    matching = application_search(**filters).order_by().values("channel").annotate(count=Count("pk"))
    by_channel = {row["channel"]: row["count"] for row in matching}
    counts = {
        source: sum(by_channel.get(channel, 0) for channel in channels)
        for source, channels in APPLICATION_SOURCES.items()
    }
    return {**counts, SOURCE_ALL: sum(by_channel.values())}


def loan_search(
    *,
    query: str = "",
    status: str = "",
    latest_outcome: str = "",
    funded_from: dt.date | None = None,
    funded_to: dt.date | None = None,
) -> QuerySet[Loan]:
    """Loans, latest funded first, by application reference or applicant name, loan status, funding dates and
    the latest repayment outcome reported ("none": nothing reported yet).

    Each row carries `latest_outcome`, `latest_days_past_due`, `latest_as_of` and `outcome_count`.
    """
    latest = RepaymentOutcome.objects.filter(loan=OuterRef("pk")).order_by("-as_of")
    loans = (
        Loan.objects.select_related("application__applicant")
        .annotate(
            latest_outcome=Subquery(latest.values("status")[:1]),
            latest_days_past_due=Subquery(latest.values("days_past_due")[:1]),
            latest_as_of=Subquery(latest.values("as_of")[:1]),
            outcome_count=Count("outcomes"),
        )
        .order_by("-funded_on", "-pk")
    )
    if query:
        loans = loans.filter(
            Q(application__reference__icontains=query)
            | Q(application__applicant__full_name__icontains=query)
            | Q(application__applicant__reference=query)
        )
    if status:
        loans = loans.filter(status=status)
    if latest_outcome == "none":
        loans = loans.filter(latest_outcome__isnull=True)
    elif latest_outcome:
        loans = loans.filter(latest_outcome=latest_outcome)
    if funded_from:
        loans = loans.filter(funded_on__gte=funded_from)
    if funded_to:
        loans = loans.filter(funded_on__lte=funded_to)
    return loans


@dataclass(frozen=True)
class OfficerSummary:
    """A loan officer's working view: what waits for them, and how the week went."""

    queue: list[LoanApplication]
    submitted_this_week: int
    awaiting_decision: int
    referred: int
    decided_this_week: int
    approved_this_week: int

    @property
    def approval_rate_this_week(self) -> float | None:
        return self.approved_this_week / self.decided_this_week if self.decided_this_week else None


def officer_summary(*, officer: Any, now: dt.datetime | None = None, queue_size: int = 10) -> OfficerSummary:
    """The officer's queue (awaiting a decision, or referred to them) and this week's counts.

    The week starts on Monday in the site's time zone; the approval rate counts final outcomes
    (overrides included) of the officer's applications decided this week.
    """
    now = timezone.localtime(now or timezone.now())
    week_start = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    mine = application_search(submitted_by=officer)
    waiting = Q(status__in=(LoanApplication.Status.SUBMITTED, LoanApplication.Status.SCORING))
    referred = Q(status=LoanApplication.Status.DECIDED, final_outcome=Decision.Outcome.REFER)
    decided_this_week = mine.filter(decided_at__gte=week_start)
    return OfficerSummary(
        queue=list(mine.filter(waiting | referred)[:queue_size]),
        submitted_this_week=mine.filter(submitted_at__gte=week_start).count(),
        awaiting_decision=mine.filter(waiting).count(),
        referred=mine.filter(referred).count(),
        decided_this_week=decided_this_week.count(),
        approved_this_week=decided_this_week.filter(final_outcome=Decision.Outcome.APPROVE).count(),
    )


@dataclass(frozen=True)
class ScoreBand:
    start: int
    end: int
    outcome: str


@dataclass(frozen=True)
class DecisionScale:
    """The score scale a decision is drawn on, with the policy's approve / refer / decline regions."""

    low: int
    high: int
    bands: list[ScoreBand]
    approve_below: float
    decline_from: float


def decision_scale(*, decision: Decision) -> DecisionScale | None:
    """Score regions of the decision's own policy (by its recorded version), for the visual scale."""
    if decision.score is None:
        return None
    try:
        policy = decision_policy_get(decision.policy_version, decision.model_version)
    except ApplicationError:
        return None
    low, high = policy.score(SCALE_HIGHEST_RISK), policy.score(SCALE_LOWEST_RISK)
    low, high = min(low, decision.score), max(high, decision.score)
    decline_at, approve_above = policy.score(policy.decline_from), policy.score(policy.approve_below)
    return DecisionScale(
        low=low,
        high=high,
        bands=[
            ScoreBand(low, decline_at, Decision.Outcome.DECLINE),
            ScoreBand(decline_at, approve_above, Decision.Outcome.REFER),
            ScoreBand(approve_above, high, Decision.Outcome.APPROVE),
        ],
        approve_below=policy.approve_below,
        decline_from=policy.decline_from,
    )


FAVOURABLE = Q(outcome_before=Decision.Outcome.DECLINE, outcome_after__in=("refer", "approve")) | Q(
    outcome_before=Decision.Outcome.REFER, outcome_after=Decision.Outcome.APPROVE
)
# A funded loan has defaulted once any repayment outcome says so or it is 90 days or more past due: the report's
# plain definition (monitoring judges realised performance by each data set's own definition).
DEFAULT_DAYS_PAST_DUE = 90
DEFAULTED = Q(status=RepaymentOutcome.Status.DEFAULTED) | Q(days_past_due__gte=DEFAULT_DAYS_PAST_DUE)
ACTED_ON = Override.Status.APPROVED


def _loan_defaulted(application: str) -> Exists:
    """Whether the funded loan of the application at `application` (an OuterRef path) has defaulted."""
    return Exists(RepaymentOutcome.objects.filter(DEFAULTED, loan__application=OuterRef(application)))


@dataclass(frozen=True)
class OverrideTally:
    """Overrides among a set of decisions; favourable ones move towards approval, adverse ones away.

    `overrides` counts those acted on (approved); `pending` and `rejected` those a second officer has still to
    decide or turned down. `funded` and `defaulted` are the realised outcomes of the decisions overridden:
    they exist only for loans that were funded.
    """

    label: str
    decisions: int
    overrides: int
    favourable: int
    pending: int = 0
    rejected: int = 0
    funded: int = 0
    defaulted: int = 0

    @property
    def adverse(self) -> int:
        return self.overrides - self.favourable

    @property
    def rate(self) -> float | None:
        return self.overrides / self.decisions if self.decisions else None

    @property
    def default_rate(self) -> float | None:
        return self.defaulted / self.funded if self.funded else None


@dataclass(frozen=True)
class DirectionTally:
    """Overrides from one outcome to another, as a rate of the decisions the model made with the first."""

    outcome_before: str
    outcome_after: str
    decisions: int
    overrides: int
    pending: int
    rejected: int
    funded: int
    defaulted: int

    @property
    def rate(self) -> float | None:
        return self.overrides / self.decisions if self.decisions else None

    @property
    def default_rate(self) -> float | None:
        return self.defaulted / self.funded if self.funded else None


@dataclass(frozen=True)
class OverrideReport:
    """Who overrides, how often, in which direction, for which reasons and — for compliance — for which groups,
    and how the overridden loans went. `model_approvals` is the baseline: funded model approvals not overridden.
    """

    decisions: int
    overrides: int
    pending: int
    rejected: int
    by_officer: list[OverrideTally]
    by_direction: list[DirectionTally]
    by_reason: list[OverrideTally]
    by_group: dict[str, list[OverrideTally]] | None
    model_approvals: OverrideTally


def _prefixed(condition: Q, prefix: str) -> Q:
    """The same condition on a related model's fields (`overrides__outcome_before`, ...)."""
    prefixed = Q(_connector=condition.connector, _negated=condition.negated)
    for child in condition.children:
        prefixed.children.append(
            _prefixed(child, prefix) if isinstance(child, Q) else (f"{prefix}{child[0]}", child[1])
        )
    return prefixed


def _override_counts() -> dict[str, Count]:
    """Per group of override rows: acted on, favourable, pending, rejected, and how the acted-on ones' loans went."""
    acted_on = Q(status=ACTED_ON)
    return {
        "n_overrides": Count("pk", filter=acted_on),
        "n_favourable": Count("pk", filter=acted_on & FAVOURABLE),
        "n_pending": Count("pk", filter=Q(status=Override.Status.PENDING)),
        "n_rejected": Count("pk", filter=Q(status=Override.Status.REJECTED)),
        "n_funded": Count("pk", filter=acted_on & Q(decision__application__loan__isnull=False)),
        "n_defaulted": Count("pk", filter=acted_on & Q(_loan_defaulted("decision__application"))),
    }


def override_report(*, viewer: Any) -> OverrideReport:
    """Override analysis over all primary decisions; the group breakdown only for compliance roles.

    Overrides concentrated on one protected group can be disparate treatment (ECOA), so compliance
    compares override rates and directions across groups. Only model decisions count (historical ones
    loaded from data sets were never the officers' to override). An officer's decisions are those of
    the applications they submitted; the overrides are those they made. Rates count overrides acted on
    (approved); those waiting for or refused by a second officer are counted beside them. A direction's rate
    is over the decisions the model made with its first outcome; a reason's over the decisions whose first
    principal reason it is. Realised outcomes exist only for funded loans.
    """
    primary = Decision.objects.filter(is_shadow=False, model_version__isnull=False)
    overrides = Override.objects.filter(decision__in=primary)
    decisions_by_officer = dict(
        primary.filter(application__submitted_by__isnull=False)
        .values_list("application__submitted_by__username")
        .annotate(count=Count("pk"))
    )
    by_officer = [
        OverrideTally(label=row["username"], decisions=decisions_by_officer.get(row["username"], 0), **_tally(row))
        for row in overrides.values(username=F("overridden_by__username"))
        .annotate(**_override_counts())
        .order_by("-n_overrides", "-n_pending", "username")
    ]
    decisions_by_outcome = dict(primary.values_list("outcome").annotate(count=Count("pk")))
    by_direction = [
        DirectionTally(
            outcome_before=row["outcome_before"],
            outcome_after=row["outcome_after"],
            decisions=decisions_by_outcome.get(row["outcome_before"], 0),
            **_tally(row, favourable=False),
        )
        for row in overrides.values("outcome_before", "outcome_after")
        .annotate(**_override_counts())
        .order_by("-n_overrides", "outcome_before", "outcome_after")
    ]
    totals = overrides.aggregate(
        acted_on=Count("pk", filter=Q(status=ACTED_ON)),
        pending=Count("pk", filter=Q(status=Override.Status.PENDING)),
        rejected=Count("pk", filter=Q(status=Override.Status.REJECTED)),
    )
    return OverrideReport(
        decisions=primary.count(),
        overrides=totals["acted_on"],
        pending=totals["pending"],
        rejected=totals["rejected"],
        by_officer=by_officer,
        by_direction=by_direction,
        by_reason=_reason_tallies(primary),
        by_group=_overrides_by_group(primary) if can_read_protected_attributes(viewer) else None,
        model_approvals=_model_approvals(primary),
    )


def _tally(row: dict[str, Any], *, favourable: bool = True) -> dict[str, int]:
    """The counts of an aggregated row (named `n_…`, so that `n_overrides` never hides the `overrides` relation)."""
    names = ("overrides", "pending", "rejected", "funded", "defaulted", *(("favourable",) if favourable else ()))
    return {name: row[f"n_{name}"] for name in names}


NO_REASON = "none (no adverse reason: the model approved)"


def _reason_tallies(primary: QuerySet[Decision]) -> list[OverrideTally]:
    """By the decision's first principal reason (its code, labelled with its plain-language text)."""
    texts = dict(
        primary.annotate(code=KT("reasons__0__code"), text=KT("reasons__0__text"))
        .filter(code__isnull=False)
        .values_list("code", "text")
        .distinct()
    )
    return [
        replace(tally, label=f"{tally.label} {texts[tally.label]}") if texts.get(tally.label) else tally
        for tally in _decision_tallies(primary, KT("reasons__0__code"), blank=NO_REASON)
    ]


def _decision_tallies(primary: QuerySet[Decision], group: Any, *, blank: str | None) -> list[OverrideTally]:
    """Primary decisions grouped by `group`: how many, how many were overridden (acted on, pending, rejected),
    favourably, and how the overridden ones' loans went. Counts are of decisions, so a decision with a rejected
    and then an approved override counts once in each. A blank group is labelled `blank`, or left out if None.
    """
    acted_on = Q(overrides__status=ACTED_ON)
    rows = (
        primary.values(group=group)
        .annotate(
            n_decisions=Count("pk", distinct=True),
            n_overrides=Count("pk", distinct=True, filter=acted_on),
            n_favourable=Count("pk", distinct=True, filter=acted_on & _prefixed(FAVOURABLE, "overrides__")),
            n_pending=Count("pk", distinct=True, filter=Q(overrides__status=Override.Status.PENDING)),
            n_rejected=Count("pk", distinct=True, filter=Q(overrides__status=Override.Status.REJECTED)),
            n_funded=Count("pk", distinct=True, filter=acted_on & Q(application__loan__isnull=False)),
            n_defaulted=Count("pk", distinct=True, filter=acted_on & Q(_loan_defaulted("application"))),
        )
        .order_by("-n_decisions", "group")
    )
    return [
        OverrideTally(label=row["group"] or blank, decisions=row["n_decisions"], **_tally(row))
        for row in rows
        if row["group"] or blank is not None
    ]


def _overrides_by_group(primary: QuerySet[Decision]) -> dict[str, list[OverrideTally]]:
    """Per protected attribute and group: decisions, decisions overridden, favourably, and their loans' outcomes."""
    report: dict[str, list[OverrideTally]] = {}
    for attribute in GROUP_ATTRIBUTES:
        tallies = _decision_tallies(
            primary, F(f"application__applicant__protected_attributes__{attribute}"), blank=None
        )
        tallies.sort(key=lambda tally: tally.label)
        if tallies:
            report[attribute] = tallies
    return report


def _model_approvals(primary: QuerySet[Decision]) -> OverrideTally:
    """The baseline for overridden loans' outcomes: model approvals acted on as approved, funded, defaulted."""
    kept = primary.filter(outcome=Decision.Outcome.APPROVE).exclude(overrides__status=ACTED_ON)
    counts = kept.aggregate(
        decisions=Count("pk"),
        funded=Count("pk", filter=Q(application__loan__isnull=False)),
        defaulted=Count("pk", filter=Q(_loan_defaulted("application"))),
    )
    return OverrideTally(label="Model approvals, not overridden", overrides=0, favourable=0, **counts)


def overrides_pending() -> QuerySet[Override]:
    """Overrides waiting for a second officer, oldest first: the officers' approval queue."""
    return (
        Override.objects.pending()
        .select_related("decision__application__applicant", "decision__model_version", "overridden_by")
        .order_by("created_at", "pk")
    )


def application_pending_override(*, application: LoanApplication) -> Override | None:
    """The override of the application's primary decision that waits for a second officer, if any."""
    return (
        Override.objects.pending()
        .filter(decision__application=application, decision__is_shadow=False)
        .select_related("decision", "overridden_by")
        .first()
    )


def officer_overrides(*, officer: Any) -> QuerySet[Override]:
    """An officer's own overrides, newest first, each with its loan (if funded) and whether it has defaulted."""
    return (
        Override.objects.filter(overridden_by=officer)
        .select_related("decision__application__applicant", "approved_by", "rejected_by")
        .annotate(loan_id=F("decision__application__loan__id"), defaulted=_loan_defaulted("decision__application"))
        .order_by("-created_at", "-pk")
    )


def officer_override_record(*, officer: Any) -> OverrideTally:
    """An officer's override record in figures, as the compliance report counts it: the model decisions of the
    applications they submitted, their overrides acted on, favourable, pending, rejected, funded and defaulted."""
    counts = _tally(Override.objects.filter(overridden_by=officer).aggregate(**_override_counts()))
    decisions = Decision.objects.filter(
        is_shadow=False, model_version__isnull=False, application__submitted_by=officer
    ).count()
    return OverrideTally(label=officer.get_username(), decisions=decisions, **counts)


def berka_transaction_frame() -> pd.DataFrame:
    """Every imported Berka transaction with its signed amount, in trans_id order (the tie-break for a day)."""
    rows = BerkaTransaction.objects.order_by("trans_id").values_list(
        "account_id", "booked_on", "type", "amount", "balance"
    )
    frame = pd.DataFrame.from_records(
        rows.iterator(chunk_size=20_000), columns=["account_id", "date", "type", "amount", "balance"]
    )
    frame["date"] = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
    frame["amount"] = frame["amount"].astype(float) * frame["type"].map(SIGNS)
    frame["balance"] = frame["balance"].astype(float)
    return frame


def berka_loan_frame(account_ids: list[int]) -> pd.DataFrame:
    """The Berka loans of these accounts, each with whether it defaulted (statuses B and D)."""
    loans = pd.DataFrame.from_records(
        BerkaLoan.objects.filter(account_id__in=account_ids).values_list("account_id", "status"),
        columns=["account_id", "status"],
    )
    loans["defaulted"] = loans["status"].isin(BerkaLoan.DEFAULTED_STATUSES)
    return loans[["account_id", "defaulted"]]


# Named in the CLUSTERING_DATASETS setting: what clustering reads when an experiment's data set is "berka".
BERKA_CLUSTERING_DATASET = ClusteringDataset(
    transactions=berka_transaction_frame,
    loans=berka_loan_frame,
    load_hint="run `manage.py import_berka --path DIR`",
)

AGE_REFERENCE_DATE = np.datetime64("1999-01-01")  # the end of the Berka data


def segment_owner_protected_attributes(*, run: ClusteringRun, reader: Any) -> pd.DataFrame:
    """Each assigned account's segment with its owner's sex and age band (at the end of the data).

    Protected attributes (Regulation B): compliance officers only, to check whether segments follow them.
    """
    ensure_role(reader, *COMPLIANCE_ROLES)
    assignments = pd.DataFrame.from_records(
        run.assignments.values_list("account_reference", "segment"), columns=["account_id", "segment"]
    )
    assignments["account_id"] = pd.to_numeric(assignments["account_id"], errors="coerce")
    owners = pd.DataFrame.from_records(
        BerkaDisposition.objects.filter(type="OWNER", client__protected_attributes__isnull=False).values_list(
            "account_id", "client__protected_attributes__sex", "client__protected_attributes__birth_date"
        ),
        columns=["account_id", "sex", "birth_date"],
    )
    table = assignments.merge(owners, on="account_id", how="inner")
    years = (AGE_REFERENCE_DATE - pd.to_datetime(table["birth_date"]).to_numpy().astype("datetime64[D]")).astype(
        "timedelta64[D]"
    ).astype(np.int64) / 365.25
    table["age_band"] = np.where(years < 25, "under 25", np.where(years < 60, "25 to 59", "60 and over"))
    return table[["account_id", "segment", "sex", "age_band"]]


@dataclass(frozen=True)
class DatasetRow:
    """One data set as the data-set page lists it: its schema and what has been imported under it."""

    schema: DatasetSchema
    applications: int
    recorded: bool


def dataset_overview() -> list[DatasetRow]:
    """Every data set FinAI knows, with its imported applications (one query for all counts)."""
    schemas = dataset_schemas_known()
    counts = dict(
        LoanApplication.objects.filter(applicant__source__in=[schema.name for schema in schemas])
        .values_list("applicant__source")
        .annotate(total=Count("pk"))
        .values_list("applicant__source", "total")
    )
    recorded = set(DatasetSchemaRecord.objects.values_list("name", flat=True))
    return [DatasetRow(schema, counts.get(schema.name, 0), schema.name in recorded) for schema in schemas]
