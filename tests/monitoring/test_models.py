"""Monitoring's records: what a stored segment-proxy row says about its group."""

from __future__ import annotations

import pytest

from monitoring.models import SegmentGroupShare


@pytest.mark.parametrize(
    ("ratio", "low", "high", "flagged", "outside"),
    [(0.26, 0.0, 0.7, True, True), (1.26, 0.32, 2.8, False, True), (1.0, 0.9, 1.1, False, False)],
)
def test_a_group_is_flagged_only_when_its_whole_interval_is_outside_the_band(ratio, low, high, flagged, outside):
    share = SegmentGroupShare(
        segment=0,
        attribute="sex",
        group="female",
        is_reference=False,
        accounts=100,
        small_group=False,
        share=0.1,
        ratio=ratio,
        ratio_low=low,
        ratio_high=high,
    )

    assert share.flagged is flagged
    assert share.outside_band is outside
