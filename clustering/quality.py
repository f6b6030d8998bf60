"""A plain-language reading of clustering quality, shown beside every silhouette.

A silhouette is a number between -1 and 1 that few readers can weigh: the demo's chosen segmentation scores
0.05 on its test split, which says that its segments barely separate. The reading puts the number in
Kaufman & Rousseeuw's bands (Finding Groups in Data, 1990, ch. 2: "no substantial structure" up to 0.25,
"weak and could be artificial" to 0.50, "reasonable" to 0.70, "strong" above) and says what each band means
for the use this product makes of segments: as a feature of credit models and as a description of customers.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE = "Kaufman & Rousseeuw, Finding Groups in Data (1990)"
# Scores are read at the precision the pages print them (three decimals), so the words always agree with the
# number beside them: 0.2504 prints 0.250 and reads "no substantial structure".
PRINTED_DIGITS = 3


@dataclass(frozen=True)
class SilhouetteReading:
    """The band a silhouette falls in: a stable `band` code, its `label` in words, and what it means for use."""

    band: str
    label: str
    meaning: str
    upper: float  # the band's inclusive upper edge (1.0 for the last)

    @property
    def reference(self) -> str:
        return REFERENCE


# Upper edges inclusive, lowest first; two-decimal silhouettes fall as the published bands read (0.25 none,
# 0.26 weak, 0.50 weak, 0.51 reasonable, 0.70 reasonable, 0.71 strong).
BANDS = (
    SilhouetteReading(
        band="none",
        label="no substantial structure",
        meaning=(
            "Accounts sit about as close to other segments as to their own, so many could as well be in the "
            "next one. As a model feature the segment adds little beyond noise: keep it only if it improves the "
            "model on held-out data, and do not describe customers by it."
        ),
        upper=0.25,
    ),
    SilhouetteReading(
        band="weak",
        label="weak structure, could be artificial",
        meaning=(
            "There is some grouping, but the method may have imposed it. Use the segment as a model feature only "
            "where it adds predictive value on held-out data, and describe customers by it with care."
        ),
        upper=0.50,
    ),
    SilhouetteReading(
        band="reasonable",
        label="reasonable structure",
        meaning=(
            "The segments are distinct groups of behaviour: the segment is a sound candidate feature for credit "
            "models and a fair description of customers, still to be checked on held-out data."
        ),
        upper=0.70,
    ),
    SilhouetteReading(
        band="strong",
        label="strong structure",
        meaning=(
            "The segments are clearly separated: a strong candidate feature for credit models. Check their sizes: "
            "cutting off a few outlying accounts also scores high, and a tiny segment describes few customers."
        ),
        upper=1.0,
    ),
)


def silhouette_reading(silhouette: float | None) -> SilhouetteReading | None:
    """The band of a silhouette score; None when there is no score (a degenerate or unfinished run)."""
    if silhouette is None:
        return None
    printed = round(float(silhouette), PRINTED_DIGITS)
    for reading in BANDS:
        if printed <= reading.upper:
            return reading
    return BANDS[-1]
