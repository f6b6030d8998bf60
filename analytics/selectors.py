"""Reads of the model registry for the model-management pages (fairness readers: `analytics.fairness_reports`).

A version's metrics, fairness and explanations are JSON written by training (and, later, by the
fair-lending engine), so every reader here takes what is present and tolerates what is not: a page
must show an older or a failed version without error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from analytics.models import ModelVersion, PromotionRequest
from analytics.services.dataset_schemas import dataset_schemas_known

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
