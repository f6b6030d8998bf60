"""Reads of stored fair-lending reports and alternative searches, shaped for pages, CSV, PDF and commands.

A report's `results` is the engine's JSON (`FairnessAudit.to_dict()`); every reader here takes what is
present and tolerates what is not, so an older or partial report still shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from analytics.engine.fairness import Estimate, GroupRatio, lowest_adverse_impact_ratio, report_group_ratios
from analytics.models import FairnessReport, LdaSearch, ModelVersion

MISSING = "\N{EN DASH}"
# CSV columns, one row per group and metric.
CSV_COLUMNS = ("attribute", "group", "applicants", "small_group", "metric", "value", "ci_low", "ci_high")
GROUP_METRICS = (
    ("approval_rate", ("approval_rate",)),
    ("adverse_impact_ratio", ("adverse_impact_ratio",)),
    ("adverse_impact_ratio_vs_most_favoured", ("adverse_impact_ratio_vs_most_favoured",)),
    ("statistical_parity_difference", ("statistical_parity_difference",)),
    ("standardized_mean_difference", ("scores", "standardized_mean_difference")),
    ("true_positive_rate", ("outcomes", "true_positive_rate")),
    ("false_positive_rate", ("outcomes", "false_positive_rate")),
    ("equal_opportunity_difference", ("outcomes", "equal_opportunity_difference")),
    ("average_odds_difference", ("outcomes", "average_odds_difference")),
    ("calibration_difference", ("calibration", "difference")),
)
ADJUSTED_METRICS = (
    ("denial_rate_difference_raw", "raw_difference"),
    ("denial_rate_difference_adjusted", "adjusted_difference"),
    ("adjusted_odds_ratio_of_denial", "adjusted_odds_ratio"),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Figure:
    """A stored estimate: value and interval (None where undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    @classmethod
    def read(cls, raw: Any) -> Figure:
        if not isinstance(raw, dict):
            return cls(_number(raw))
        interval = raw.get("ci") if isinstance(raw.get("ci"), list | tuple) and len(raw["ci"]) == 2 else (None, None)
        low, high = interval
        return cls(_number(raw.get("value")), _number(low), _number(high))

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    def as_text(self, digits: int = 3) -> str:
        """The value and its interval, as "0.812 [0.701, 0.930]"; an en dash where undefined."""
        if self.value is None:
            return MISSING
        if not self.has_interval:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def as_percent(self) -> str:
        if self.value is None:
            return MISSING
        if not self.has_interval:
            return f"{self.value:.1%}"
        return f"{self.value:.1%} [{self.low:.1%}, {self.high:.1%}]"


def _dig(raw: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(raw, dict):
            return None
        raw = raw.get(key)
    return raw


@dataclass(frozen=True)
class GroupRow:
    label: str
    applicants: int
    approved: int
    small: bool
    is_reference: bool
    is_most_favoured: bool
    approval_rate: Figure
    adverse_impact_ratio: Figure
    below_threshold: bool
    adverse_impact_ratio_vs_most_favoured: Figure
    statistical_parity_difference: Figure
    test: str
    p_value: float | None
    standardized_mean_difference: Figure | None
    smd_flag: bool
    true_positive_rate: Figure | None
    false_positive_rate: Figure | None
    equal_opportunity_difference: Figure | None
    average_odds_difference: Figure | None
    calibration: list[tuple[float, float]]
    calibration_difference: Figure | None


@dataclass(frozen=True)
class AttributeSection:
    name: str
    is_intersection: bool
    reference_group: str
    most_favoured_group: str
    rows_not_known: int
    groups: list[GroupRow]
    summaries: list[tuple[str, Figure]]

    @property
    def has_scores(self) -> bool:
        return any(group.standardized_mean_difference is not None for group in self.groups)

    @property
    def has_outcomes(self) -> bool:
        return any(group.true_positive_rate is not None for group in self.groups)

    @property
    def has_calibration(self) -> bool:
        return any(group.calibration for group in self.groups)


@dataclass(frozen=True)
class AdjustedRow:
    group: str
    applicants: int
    denial_rate: float | None
    raw_difference: Figure
    adjusted_difference: Figure
    adjusted_odds_ratio: Figure
    p_value: float | None


@dataclass(frozen=True)
class AdjustedSection:
    attribute: str
    reference_group: str
    reference_denial_rate: float | None
    rows_used: int
    controls: list[str]
    small_groups: dict[str, int]
    groups: list[AdjustedRow]


@dataclass(frozen=True)
class ReportView:
    """Everything a report page, its CSV and its PDF show."""

    report: FairnessReport
    source: str
    rows: int
    approved: int
    rows_with_outcome: int
    threshold: float
    min_group_size: int
    confidence: float
    resamples: int
    attributes: list[AttributeSection]
    adjusted: list[AdjustedSection]
    skipped: list[str]
    definitions: dict[str, str] = field(default_factory=dict)

    @property
    def single_attributes(self) -> list[AttributeSection]:
        return [a for a in self.attributes if not a.is_intersection]

    @property
    def intersections(self) -> list[AttributeSection]:
        return [a for a in self.attributes if a.is_intersection]

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.rows if self.rows else None


def _optional(raw: Any, path: tuple[str, ...]) -> Figure | None:
    found = _dig(raw, path)
    return None if found is None else Figure.read(found)


def _group_row(raw: dict[str, Any], threshold: float) -> GroupRow:
    ratio = Figure.read(raw.get("adverse_impact_ratio"))
    significance = raw.get("significance") if isinstance(raw.get("significance"), dict) else {}
    bands = _dig(raw, ("calibration", "bands")) or []
    calibration = [
        (expected, observed)
        for band in bands
        if isinstance(band, dict)
        and (expected := _number(band.get("expected_default_rate"))) is not None
        and (observed := _number(band.get("observed_default_rate"))) is not None
    ]
    small = bool(raw.get("small_group"))
    return GroupRow(
        label=str(raw.get("label", "")),
        applicants=int(raw.get("applicants") or 0),
        approved=int(raw.get("approved") or 0),
        small=small,
        is_reference=bool(raw.get("is_reference")),
        is_most_favoured=bool(raw.get("is_most_favoured")),
        approval_rate=Figure.read(raw.get("approval_rate")),
        adverse_impact_ratio=ratio,
        below_threshold=ratio.value is not None and ratio.value < threshold and not small,
        adverse_impact_ratio_vs_most_favoured=Figure.read(raw.get("adverse_impact_ratio_vs_most_favoured")),
        statistical_parity_difference=Figure.read(raw.get("statistical_parity_difference")),
        test=str(significance.get("test") or ""),
        p_value=_number(significance.get("p_value")),
        standardized_mean_difference=_optional(raw, ("scores", "standardized_mean_difference")),
        smd_flag=bool(_dig(raw, ("scores", "smd_flag"))),
        true_positive_rate=_optional(raw, ("outcomes", "true_positive_rate")),
        false_positive_rate=_optional(raw, ("outcomes", "false_positive_rate")),
        equal_opportunity_difference=_optional(raw, ("outcomes", "equal_opportunity_difference")),
        average_odds_difference=_optional(raw, ("outcomes", "average_odds_difference")),
        calibration=calibration,
        calibration_difference=_optional(raw, ("calibration", "difference")),
    )


SUMMARY_NAMES = (
    ("demographic_parity_ratio", "Demographic parity ratio"),
    ("demographic_parity_difference", "Demographic parity difference"),
    ("equal_opportunity_difference", "Equal-opportunity difference"),
    ("average_odds_difference", "Average-odds difference"),
    ("equalized_odds_difference", "Equalized-odds difference"),
)


def _attribute_section(raw: dict[str, Any], threshold: float) -> AttributeSection:
    attributes = raw.get("attributes") or [raw.get("name")]
    return AttributeSection(
        name=str(raw.get("name", "")),
        is_intersection=len(attributes) > 1,
        reference_group=str(raw.get("reference_group", "")),
        most_favoured_group=str(raw.get("most_favoured_group", "")),
        rows_not_known=int(raw.get("rows_not_known") or 0),
        groups=[_group_row(group, threshold) for group in raw.get("groups") or [] if isinstance(group, dict)],
        summaries=[(label, Figure.read(raw[key])) for key, label in SUMMARY_NAMES if raw.get(key) is not None],
    )


def _adjusted_section(raw: dict[str, Any]) -> AdjustedSection:
    return AdjustedSection(
        attribute=str(raw.get("attribute", "")),
        reference_group=str(raw.get("reference_group", "")),
        reference_denial_rate=_number(raw.get("reference_denial_rate")),
        rows_used=int(raw.get("rows_used") or 0),
        controls=[str(c.get("name")) for c in raw.get("controls") or [] if isinstance(c, dict)],
        small_groups=dict(raw.get("small_groups") or {}),
        groups=[
            AdjustedRow(
                group=str(group.get("group", "")),
                applicants=int(group.get("applicants") or 0),
                denial_rate=_number(group.get("denial_rate")),
                raw_difference=Figure.read(group.get("raw_difference")),
                adjusted_difference=Figure.read(group.get("adjusted_difference")),
                adjusted_odds_ratio=Figure.read(group.get("adjusted_odds_ratio")),
                p_value=_number(group.get("p_value")),
            )
            for group in raw.get("groups") or []
            if isinstance(group, dict)
        ],
    )


def fairness_report_view(report: FairnessReport) -> ReportView:
    results = report.results or {}
    engine = results.get("report") or {}
    config = engine.get("config") or {}
    threshold = _number(config.get("four_fifths_threshold")) or settings.FAIRNESS_AIR_THRESHOLD
    return ReportView(
        report=report,
        source=str(results.get("source", "")),
        rows=int(engine.get("rows") or report.row_count),
        approved=int(engine.get("approved") or 0),
        rows_with_outcome=int(engine.get("rows_with_outcome") or 0),
        threshold=threshold,
        min_group_size=int(config.get("min_group_size") or settings.FAIRNESS_MIN_GROUP_SIZE),
        confidence=_number(config.get("confidence")) or 0.95,
        resamples=int(config.get("bootstrap_resamples") or 0),
        attributes=[_attribute_section(a, threshold) for a in engine.get("attributes") or [] if isinstance(a, dict)],
        adjusted=[_adjusted_section(a) for a in results.get("adjusted") or [] if isinstance(a, dict)],
        skipped=[str(name) for name in results.get("skipped_attributes") or []],
        definitions=dict(engine.get("definitions") or {}),
    )


def fairness_report_list(*, kind: str | None = None) -> QuerySet[FairnessReport]:
    reports = FairnessReport.objects.select_related("model_version", "created_by").order_by("-created_at", "-pk")
    return reports.filter(kind=kind) if kind else reports


def fairness_report_csv_rows(view: ReportView) -> Iterator[list[Any]]:
    """One row per attribute (or intersection), group and metric, with its interval; then adjusted disparities."""
    for attribute in view.attributes:
        for group in attribute.groups:
            raw = _raw_group(view.report, attribute.name, group.label)
            for metric, path in GROUP_METRICS:
                found = _dig(raw, path)
                if found is None:
                    continue
                figure = Figure.read(found)
                yield [
                    attribute.name,
                    group.label,
                    group.applicants,
                    group.small,
                    metric,
                    figure.value,
                    figure.low,
                    figure.high,
                ]
            if group.p_value is not None:
                yield [
                    attribute.name,
                    group.label,
                    group.applicants,
                    group.small,
                    f"p_value_{group.test}",
                    group.p_value,
                    None,
                    None,
                ]
    for section in view.adjusted:
        for row in section.groups:
            small = row.group in section.small_groups
            for metric, name in ADJUSTED_METRICS:
                figure = getattr(row, name)
                yield [
                    section.attribute,
                    row.group,
                    row.applicants,
                    small,
                    metric,
                    figure.value,
                    figure.low,
                    figure.high,
                ]


def _raw_group(report: FairnessReport, attribute: str, label: str) -> dict[str, Any]:
    for raw in ((report.results or {}).get("report") or {}).get("attributes") or []:
        if raw.get("name") == attribute:
            for group in raw.get("groups") or []:
                if group.get("label") == label:
                    return group
    return {}


@dataclass(frozen=True)
class Lowest:
    """A report's headline: the lowest adverse impact ratio against the most favoured group."""

    attribute: str
    group: str
    ratio: Figure


def report_lowest_ratio(report: FairnessReport, *, attributes: list[str] | None = None) -> Lowest | None:
    """The report's headline (the engine's rule), optionally over `attributes` only."""
    ratios = report_group_ratios((report.results or {}).get("report") or {})
    lowest = lowest_adverse_impact_ratio(ratios, attributes=attributes)
    if lowest is None:
        return None
    return Lowest(lowest.attribute, lowest.group, Figure(lowest.ratio.value, lowest.ratio.low, lowest.ratio.high))


def fairness_report_export(report: FairnessReport) -> dict[str, Any]:
    """The stored record as JSON: what it audited, with what settings, and the engine's results."""
    return {
        "id": report.pk,
        "kind": report.kind,
        "title": report.title,
        "status": report.status,
        "created_at": report.created_at,
        "created_by": report.created_by.get_username() if report.created_by_id else None,
        "model_version": report.model_version_id,
        "dataset": report.dataset,
        "source_sha256": report.source_sha256,
        "window": [report.window_start, report.window_end] if report.window_start else None,
        "rows": report.row_count,
        "parameters": report.parameters,
        "results": report.results,
    }


def fairness_report_summary_lines(report: FairnessReport) -> list[str]:
    """A plain-text summary: per attribute and group, approval rate and adverse impact ratio with intervals."""
    view = fairness_report_view(report)
    lines = [
        f"Fairness report {report.pk}: {report.title}",
        f"{view.rows} decisions, {view.approved} approved; {view.source}",
        f"Intervals: {view.confidence:.0%} bootstrap ({view.resamples} resamples); four-fifths threshold "
        f"{view.threshold:g}; groups under {view.min_group_size} applicants are marked small.",
    ]
    for attribute in view.single_attributes:
        lines.append("")
        lines.append(f"{attribute.name} (reference: {attribute.reference_group})")
        for group in attribute.groups:
            marks = [mark for mark, on in (("BELOW FOUR-FIFTHS", group.below_threshold), ("small", group.small)) if on]
            lines.append(
                f"  {group.label}: n={group.applicants}, approval {group.approval_rate.as_text()}, "
                f"AIR {group.adverse_impact_ratio.as_text()}" + (f"  ({', '.join(marks)})" if marks else "")
            )
    for section in view.adjusted:
        lines.append("")
        lines.append(
            f"{section.attribute}: denial-rate difference from {section.reference_group}, raw and adjusted "
            f"for {', '.join(section.controls)}"
        )
        for row in section.groups:
            raw, adjusted = row.raw_difference.as_text(), row.adjusted_difference.as_text()
            lines.append(f"  {row.group}: raw {raw}, adjusted {adjusted}")
    return lines


@dataclass(frozen=True)
class SearchRow:
    """One model of a search: the base or an alternative, with its place on the frontier."""

    name: str
    change: str
    version_id: int | None
    family: str
    mitigation: str
    status: str
    auc: float | None
    lowest: Figure | None
    lowest_group: str
    pareto: bool
    less_discriminatory: bool
    failure: str
    is_base: bool


def _search_row(raw: dict[str, Any], *, is_base: bool) -> SearchRow:
    lowest = raw.get("lowest_ratio") if isinstance(raw.get("lowest_ratio"), dict) else None
    return SearchRow(
        name=str(raw.get("name", "")),
        change=str(raw.get("change", "")),
        version_id=raw.get("version_id") if isinstance(raw.get("version_id"), int) else None,
        family=str(raw.get("family", "")),
        mitigation=str(raw.get("mitigation", "")),
        status=str(raw.get("status", "")),
        auc=_number(raw.get("auc")),
        lowest=Figure.read(lowest) if lowest else None,
        lowest_group=f"{lowest.get('attribute')} = {lowest.get('group')}" if lowest else "",
        pareto=bool(raw.get("pareto")),
        less_discriminatory=bool(raw.get("less_discriminatory")),
        failure=str(raw.get("failure", "")),
        is_base=is_base,
    )


def lda_search_rows(search: LdaSearch) -> list[SearchRow]:
    """The base first, then each alternative, as the search recorded them."""
    results = search.results or {}
    rows = [_search_row(results["base"], is_base=True)] if isinstance(results.get("base"), dict) else []
    rows.extend(_search_row(raw, is_base=False) for raw in results.get("alternatives") or [] if isinstance(raw, dict))
    return rows


def lda_search_list(*, base_version: ModelVersion | None = None) -> QuerySet[LdaSearch]:
    searches = LdaSearch.objects.select_related("base_version", "requested_by").order_by("-created_at", "-pk")
    return searches.filter(base_version=base_version) if base_version is not None else searches


# A model version's holdout fairness summary (recorded at training), for the version, compare and dashboard pages.


@dataclass(frozen=True)
class GroupFairness:
    group: str
    count: int | None
    approval_rate: float | None
    adverse_impact_ratio: float | None
    interval: tuple[float, float] | None
    below_threshold: bool
    too_small: bool


@dataclass(frozen=True)
class AttributeFairness:
    """One attribute of a version's holdout summary.

    Two groups are named, as the fairness reports name them: the `reference_group` (the control group:
    the largest group, see `reference_group_of`) and the `most_favoured_group` (the
    highest approval rate), against which this summary's adverse impact ratios are taken.
    """

    attribute: str
    reference_group: str
    groups: list[GroupFairness]
    most_favoured_group: str = ""

    @property
    def has_intervals(self) -> bool:
        return any(group.interval for group in self.groups)

    @property
    def lowest_ratio(self) -> float | None:
        ratios = [
            GroupRatio(self.attribute, g.group, Estimate(g.adverse_impact_ratio), g.too_small) for g in self.groups
        ]
        lowest = lowest_adverse_impact_ratio(ratios)
        return lowest.ratio.value if lowest else None


def _interval(stats: dict[str, Any]) -> tuple[float, float] | None:
    """The adverse impact ratio's confidence interval, once the fair-lending engine records one."""
    raw = stats.get("adverse_impact_ratio_interval")
    if isinstance(raw, list | tuple) and len(raw) == 2:
        low, high = _number(raw[0]), _number(raw[1])
        if low is not None and high is not None:
            return low, high
    return None


def reference_group_of(counts: dict[str, int | None]) -> str:
    """An attribute's reference (control) group: the largest, the first by label on ties. The fairness
    engine's rule when no reference group is configured (`_reference_index`; none is configured for reports),
    so the version page and the fairness report name the same group."""
    sized = [(count, label) for label, count in sorted(counts.items()) if isinstance(count, int)]
    return max(sized, key=lambda item: item[0])[1] if sized else ""


def fairness_by_attribute(version: ModelVersion) -> list[AttributeFairness]:
    """Approval rate and adverse impact ratio per group, from version.fairness["groups"].

    Groups under FAIRNESS_MIN_GROUP_SIZE are flagged too small to judge, as the promotion gate does. The
    ratios are against each attribute's most favoured group, recorded as "most_favoured_groups" (versions
    trained before it was named so recorded it as "reference_groups").
    """
    fairness = version.fairness or {}
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    minimum = settings.FAIRNESS_MIN_GROUP_SIZE
    favoured = fairness.get("most_favoured_groups") or fairness.get("reference_groups") or {}
    attributes = []
    for attribute, groups in sorted((fairness.get("groups") or {}).items()):
        if not isinstance(groups, dict):
            continue
        rows = []
        for group, stats in sorted(groups.items()):
            stats = stats if isinstance(stats, dict) else {}
            count = stats.get("count")
            ratio = _number(stats.get("adverse_impact_ratio"))
            too_small = isinstance(count, int) and count < minimum
            rows.append(
                GroupFairness(
                    group=str(group),
                    count=count if isinstance(count, int) else None,
                    approval_rate=_number(stats.get("approval_rate")),
                    adverse_impact_ratio=ratio,
                    interval=_interval(stats),
                    below_threshold=ratio is not None and ratio < threshold and not too_small,
                    too_small=too_small,
                )
            )
        reference = reference_group_of({row.group: row.count for row in rows})
        attributes.append(AttributeFairness(str(attribute), reference, rows, str(favoured.get(attribute, ""))))
    return attributes


@dataclass(frozen=True)
class GroupComparison:
    group: str
    a: GroupFairness | None
    b: GroupFairness | None


def fairness_comparison(a: ModelVersion, b: ModelVersion) -> list[tuple[str, list[GroupComparison]]]:
    """Both versions' group outcomes side by side, per attribute either version measured."""
    by_attribute_a = {item.attribute: {g.group: g for g in item.groups} for item in fairness_by_attribute(a)}
    by_attribute_b = {item.attribute: {g.group: g for g in item.groups} for item in fairness_by_attribute(b)}
    comparison = []
    for attribute in sorted(set(by_attribute_a) | set(by_attribute_b)):
        groups_a, groups_b = by_attribute_a.get(attribute, {}), by_attribute_b.get(attribute, {})
        rows = [GroupComparison(g, groups_a.get(g), groups_b.get(g)) for g in sorted(set(groups_a) | set(groups_b))]
        comparison.append((attribute, rows))
    return comparison
