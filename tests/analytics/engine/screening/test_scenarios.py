from __future__ import annotations

import pytest

from analytics.engine.screening.scenarios import StructuringParameters, scenario_from_dict
from finai.errors import ApplicationError


def test_a_scenario_round_trips_through_its_stored_form() -> None:
    stored = {"name": "cash under 10k", "typology": "structuring", "parameters": {"threshold": 15_000}}
    scenario = scenario_from_dict(stored)
    assert scenario.parameters == StructuringParameters(threshold=15_000.0)
    assert scenario_from_dict(scenario.as_dict()) == scenario


def test_it_names_every_bad_parameter_at_once() -> None:
    with pytest.raises(ApplicationError) as raised:
        scenario_from_dict(
            {
                "name": "s",
                "typology": "structuring",
                "parameters": {"threshold": -1, "margin": "a lot", "minimum_deposits": 2.5, "colour": "red"},
            }
        )
    assert raised.value.code == "invalid_scenario"
    assert raised.value.details == {
        "parameters.threshold": "must be >= 0.01",
        "parameters.margin": "must be a number",
        "parameters.minimum_deposits": "must be a whole number",
        "parameters.colour": "unknown parameter",
    }


def test_it_refuses_an_unknown_typology() -> None:
    with pytest.raises(ApplicationError) as raised:
        scenario_from_dict({"name": "s", "typology": "smurfing"})
    assert set(raised.value.details) == {"typology"}


def test_it_refuses_a_cycle_whose_minimum_hops_exceed_its_maximum() -> None:
    with pytest.raises(ApplicationError) as raised:
        scenario_from_dict({"name": "c", "typology": "cycle", "parameters": {"minimum_hops": 4, "maximum_hops": 3}})
    assert raised.value.details == {"parameters.minimum_hops": "must be <= maximum_hops"}


def test_it_refuses_a_velocity_metric_it_does_not_know() -> None:
    with pytest.raises(ApplicationError) as raised:
        scenario_from_dict({"name": "v", "typology": "velocity_spike", "parameters": {"metric": "mood"}})
    assert raised.value.details == {"parameters.metric": "must be one of: count, amount"}
