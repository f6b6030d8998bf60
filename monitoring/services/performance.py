"""Performance from repayment outcomes: vintages, realised figures for mature cohorts, label-free estimates
for the rest, and the alerts they raise.

A cohort is a month of a version's primary decisions that were funded. It is mature once the default
horizon has passed for all of it (the data set's default definition, e.g. 90+ days past due within 12
months); only then are its realised AUC, KS, Brier and calibration by band meaningful, each with a bootstrap
interval (the engine's `realised_performance`). Before that the expected default rate and AUC come from
the model's own probabilities (`estimated_performance`, CBPE-style), which is right only as far as the
model is calibrated: the check against the training holdout is shown beside it, and the estimate's own
error is kept on cohorts that have since matured.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import F, Min, Q

from analytics.engine.dataset_schema import DefaultDefinition
from analytics.engine.performance import calibration_check_of_bands, estimated_performance, realised_performance
from analytics.engine.vintages import vintage_curves
from analytics.models import ModelVersion
from finai.errors import ApplicationError
from lending.models import Loan, RepaymentOutcome
from monitoring.models import Alert, CohortPerformance
from monitoring.services.alerts import AlertBreach, alert_breach_record


@dataclass(frozen=True)
class PerformanceDefinition:
    """What a default is for a version's figures: days past due, and the horizon in months from the decision."""

    days_past_due: int
    horizon_months: int
    text: str

    @classmethod
    def for_version(cls, version: ModelVersion) -> PerformanceDefinition:
        """The version's data set's definition; a horizon of 'the loan's term' (none) becomes
        MONITORING_DEFAULT_HORIZON_MONTHS, since a cohort must mature at one date to be judged."""
        definition = version.snapshot.dataset_schema.default_definition if version.snapshot_id else DefaultDefinition()
        horizon = definition.horizon_months or settings.MONITORING_DEFAULT_HORIZON_MONTHS
        return cls(days_past_due=definition.days_past_due, horizon_months=horizon, text=definition.describe())

    def as_dict(self) -> dict[str, Any]:
        return {"days_past_due": self.days_past_due, "horizon_months": self.horizon_months, "text": self.text}


def _months_between(earlier: pd.Series, later: pd.Series) -> pd.Series:
    return (later.dt.year - earlier.dt.year) * 12 + (later.dt.month - earlier.dt.month)


def version_loans(*, version: ModelVersion, definition: PerformanceDefinition, as_of: dt.date) -> pd.DataFrame:
    """One row per funded loan the version decided: the decision date, its PD and the first date on which the
    loan met the default definition (status defaulted, or the days past due reached), known by `as_of`."""
    met = Q(outcomes__as_of__lte=as_of) & (
        Q(outcomes__status=RepaymentOutcome.Status.DEFAULTED) | Q(outcomes__days_past_due__gte=definition.days_past_due)
    )
    rows = (
        Loan.objects.filter(
            application__decisions__model_version=version,
            application__decisions__is_shadow=False,
            application__decisions__decided_at__date__lte=as_of,
        )
        .exclude(status=Loan.Status.WITHDRAWN)  # never drawn: neither repaid nor defaulted
        .annotate(
            decided_at=F("application__decisions__decided_at"),
            probability_of_default=F("application__decisions__probability_of_default"),
            defaulted_on=Min("outcomes__as_of", filter=met),
        )
        .values_list("pk", "decided_at", "probability_of_default", "defaulted_on")
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["loan", "decided_at", "probability_of_default", "defaulted_on"]
    )
    frame["funded_on"] = pd.to_datetime(frame["decided_at"], utc=True).dt.tz_convert(None).dt.normalize()
    frame["defaulted_on"] = pd.to_datetime(frame["defaulted_on"])
    within = _months_between(frame["funded_on"], frame["defaulted_on"]) <= definition.horizon_months
    frame["defaulted"] = (frame["defaulted_on"].notna() & within).astype(np.int64)
    return frame.dropna(subset=["probability_of_default"])


def _training_score_edges(version: ModelVersion) -> list[float]:
    """The deciles of the version's training scores (its drift reference), inside (0, 1)."""
    edges = ((version.drift_reference or {}).get("score") or {}).get("edges") or []
    return [float(edge) for edge in edges if 0 < edge < 1]


def loans_matured(*, loans: pd.DataFrame, definition: PerformanceDefinition, as_of: dt.date) -> pd.DataFrame:
    """The loans (of `version_loans`) whose default horizon has passed by `as_of`: the vintage rule, calendar
    months ended after the loan's month."""
    ended = (as_of.year * 12 + as_of.month) - (loans["funded_on"].dt.year * 12 + loans["funded_on"].dt.month) - 1
    return loans[ended >= definition.horizon_months]


def _score_band(edges: list[float], probabilities: pd.Series) -> pd.Series:
    """Five bands of the PD fixed at training (every other training decile), so a band means the same thing in
    every cohort's vintage curves."""
    cuts = np.asarray(edges[1::2], dtype=np.float64)
    return pd.Series(np.searchsorted(cuts, probabilities.to_numpy(), side="left") + 1, index=probabilities.index)


def _holdout_calibration(version: ModelVersion) -> dict[str, Any] | None:
    """Hosmer-Lemeshow on the version's stored holdout calibration table: the check the estimate depends on."""
    table = (version.metrics or {}).get("calibration") or []
    try:
        return calibration_check_of_bands(
            rows=[band["count"] for band in table],
            defaults=[band["observed_default_rate"] * band["count"] for band in table],
            expected_defaults=[band["mean_probability_of_default"] * band["count"] for band in table],
        ).as_dict()
    except (ApplicationError, KeyError):
        return None


