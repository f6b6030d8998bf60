"""Small groups are reported and flagged, never dropped; significance uses Fisher for small counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio
from scipy.stats import chi2_contingency, fisher_exact

from analytics.engine.fairness import FairnessConfig, fairness_report_compute
from finai.errors import ApplicationError

FAST = FairnessConfig(bootstrap_resamples=50, reference_groups={"group": "large"})


def _with_small_group(small_rows: int = 8, small_approved: int = 8) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(0)
    large = (rng.random(600) < 0.6).astype(int)
    medium = (rng.random(300) < 0.5).astype(int)
    small = np.r_[np.ones(small_approved), np.zeros(small_rows - small_approved)].astype(int)
    labels = ["large"] * 600 + ["medium"] * 300 + ["small"] * small_rows
    return np.r_[large, medium, small], pd.DataFrame({"group": labels})


def test_it_reports_and_flags_a_small_group_instead_of_dropping_it():
    approved, protected = _with_small_group()
    attribute = fairness_report_compute(approved=approved, protected=protected, config=FAST).attribute("group")
    small = attribute.group("small")
    assert small.applicants == 8
    assert small.small_group is True
    assert small.approval_rate.value == 1.0
    assert attribute.group("medium").small_group is False


def test_a_small_group_neither_becomes_the_most_favoured_nor_sets_the_across_group_summary():
    approved, protected = _with_small_group()
    attribute = fairness_report_compute(approved=approved, protected=protected, config=FAST).attribute("group")
    rates = {g.label: g.approval_rate.value for g in attribute.groups}
    assert attribute.most_favoured_group == "large"
    assert attribute.summarised_groups == ("large", "medium")
    assert attribute.demographic_parity_ratio.value == pytest.approx(rates["medium"] / rates["large"], abs=1e-12)


def test_with_a_minimum_group_size_of_one_the_summary_is_fairlearns_over_every_group():
    approved, protected = _with_small_group()
    report = fairness_report_compute(
        approved=approved, protected=protected, config=FairnessConfig(bootstrap_resamples=50, min_group_size=1)
    )
    expected = demographic_parity_ratio(approved, approved, sensitive_features=protected["group"])
    assert report.attribute("group").demographic_parity_ratio.value == pytest.approx(expected, abs=1e-12)


def test_it_uses_fishers_exact_test_for_small_counts_and_matches_scipy():
    approved, protected = _with_small_group(small_rows=8, small_approved=2)
    attribute = fairness_report_compute(approved=approved, protected=protected, config=FAST).attribute("group")
    large = attribute.group("large")
    small = attribute.group("small")
    table = [[2, 6], [large.approved, large.applicants - large.approved]]
    assert small.significance.test == "fisher"
    assert small.significance.p_value == pytest.approx(fisher_exact(table)[1], rel=1e-12)


def test_it_uses_chi_square_when_counts_are_large_and_matches_scipy():
    approved, protected = _with_small_group()
    attribute = fairness_report_compute(approved=approved, protected=protected, config=FAST).attribute("group")
    medium, large = attribute.group("medium"), attribute.group("large")
    table = [
        [medium.approved, medium.applicants - medium.approved],
        [large.approved, large.applicants - large.approved],
    ]
    statistic, p_value, _, _ = chi2_contingency(table, correction=False)
    assert medium.significance.test == "chi-square"
    assert medium.significance.statistic == pytest.approx(statistic, rel=1e-12)
    assert medium.significance.p_value == pytest.approx(p_value, rel=1e-12)
    assert large.significance is None


def test_rows_whose_group_is_not_known_are_counted_apart_not_made_a_group():
    approved, protected = _with_small_group()
    protected.loc[:4, "group"] = None
    attribute = fairness_report_compute(approved=approved, protected=protected, config=FAST).attribute("group")
    assert attribute.rows_not_known == 5
    assert sum(group.applicants for group in attribute.groups) == len(approved) - 5


def test_intersections_report_every_combination_of_attributes(german):
    report = fairness_report_compute(
        approved=german.approved, protected=german.protected, config=FairnessConfig(bootstrap_resamples=20)
    )
    intersection = report.attribute("sex & age_band")
    assert [g.label for g in intersection.groups] == ["female | <25", "female | >=25", "male | <25", "male | >=25"]
    assert intersection.group("female | <25").key == {"sex": "female", "age_band": "<25"}
    assert sum(g.applicants for g in intersection.groups) == 1000


def test_it_refuses_a_reference_group_that_is_not_in_the_data():
    approved, protected = _with_small_group()
    with pytest.raises(ApplicationError) as caught:
        fairness_report_compute(
            approved=approved,
            protected=protected,
            config=FairnessConfig(bootstrap_resamples=10, reference_groups={"group": "nobody"}),
        )
    assert "reference_groups.group" in caught.value.details


def test_it_names_every_bad_input():
    with pytest.raises(ApplicationError) as caught:
        fairness_report_compute(
            approved=np.array([1, 2, 0]),
            protected=pd.DataFrame({"sex": ["f", "m"]}),
            scores=np.array([1.0, np.nan, 2.0]),
            probability_of_default=np.array([0.1, 0.2, 0.3]),
        )
    assert set(caught.value.details) == {"approved", "protected", "scores", "probability_of_default"}


def test_it_refuses_invalid_settings_naming_each():
    with pytest.raises(ApplicationError) as caught:
        FairnessConfig(four_fifths_threshold=1.5, confidence=1.0, bootstrap_resamples=0)
    assert set(caught.value.details) == {"four_fifths_threshold", "confidence", "bootstrap_resamples"}
