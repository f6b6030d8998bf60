"""The decision policy: cut-offs decide the outcome, scores follow the scorecard's scale."""

from __future__ import annotations

import math

import pytest

from analytics.engine.policy import DecisionPolicy, Outcome, ScoreScale
from finai.errors import ApplicationError


def test_it_approves_below_one_cut_off_declines_from_the_other_and_refers_between():
    policy = DecisionPolicy(version="test-1", approve_below=0.2, decline_from=0.5)
    assert policy.outcome(0.1999) is Outcome.APPROVE
    assert policy.outcome(0.2) is Outcome.REFER
    assert policy.outcome(0.4999) is Outcome.REFER
    assert policy.outcome(0.5) is Outcome.DECLINE


def test_the_base_score_sits_at_the_base_odds_and_doubling_the_odds_adds_the_stated_points():
    scale = ScoreScale(base_score=600, base_odds=50, points_to_double_odds=20)
    assert scale.points(1 / 51) == pytest.approx(600)
    assert scale.points(1 / 101) == pytest.approx(620)
    assert scale.factor == pytest.approx(20 / math.log(2))


def test_a_certain_model_still_gets_a_finite_whole_score():
    policy = DecisionPolicy(version="test-1", approve_below=0.2, decline_from=0.5)
    assert isinstance(policy.score(0.0), int)
    assert policy.score(0.0) > policy.score(0.5) > policy.score(1.0)


def test_it_names_every_invalid_setting():
    with pytest.raises(ApplicationError) as raised:
        DecisionPolicy(version="", approve_below=0.6, decline_from=0.5)
    assert set(raised.value.details) == {"version", "decline_from"}


def test_a_policy_survives_a_round_trip_through_its_dict():
    policy = DecisionPolicy(version="v2", approve_below=0.1, decline_from=0.3, scale=ScoreScale(500, 20, 40))
    assert DecisionPolicy.from_dict(policy.as_dict()) == policy
