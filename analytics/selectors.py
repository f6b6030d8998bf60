"""Reads of the model registry for the model-management pages (fairness readers: `analytics.fairness_reports`).

A version's metrics, fairness and explanations are JSON written by training (and, later, by the
fair-lending engine), so every reader here takes what is present and tolerates what is not: a page
must show an older or a failed version without error.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from analytics.engine.training import HOLDOUT_FRACTION
from analytics.models import LINEAGE_PARAM, ModelVersion, PromotionRequest
from analytics.services.dataset_schemas import dataset_schemas_known
from finai.errors import ApplicationError

HEADLINE_METRICS = (
    ("auc", "AUC"),
    ("gini", "Gini"),
    ("ks", "KS"),
    ("brier", "Brier score"),
    ("log_loss", "Log loss"),
    ("default_rate", "Default rate"),
    ("count", "Holdout rows"),
)
# A screening model is judged by how many suspicious accounts the top of its queue holds.
SCREENING_METRICS = (
    ("pr_auc", "PR-AUC"),
    ("recall_at_1pct", "Recall at a 1% alert rate"),
    ("recall_at_5pct", "Recall at a 5% alert rate"),
    ("auc", "ROC AUC"),
    ("positives", "Suspicious accounts held out"),
    ("negatives", "Ordinary accounts held out"),
    ("alert_threshold", "Alert threshold (score)"),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def model_version_list(*, product: str | None = None) -> QuerySet[ModelVersion]:
    versions = ModelVersion.objects.select_related("snapshot", "trained_by").order_by("-created_at", "-pk")
    return versions.filter(product=product) if product else versions


def promotion_requests_pending() -> QuerySet[PromotionRequest]:
    return (
        PromotionRequest.objects.filter(status=PromotionRequest.Status.PENDING)
        .select_related("version", "requested_by")
        .order_by("requested_at")
    )


def training_datasets() -> list[tuple[str, str]]:
    """(name, description) of the data sets a model can learn from: schemas of repayment outcomes."""
    return [
        (schema.name, schema.description or schema.name)
        for schema in dataset_schemas_known()
        if schema.kind == "outcomes"
    ]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    value: float | None


def headline_metrics(version: ModelVersion) -> list[Metric]:
    metrics = version.metrics or {}
    shown = HEADLINE_METRICS if version.decides_credit else SCREENING_METRICS
    return [Metric(key, label, _number(metrics.get(key))) for key, label in shown]


def roc_points(version: ModelVersion) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) pairs from metrics["roc"], in either recorded shape.

    Accepted: {"fpr": [...], "tpr": [...]}, or a list of [fpr, tpr] pairs or {"fpr", "tpr"} objects.
    """
    roc = (version.metrics or {}).get("roc")
    pairs: list[Any] = []
    if isinstance(roc, dict):
        pairs = list(zip(roc.get("fpr") or [], roc.get("tpr") or [], strict=False))
    elif isinstance(roc, list):
        pairs = [(p.get("fpr"), p.get("tpr")) if isinstance(p, dict) else tuple(p)[:2] for p in roc]
    points = [(_number(x), _number(y)) for x, y in pairs]
    return sorted((x, y) for x, y in points if x is not None and y is not None)


def roc_from_calibration(version: ModelVersion) -> list[tuple[float, float]]:
    """The ROC curve at the calibration table's score-band cut-offs, for versions that recorded no curve.

    Each band holds `count` rows of which `observed_default_rate` defaulted; declining the riskiest
    bands first, the cumulative shares of defaulters and of payers declined are the true and false
    positive rates at each cut-off. Exact at those cut-offs; the area under it counts rows within a
    band as ties.
    """
    bands = []
    for band in (version.metrics or {}).get("calibration") or []:
        if not isinstance(band, dict):
            continue
        count, rate, risk = band.get("count"), _number(band.get("observed_default_rate")), band.get("band")
        predicted = _number(band.get("mean_probability_of_default"))
        if isinstance(count, int) and count > 0 and rate is not None and predicted is not None:
            defaults = round(count * rate)
            bands.append((predicted, risk, defaults, count - defaults))
    defaults_total = sum(b[2] for b in bands)
    payers_total = sum(b[3] for b in bands)
    if not defaults_total or not payers_total:
        return []
    points, defaults_seen, payers_seen = [(0.0, 0.0)], 0, 0
    for _, _, defaults, payers in sorted(bands, key=lambda b: -b[0]):
        defaults_seen, payers_seen = defaults_seen + defaults, payers_seen + payers
        points.append((payers_seen / payers_total, defaults_seen / defaults_total))
    return points


def calibration_points(version: ModelVersion) -> list[tuple[float, float]]:
    """(mean predicted, observed default rate) per score band from metrics["calibration"]."""
    points = []
    for band in (version.metrics or {}).get("calibration") or []:
        if not isinstance(band, dict):
            continue
        predicted = _number(band.get("mean_probability_of_default"))
        observed = _number(band.get("observed_default_rate"))
        if predicted is not None and observed is not None:
            points.append((predicted, observed))
    return sorted(points)


