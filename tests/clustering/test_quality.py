"""The plain-language reading of a silhouette: Kaufman & Rousseeuw's bands, edges included, as printed."""

from __future__ import annotations

import pytest

from clustering.quality import BANDS, silhouette_reading


@pytest.mark.parametrize(
    ("silhouette", "band"),
    [
        (-0.4, "none"),
        (0.0, "none"),
        (0.05, "none"),
        (0.25, "none"),
        (0.2504, "none"),  # prints as 0.250: the words agree with the number beside them
        (0.2506, "weak"),  # prints as 0.251
        (0.26, "weak"),
        (0.50, "weak"),
        (0.51, "reasonable"),
        (0.70, "reasonable"),
        (0.7004, "reasonable"),
        (0.71, "strong"),
        (1.0, "strong"),
    ],
)
def test_each_silhouette_falls_in_its_published_band(silhouette, band):
    assert silhouette_reading(silhouette).band == band


def test_the_bands_read_as_kaufman_and_rousseeuw_word_them():
    labels = {reading.band: reading.label for reading in BANDS}

    assert labels == {
        "none": "no substantial structure",
        "weak": "weak structure, could be artificial",
        "reasonable": "reasonable structure",
        "strong": "strong structure",
    }
    assert all("Kaufman & Rousseeuw" in reading.reference for reading in BANDS)


def test_every_band_says_what_it_means_for_segments_as_model_features():
    assert all("feature" in reading.meaning for reading in BANDS)
    assert "held-out" in silhouette_reading(0.05).meaning


def test_a_run_without_a_score_has_no_reading():
    assert silhouette_reading(None) is None