def _engine_or_reason(compute: Any) -> dict[str, Any]:
    try:
        return compute().as_dict()
    except ApplicationError as error:
        return {"unavailable": error.message, "details": error.details}


def version_performance_measure(*, version: ModelVersion, as_of: dt.date) -> list[CohortPerformance]:
    """Vintages, realised and estimated performance of each of the version's cohorts, stored (replacing the
    previous figures of the cohort)."""
    definition = PerformanceDefinition.for_version(version)
    loans = version_loans(version=version, definition=definition, as_of=as_of)
    if loans.empty:
        return []
    edges = _training_score_edges(version)
    loans["band"] = _score_band(edges, loans["probability_of_default"])
    curves = {
        (curve.cohort, curve.group): curve
        for curve in vintage_curves(loans=loans, as_of=as_of, max_months_on_book=definition.horizon_months)
        + vintage_curves(loans=loans, as_of=as_of, max_months_on_book=definition.horizon_months, group_by="band")
    }
    holdout = _holdout_calibration(version)
    loans["cohort"] = loans["funded_on"].dt.strftime("%Y-%m")
    measured = []
    for cohort, rows in loans.groupby("cohort", sort=True):
        overall = curves[(cohort, None)]
        mature = overall.is_mature(definition.horizon_months)
        probabilities = rows["probability_of_default"].to_numpy()
        realised: dict[str, Any] = {}
        if mature:
            realised = _engine_or_reason(
                lambda probabilities=probabilities, rows=rows: realised_performance(
                    probabilities=probabilities,
                    defaulted=rows["defaulted"].to_numpy(),
                    bands=edges or 10,  # the training deciles: band k is the same PDs in every cohort
                    bootstrap_samples=settings.MONITORING_BOOTSTRAP_SAMPLES,
                )
            )
        estimated = _engine_or_reason(
            lambda probabilities=probabilities: estimated_performance(probabilities=probabilities)
        )
        estimated["holdout_calibration"] = holdout
        bands = {
            group: curve.as_dict()["points"] for (name, group), curve in curves.items() if name == cohort and group
        }
        performance, _ = CohortPerformance.objects.update_or_create(
            model_version=version,
            cohort=dt.date.fromisoformat(f"{cohort}-01"),
            defaults={
                "as_of": as_of,
                "loans": len(rows),
                "months_observed": overall.months_observed,
                "mature": mature,
                "default_definition": definition.as_dict(),
                "realised": realised,
                "estimated": estimated,
                "vintage": {"all": overall.as_dict()["points"], "bands": bands},
            },
        )
        measured.append(performance)
    return measured


def performance_breaches(performance: CohortPerformance) -> list[AlertBreach]:
    """A mature cohort's realised AUC (or an immature one's estimate) below the version's holdout AUC by more than
    the promotion margin; a calibration band failing its binomial test. Cohorts under
    MONITORING_MIN_COHORT_LOANS judge nothing."""
    if performance.loans < settings.MONITORING_MIN_COHORT_LOANS:
        return []
    version = performance.model_version
    where = f"{version.product} v{version.pk}"
    cohort = f"{performance.cohort:%Y-%m}"
    trained = (version.metrics or {}).get("auc")
    margin = settings.PROMOTION_AUC_MARGIN
    measured = {
        "cohort": cohort,
        "performance_id": performance.pk,
        "default_definition": performance.default_definition,
    }
    breaches = []
    realised_auc = ((performance.realised or {}).get("auc") or {}).get("value")
    figure, kind = (
        (realised_auc, "realised")
        if performance.mature
        else (
            (performance.estimated or {}).get("expected_auc"),
            "estimated",
        )
    )
    if trained is not None and figure is not None and figure < trained - margin:
        breaches.append(
            AlertBreach(
                rule=Alert.Rule.AUC_DROP,
                subject=f"{where} AUC",
                severity=Alert.Severity.CRITICAL if kind == "realised" else Alert.Severity.WARNING,
                summary=f"{kind.capitalize()} AUC {figure:.3f} for the {cohort} cohort against {trained:.3f} on the "
                f"training holdout (margin {margin:g})",
                measurement={**measured, "auc": figure, "kind": kind, "holdout_auc": trained},
                model_version=version,
            )
        )
    for band in (performance.realised or {}).get("bands") or []:
        if band.get("flagged"):
            breaches.append(
                AlertBreach(
                    rule=Alert.Rule.CALIBRATION_BAND,
                    subject=f"{where} calibration band {band['band']}",
                    severity=Alert.Severity.WARNING,
                    summary=f"Band {band['band']} of the {cohort} cohort: {band['observed_default_rate']:.1%} "
                    f"defaulted against {band['mean_probability_of_default']:.1%} predicted "
                    f"(p = {band['p_value']:.2g})",
                    measurement={**measured, **band},
                    model_version=version,
                )
            )
    return breaches


def performance_run(*, as_of: dt.date) -> tuple[list[CohortPerformance], list[Alert]]:
    """Measure every champion's cohorts and raise what breaches."""
    measured, alerts = [], []
    for version in ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).select_related("snapshot"):
        for performance in version_performance_measure(version=version, as_of=as_of):
            measured.append(performance)
            alerts += [alert_breach_record(breach=breach) for breach in performance_breaches(performance)]
    return measured, alerts