def feature_importance(version: ModelVersion, *, limit: int | None = None) -> list[tuple[str, float]]:
    """(feature, share of attribution) from version.explanations["feature_importance"], largest first."""
    raw = (version.explanations or {}).get("feature_importance") or {}
    shares = [(str(name), share) for name, value in raw.items() if (share := _number(value)) is not None]
    shares.sort(key=lambda item: -item[1])
    return shares[:limit] if limit else shares


# Below this many rows held out by both versions, a re-scored comparison would mislead more than inform.
MIN_COMMON_HOLDOUT_ROWS = 30
COMMON_HOLDOUT_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class HoldoutComparison:
    """Whether two versions' figures can be read side by side: measured on the same applications or not.

    `common` is True when both columns hold figures from one set of rows: either both versions held out
    the same rows (same snapshot, seed and fraction: their recorded figures are used) or both were
    re-scored on the rows that both held out (`measured` holds the two evaluations). Otherwise `reason`
    says plainly why the recorded figures are not comparable.
    """

    common: bool
    reason: str
    rows: int | None = None
    measured: tuple[dict[str, Any], dict[str, Any]] | None = None

    @property
    def rescored(self) -> bool:
        return self.measured is not None


def _holdout_key(version: ModelVersion) -> tuple[float, int]:
    return float((version.metrics or {}).get("holdout_fraction") or HOLDOUT_FRACTION), version.seed


def _snapshot_difference(a: ModelVersion, b: ModelVersion) -> str:
    """Why two versions' snapshots hold different rows, or "" when they hold the same."""
    for version in (a, b):
        if version.snapshot_id is None:
            return f"v{version.pk} records no data snapshot, so its holdout cannot be rebuilt"
    if a.snapshot.dataset != b.snapshot.dataset:
        return f"they were trained on different data sets ({a.snapshot.dataset} and {b.snapshot.dataset})"
    if a.snapshot.content_hash != b.snapshot.content_hash:
        return (
            f"they were trained on different snapshots of {a.snapshot.dataset} "
            f"({a.snapshot.content_hash[:12]} and {b.snapshot.content_hash[:12]}), so their holdouts are "
            "different applications"
        )
    return ""


def _rescored_on(version: ModelVersion, rows: Any) -> dict[str, Any]:
    """The version's evaluation (metrics and fairness summary, as training records them) on `rows` of its
    snapshot."""
    from analytics.engine.evaluation import model_evaluate
    from analytics.fairness_reports.services import version_model
    from analytics.services.training_jobs import snapshot_training_data

    data = snapshot_training_data(snapshot=version.snapshot, alternative_data=tuple(version.alternative_data))
    evaluation = model_evaluate(model=version_model(version), holdout=data.take(rows), policy=version.policy)
    return {"metrics": dict(evaluation["metrics"]), "fairness": dict(evaluation["fairness"])}


def _common_holdout_rescore(a: ModelVersion, b: ModelVersion) -> HoldoutComparison:
    from analytics.services.training_jobs import snapshot_training_data

    (fraction_a, seed_a), (fraction_b, seed_b) = _holdout_key(a), _holdout_key(b)
    splits = f"v{a.pk} held out {fraction_a:.0%} with seed {seed_a}, v{b.pk} {fraction_b:.0%} with seed {seed_b}"
    data = snapshot_training_data(snapshot=a.snapshot)
    rows = np.intersect1d(
        data.holdout_rows(holdout_fraction=fraction_a, seed=seed_a),
        data.holdout_rows(holdout_fraction=fraction_b, seed=seed_b),
    )
    outcomes = set(data.target[rows].tolist())
    if len(rows) < MIN_COMMON_HOLDOUT_ROWS or outcomes != {0, 1}:
        return HoldoutComparison(
            False,
            f"{splits}: only {len(rows)} applications were held out by both, too few to compare them on",
            len(rows),
        )
    return HoldoutComparison(
        True,
        f"{splits}, so each column re-scores the {len(rows)} applications that both held out (neither "
        "learnt from them); the figures on each version's own page are on its own holdout and differ",
        len(rows),
        (_rescored_on(a, rows), _rescored_on(b, rows)),
    )


