"""Audits: an uploaded decisions file through its schema (HMDA), and a model version's holdout."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.engine.dataset_schema import schema_load
from analytics.engine.fairness import FairnessConfig, decisions_file_audit, decisions_file_read, model_holdout_audit
from analytics.engine.policy import DecisionPolicy
from finai.errors import ApplicationError
from tests.analytics.engine.fairness.conftest import ROOT

HMDA = ROOT / "data" / "hmda_sample.csv"
HMDA_CONTROLS = ["income", "debt_to_income_ratio", "loan_to_value_ratio", "loan_amount", "loan_purpose"]


@pytest.fixture(scope="module")
def hmda_audit():
    return decisions_file_audit(
        path=HMDA,
        schema=schema_load("hmda"),
        controls=HMDA_CONTROLS,
        config=FairnessConfig(bootstrap_resamples=200, reference_groups={"race_ethnicity": "White", "sex": "male"}),
    )


@pytest.fixture(scope="module")
def hmda_raw() -> pd.DataFrame:
    return pd.read_csv(HMDA, dtype=str, keep_default_na=False)


def test_it_reads_hmda_through_its_schema_with_race_codes_written_as_floats(hmda_raw):
    data = decisions_file_read(path=HMDA, schema=schema_load("hmda"))
    assert len(data) == 50000
    assert data.approved.sum() == 36983
    race = data.protected["race_ethnicity"]
    assert race.eq("White").sum() == (hmda_raw["applicant_race-1"] == "5.0").sum()
    assert (
        race.eq("Asian").sum()
        == hmda_raw["applicant_race-1"].isin([f"{c}.0" for c in (2, 21, 22, 23, 24, 25, 26, 27)]).sum()
    )
    assert race.isna().sum() == 16
    assert data.protected["age_band"].isna().sum() == 11
    assert data.features["debt_to_income_ratio"].isna().sum() == (
        hmda_raw["debt_to_income_ratio"].isin(["", "Exempt", "NA"]).sum()
    )
    assert data.features["loan_to_value_ratio"].dtype == np.float64


def test_the_hmda_audit_reports_approval_rates_and_impact_ratios_as_counted_from_the_raw_file(hmda_audit, hmda_raw):
    approved = hmda_raw["approved"] == "1"
    white = approved[hmda_raw["applicant_race-1"] == "5.0"].mean()
    black = approved[hmda_raw["applicant_race-1"] == "3.0"].mean()
    group = hmda_audit.report.attribute("race_ethnicity").group("Black or African American")
    assert group.approval_rate.value == pytest.approx(black, abs=1e-12)
    assert group.adverse_impact_ratio.value == pytest.approx(black / white, abs=1e-12)
    assert group.adverse_impact_ratio.low < group.adverse_impact_ratio.value < group.adverse_impact_ratio.high
    assert hmda_audit.report.attribute("race_ethnicity").rows_not_known == 16
    assert hmda_audit.report.attribute("race_ethnicity").group("Not applicable").small_group is True


def test_the_hmda_audits_female_ratio_is_the_recorded_0_950_and_its_lowest_ratio_is_the_reports_headline(hmda_audit):
    # A figure the renovation of issue 13 had to keep: 0.950 before and after.
    female = hmda_audit.report.attribute("sex").group("female")
    lowest = hmda_audit.report.lowest_adverse_impact_ratio()
    single = [g for a in hmda_audit.report.attributes if len(a.attributes) == 1 for g in a.groups if not g.small_group]

    assert female.adverse_impact_ratio.value == pytest.approx(0.950, abs=5e-4)
    assert lowest.ratio.value == min(g.adverse_impact_ratio_vs_most_favoured.value for g in single)


def test_the_hmda_audit_adjusts_each_attribute_for_the_declared_credit_factors(hmda_audit, hmda_raw):
    race = next(adjusted for adjusted in hmda_audit.adjusted if adjusted.attribute == "race_ethnicity")
    assert race.reference_group == "White"
    assert [control.name for control in race.controls] == HMDA_CONTROLS
    assert race.small_groups == {"Not applicable": 6}
    black = race.group("Black or African American")
    denied = hmda_raw["approved"] == "0"
    gap = denied[hmda_raw["applicant_race-1"] == "3.0"].mean() - denied[hmda_raw["applicant_race-1"] == "5.0"].mean()
    assert black.raw_difference.value == pytest.approx(gap, abs=1e-9)
    assert black.adjusted_difference.low < black.adjusted_difference.value < black.adjusted_difference.high
    assert {adjusted.attribute for adjusted in hmda_audit.adjusted} == {"race_ethnicity", "sex", "age_band"}


def test_the_audit_is_json_ready(hmda_audit):
    payload = hmda_audit.to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert payload["source"] == "hmda_sample.csv (schema hmda)"


def test_it_names_every_bad_cell_of_an_uploaded_file(tmp_path):
    path = tmp_path / "decisions.csv"
    rows = pd.read_csv(HMDA, dtype=str, keep_default_na=False, nrows=5)
    rows.loc[1, "approved"] = "maybe"
    rows.loc[3, "applicant_race-1"] = "99.0"
    rows.loc[4, "income"] = "lots"
    rows.to_csv(path, index=False)
    with pytest.raises(ApplicationError) as caught:
        decisions_file_read(path=path, schema=schema_load("hmda"))
    assert set(caught.value.details) == {"row 2, approved", "row 4, applicant_race-1", "row 5, income"}


def test_it_refuses_a_file_missing_a_schema_column(tmp_path):
    path = tmp_path / "decisions.csv"
    pd.read_csv(HMDA, dtype=str, nrows=3).drop(columns=["applicant_sex"]).to_csv(path, index=False)
    with pytest.raises(ApplicationError) as caught:
        decisions_file_read(path=path, schema=schema_load("hmda"))
    assert "header, applicant_sex" in caught.value.details


def test_it_refuses_an_outcomes_schema_as_a_decisions_file():
    with pytest.raises(ApplicationError) as caught:
        decisions_file_read(path=ROOT / "data" / "german_credit.csv", schema=schema_load("german_credit"))
    assert "schema" in caught.value.details


def test_it_refuses_controls_that_are_not_features_of_the_schema():
    with pytest.raises(ApplicationError) as caught:
        decisions_file_audit(path=HMDA, schema=schema_load("hmda"), controls=["income", "applicant_sex"])
    assert set(caught.value.details) == {"applicant_sex"}


def test_a_holdout_audit_approves_below_the_policy_cutoff_and_compares_policy_scores(german):
    policy = DecisionPolicy(version="test-1", approve_below=0.3, decline_from=0.5)
    protected = german.protected.assign(age_years=np.arange(1000) % 50 + 20)
    audit = model_holdout_audit(
        probability_of_default=german.probability_of_default,
        defaulted=german.defaulted,
        protected=protected,
        policy=policy,
        config=FairnessConfig(bootstrap_resamples=50),
    )
    assert audit.skipped_attributes == ("age_years",)
    assert audit.report.approved == int((german.probability_of_default < 0.3).sum())
    female = audit.report.attribute("sex").group("female")
    members = german.protected["sex"].to_numpy() == "female"
    scores = [policy.score(p) for p in german.probability_of_default[members]]
    assert female.scores.mean == pytest.approx(np.mean(scores), abs=1e-9)
    assert female.calibration.observed_default_rate == pytest.approx(german.defaulted[members].mean(), abs=1e-12)
