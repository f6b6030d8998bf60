"""The protected attributes (ECOA / Regulation B): one definition that every app and setting reads.

They are stored apart from an applicant's features, readable only by compliance roles, never a model
input, and used only to measure fairness.
"""

from __future__ import annotations

# The fields of the separate protected-attributes record.
PROTECTED_ATTRIBUTES: tuple[str, ...] = (
    "sex",
    "marital_status",
    "age_years",
    "age_band",
    "race_ethnicity",
    "national_origin",
)
# Those that hold groups, in which fairness is measured: an age in years is audited through its band.
GROUP_ATTRIBUTES: tuple[str, ...] = tuple(name for name in PROTECTED_ATTRIBUTES if name != "age_years")