def holdout_comparison(a: ModelVersion, b: ModelVersion) -> HoldoutComparison:
    """Can `a` and `b` be compared on the same applications, and on which.

    A version's holdout is fixed by its snapshot, its seed and its holdout fraction. The same three: the
    recorded figures are comparable. The same snapshot split otherwise: both are re-scored on the rows
    that both held out (cached per pair of artifacts). Different snapshots or data sets: no common rows
    are known, and the reason is given instead.
    """
    if a.pk == b.pk:
        return HoldoutComparison(True, "the same version on both sides", (a.metrics or {}).get("count"))
    if a.product != b.product:
        return HoldoutComparison(False, f"they serve different products ({a.product} and {b.product})")
    if difference := _snapshot_difference(a, b):
        return HoldoutComparison(False, difference)
    if _holdout_key(a) == _holdout_key(b):
        fraction, seed = _holdout_key(a)
        return HoldoutComparison(
            True,
            f"both held out the same {fraction:.0%} of snapshot {a.snapshot.content_hash[:12]} (seed {seed})",
            (a.metrics or {}).get("count"),
        )
    seeds = f"v{a.pk} used seed {a.seed} and v{b.pk} seed {b.seed}, so they held out different rows"
    if not (a.decides_credit and a.artifact_path and b.artifact_path):
        return HoldoutComparison(False, seeds)
    key = f"holdout-comparison:{a.pk}:{a.artifact_sha256}:{b.pk}:{b.artifact_sha256}"
    comparison = cache.get(key)
    if comparison is None:
        try:
            comparison = _common_holdout_rescore(a, b)
        except ApplicationError as error:
            return HoldoutComparison(False, f"{seeds}, and they could not be re-scored on common rows: {error}")
        cache.set(key, comparison, COMMON_HOLDOUT_CACHE_SECONDS)
    return comparison


def as_measured(version: ModelVersion, evaluation: dict[str, Any]) -> ModelVersion:
    """An unsaved copy of `version` carrying another evaluation's metrics and fairness summary, so the same
    readers (headline metrics, ROC, calibration, fairness) show figures measured on other rows."""
    measured = copy.copy(version)
    measured.metrics = {**(version.metrics or {}), **evaluation["metrics"]}
    measured.fairness = evaluation["fairness"]
    return measured


def promotion_requests_for(version: ModelVersion) -> QuerySet[PromotionRequest]:
    return version.promotion_requests.select_related("requested_by", "decided_by").order_by("-requested_at")


def champion_of(product: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.filter(product=product, status=ModelVersion.Status.CHAMPION)
        .select_related("previous_champion")
        .first()
    )


@dataclass(frozen=True)
class AlternativeDataGroupEffect:
    attribute: str
    group: str
    applicants: int
    small_group: bool
    ratio_with: float | None
    ratio_without: float | None

    @property
    def change(self) -> float | None:
        if self.ratio_with is None or self.ratio_without is None:
            return None
        return self.ratio_with - self.ratio_without


_RATIO = "adverse_impact_ratio_vs_most_favoured"


def alternative_data_effect(version: ModelVersion) -> dict[str, Any] | None:
    """The recorded with/without comparison of a version's alternative-data features, for its page.

    Ratios are read by name: a comparison recorded against another reference shows none rather than
    the wrong ones.
    """
    effect = (version.fairness or {}).get("alternative_data_effect")
    if not effect:
        return None
    with_groups, without_groups = effect["with"]["groups"], effect["without"]["groups"]
    rows = [
        AlternativeDataGroupEffect(
            attribute=attribute,
            group=group,
            applicants=outcome["applicants"],
            small_group=outcome["small_group"],
            ratio_with=outcome.get(_RATIO),
            ratio_without=without_groups.get(attribute, {}).get(group, {}).get(_RATIO),
        )
        for attribute, groups in sorted(with_groups.items())
        for group, outcome in sorted(groups.items())
    ]
    distinct = effect.get("distinct_values", {})
    return {
        "features": effect["features"],
        "constant": [name for name in effect["features"] if distinct.get(name, 2) < 2],
        "auc_with": effect["with"]["auc"],
        "auc_without": effect["without"]["auc"],
        "lowest_with": effect["with"]["lowest_adverse_impact_ratio"],
        "lowest_without": effect["without"]["lowest_adverse_impact_ratio"],
        "rows": rows,
    }


# A version trained by a search for less discriminatory alternatives (it records its lineage) that has not been
# promoted: each search registers several, which would otherwise fill the version list.
SEARCH_ALTERNATIVE = Q(params__has_key=LINEAGE_PARAM) & ~Q(
    status__in=(ModelVersion.Status.CHAMPION, ModelVersion.Status.CHALLENGER)
)


def model_version_search(
    *, product: str = "", status: str = "", family: str = "", include_alternatives: bool = False
) -> QuerySet[ModelVersion]:
    """Versions, newest first, of a product, status and family; unpromoted search alternatives only when asked
    for (their search's page lists them)."""
    versions = model_version_list(product=product or None)
    if status:
        versions = versions.filter(status=status)
    if family:
        versions = versions.filter(family=family)
    return versions if include_alternatives else versions.exclude(SEARCH_ALTERNATIVE)


def model_version_counts(field: str) -> list[tuple[str, int]]:
    """Each value of `product`, `status` or `family` with its number of versions, for the list's filters."""
    rows = ModelVersion.objects.order_by(field).values(field).annotate(count=Count("pk"))
    return [(row[field], row["count"]) for row in rows]
