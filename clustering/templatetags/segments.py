"""Template helpers of the clustering pages: the plain-language reading beside every silhouette."""

from __future__ import annotations

from typing import Any

from django import template

from clustering.quality import silhouette_reading

register = template.Library()

BADGES = {"none": "badge-decline", "weak": "badge-refer", "reasonable": "badge-approve", "strong": "badge-approve"}


@register.inclusion_tag("clustering/silhouette_reading.html")
def silhouette_quality(silhouette: float | None, explained: bool = False) -> dict[str, Any]:
    """The band's words as a badge (its meaning on hover); `explained` adds the meaning and the reference."""
    reading = silhouette_reading(None if silhouette == "" else silhouette)  # a missing metric renders as ""
    return {"reading": reading, "badge": BADGES[reading.band] if reading else "", "explained": explained}
