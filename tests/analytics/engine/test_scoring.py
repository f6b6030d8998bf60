"""The scoring fast path: same probability as the model, reasons from its attributions, replayable."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analytics.engine.features import FeatureValueError
from analytics.engine.policy import DEFAULT_POLICY, DecisionPolicy, Outcome
from analytics.engine.reason_codes import reason_catalogue_for
from analytics.engine.scoring import Scorer

FAMILIES = ("scorecard", "gbm", "neural")


@pytest.fixture(scope="module")
def decided(german_split, german_models):
    """Per family: its scorer and every holdout application with its decision."""
    _, holdout = german_split
    applications = holdout.features.to_dict("records")
    found = {}
    for family in FAMILIES:
        scorer = Scorer(german_models[family], DEFAULT_POLICY)
        found[family] = (scorer, applications, [scorer.decide(application) for application in applications])
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_the_scorer_gives_the_models_own_probability(family, german_split, german_models, decided):
    _, holdout = german_split
    _, _, decisions = decided[family]
    expected = german_models[family].predict_proba_default(holdout.features)
    assert np.abs(np.array([d.probability_of_default for d in decisions]) - expected).max() < 1e-9


@pytest.mark.parametrize("family", FAMILIES)
def test_outcome_and_score_follow_the_policy(family, decided):
    _, _, decisions = decided[family]
    for decision in decisions:
        assert decision.outcome == DEFAULT_POLICY.outcome(decision.probability_of_default)
        assert decision.score == DEFAULT_POLICY.score(decision.probability_of_default)
        assert decision.policy_version == DEFAULT_POLICY.version
    assert {d.outcome for d in decisions} == set(Outcome)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_decline_carries_one_to_four_catalogued_reasons_ordered_by_attribution(
    family, german_split, german_models, decided
):
    _, _, decisions = decided[family]
    _, holdout = german_split
    catalogue = reason_catalogue_for(german_models[family].spec)
    declined = [i for i, d in enumerate(decisions) if d.outcome is Outcome.DECLINE]
    assert declined
    attributions = german_models[family].attributions(holdout.features.iloc[declined])
    for row, index in enumerate(declined):
        reasons = decisions[index].reasons
        assert 1 <= len(reasons) <= 4
        assert all(reason.code in catalogue for reason in reasons)
        assert [r.attribution for r in reasons] == sorted((r.attribution for r in reasons), reverse=True)
        ranked = attributions.iloc[row].sort_values(ascending=False, kind="stable")
        expected = [name for name, value in ranked.items() if value > 0][: len(reasons)]
        assert [reason.feature for reason in reasons] == expected
        for reason in reasons:
            assert reason.attribution == pytest.approx(attributions.iloc[row][reason.feature], abs=1e-9)


@pytest.mark.parametrize("family", FAMILIES)
def test_an_approval_carries_no_reasons(family, decided):
    _, _, decisions = decided[family]
    assert all(not d.reasons for d in decisions if d.outcome is Outcome.APPROVE)
    assert all(d.reasons for d in decisions if d.outcome is not Outcome.APPROVE)


@pytest.mark.parametrize("family", FAMILIES)
def test_replaying_the_stored_feature_vector_reproduces_the_decision_exactly(family, decided):
    scorer, _, decisions = decided[family]
    for decision in decisions[:50]:
        stored = json.loads(json.dumps(decision.as_dict()))
        replayed = scorer.decide(stored["features"])
        assert replayed == decision
        assert replayed.as_dict() == stored


def test_the_stored_feature_vector_holds_exactly_the_models_inputs(german_models):
    scorer = Scorer(german_models["scorecard"], DEFAULT_POLICY)
    application = {"status_of_existing_checking_account": "... < 0 DM", "duration_in_month": 48, "age_in_years": 22}
    application |= {
        "credit_history": "delay in paying off in the past",
        "purpose": "education",
        "credit_amount": 9000,
        "savings_account_and_bonds": "... < 100 DM",
        "present_employment_since": "unemployed",
        "installment_rate_in_percentage_of_disposable_income": 4,
        "other_debtors_or_guarantors": "none",
        "present_residence_since": 1,
        "property": "unknown / no property",
        "other_installment_plans": "bank",
        "housing": "rent",
        "number_of_existing_credits_at_this_bank": 2,
        "job": "unskilled - resident",
        "number_of_people_being_liable_to_provide_maintenance_for": 1,
        "telephone": "none",
    }
    decision = scorer.decide(application)
    assert set(decision.features) == set(german_models["scorecard"].input_names)
    assert "age_in_years" not in decision.features
    assert decision.outcome is Outcome.DECLINE
    assert decision.reasons[0].code in {"R01", "R04", "R05", "R09", "R12"}


def test_the_scorer_names_every_missing_or_unusable_field(german_models, german_split):
    _, holdout = german_split
    application = holdout.features.to_dict("records")[0]
    application["duration_in_month"] = "long"
    application["purpose"] = "yacht"
    del application["telephone"]
    with pytest.raises(FeatureValueError) as raised:
        Scorer(german_models["gbm"], DEFAULT_POLICY).decide(application)
    assert set(raised.value.details) == {"duration_in_month", "purpose", "telephone"}


def test_a_referral_also_carries_reasons(german_models, german_split):
    _, holdout = german_split
    refer_everyone = DecisionPolicy(version="refer-all", approve_below=0.001, decline_from=1.0)
    scorer = Scorer(german_models["gbm"], refer_everyone)
    decision = scorer.decide(holdout.features.to_dict("records")[0])
    assert decision.outcome is Outcome.REFER
    assert 1 <= len(decision.reasons) <= 4


@pytest.mark.parametrize("family", FAMILIES)
def test_a_value_beyond_the_training_range_is_named_and_one_inside_is_not(family, german_split, german_models):
    train, _ = german_split
    scorer = Scorer(german_models[family], DEFAULT_POLICY)
    application = train.features.iloc[0].to_dict()
    longest = int(train.features["duration_in_month"].max())
    assert longest < 72  # the schema allows 72 months; the training rows stop short of it

    inside = scorer.decide(application)
    beyond = scorer.decide({**application, "duration_in_month": 72})
    restored = Scorer(type(german_models[family]).from_bytes(german_models[family].to_bytes()), DEFAULT_POLICY)

    assert inside.outside_training_range == ()
    assert beyond.outside_training_range == ("duration_in_month",)
    assert beyond.as_dict()["outside_training_range"] == ["duration_in_month"]
    assert restored.decide({**application, "duration_in_month": 72}).outside_training_range == ("duration_in_month",)
