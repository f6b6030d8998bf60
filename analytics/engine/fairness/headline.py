"""The headline of a fairness result: its lowest adverse impact ratio, by one rule wherever it is read.

A stored report's trend, a search's accuracy-fairness frontier, the promotion gate and the dashboards all
summarise a result by the lowest ratio of a group's approval rate to the most favoured group's, over
single attributes' groups large enough to judge (a group of five would set it by chance alone).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from analytics.engine.fairness.estimates import Estimate, json_number


@dataclass(frozen=True)
class GroupRatio:
    """One group's adverse impact ratio against its attribute's most favoured group."""

    attribute: str
    group: str
    ratio: Estimate
    small_group: bool = False


def lowest_adverse_impact_ratio(
    ratios: Iterable[GroupRatio], *, attributes: Collection[str] | None = None
) -> GroupRatio | None:
    """The lowest ratio among groups large enough to judge (optionally of `attributes` only); None if none."""
    judged = [
        ratio
        for ratio in ratios
        if not ratio.small_group
        and ratio.ratio.value is not None
        and (attributes is None or ratio.attribute in attributes)
    ]
    return min(judged, key=lambda ratio: ratio.ratio.value, default=None)


def _number(raw: Any) -> float | None:
    """A stored figure read tolerantly: an older or hand-edited record may hold anything."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return json_number(raw)


def _estimate(raw: Any) -> Estimate:
    if not isinstance(raw, Mapping):
        return Estimate(_number(raw))
    interval = raw.get("ci")
    low, high = interval if isinstance(interval, list | tuple) and len(interval) == 2 else (None, None)
    return Estimate(_number(raw.get("value")), _number(low), _number(high))


def report_group_ratios(report: Mapping[str, Any]) -> Iterator[GroupRatio]:
    """The single attributes' group ratios of a report's stored JSON (`FairnessReport.to_dict()`)."""
    for attribute in report.get("attributes") or []:
        names = attribute.get("attributes") or []
        if len(names) != 1:
            continue
        for group in attribute.get("groups") or []:
            yield GroupRatio(
                attribute=str(attribute.get("name")),
                group=str(group.get("label")),
                ratio=_estimate(group.get("adverse_impact_ratio_vs_most_favoured")),
                small_group=bool(group.get("small_group")),
            )


def summary_group_ratios(summary: Mapping[str, Any], *, min_group_size: int) -> list[GroupRatio]:
    """The group ratios of a model version's holdout summary (`evaluation.fairness_summary`), whose groups
    record their size rather than a small-group flag."""
    ratios = []
    for attribute, groups in (summary.get("groups") or {}).items():
        if not isinstance(groups, Mapping):
            continue
        for group, stats in groups.items():
            stats = stats if isinstance(stats, Mapping) else {}
            count = stats.get("count")
            ratios.append(
                GroupRatio(
                    attribute=str(attribute),
                    group=str(group),
                    ratio=_estimate(stats.get("adverse_impact_ratio")),
                    small_group=not (isinstance(count, int) and count >= min_group_size),
                )
            )
    return ratios
