"""Dataset schemas: the shipped ones load, and a broken one is refused with every problem named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analytics.engine.dataset_schema import SchemaError, band_label, code_normalise, schema_from_dict, schema_load


def minimal(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "toy",
        "kind": "outcomes",
        "positive_label": "bad",
        "columns": {
            "amount": {"role": "feature", "type": "numeric", "maps_to": "amount"},
            "outcome": {"role": "target"},
        },
    }
    raw.update(overrides)
    return raw


def problems_of(raw: Any) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        schema_from_dict(raw)
    return caught.value.problems


def test_the_german_credit_schema_names_its_protected_columns_and_period():
    schema = schema_load("german_credit")

    assert schema.kind == "outcomes"
    assert schema.protected_names == {"personal_status_and_sex", "age_in_years", "foreign_worker"}
    assert schema.target.name == "creditability"
    assert (schema.positive_label, schema.negative_label) == ("bad", "good")
    assert schema.mapped_to("amount").name == "credit_amount"
    assert schema.mapped_to("term_months").name == "duration_in_month"
    assert schema.period == (dt.date(1973, 1, 1), dt.date(1975, 12, 31))
    assert schema.resolve_file().is_file()


def test_the_hmda_schema_declares_a_mortgage_term_because_the_file_has_none():
    schema = schema_load("hmda")

    assert schema.kind == "decisions"
    assert schema.mapped_to("term_months") is None
    assert schema.default_term_months == 360
    assert schema.product == "mortgage"
    assert (schema.approve_label, schema.decline_label) == ("1", "0")
    assert schema.protected_names == {"applicant_race-1", "applicant_sex", "applicant_age"}


def test_a_schema_loads_by_path_as_well_as_by_name(tmp_path: Path):
    path = tmp_path / "copy.yaml"
    path.write_text(Path("data/schemas/hmda.yaml").read_text())

    assert schema_load(path) == schema_load("hmda")


def test_it_reports_every_schema_problem_at_once():
    raw = {
        "name": "toy",
        "kind": "outcomes",
        "columns": {
            "amount": {"role": "feature", "type": "numeric", "maps_to": "amount"},
            "age": {"role": "characteristic", "type": "numeric"},
            "sex": {"role": "protected", "monotone": "increasing"},
        },
    }

    problems = problems_of(raw)

    assert any("'age': role must be one of" in p for p in problems)
    assert "an outcomes schema needs exactly one target column" in problems
    assert any("positive_label" in p for p in problems)
    assert any("'sex': monotone must be increasing or decreasing, on a feature only" in p for p in problems)
    assert len(problems) == 4


def test_it_refuses_to_map_a_protected_column_onto_the_application():
    raw = minimal()
    raw["columns"]["sex"] = {"role": "protected", "maps_to": "purpose"}

    assert problems_of(raw) == [
        "column 'sex': protected maps_to must name fields among sex, marital_status, age_years, age_band, "
        "race_ethnicity, national_origin (got 'purpose')"
    ]


def test_it_refuses_to_map_a_feature_onto_protected_attributes():
    raw = minimal()
    raw["columns"]["age"] = {"role": "feature", "type": "numeric", "maps_to": "age_years"}

    assert problems_of(raw) == ["column 'age': a feature maps_to one of amount, term_months, purpose"]


def test_it_refuses_unknown_keys_so_typos_do_not_pass_silently():
    raw = minimal(default_term=360)
    raw["columns"]["amount"]["missng"] = [""]

    assert problems_of(raw) == ["unknown keys default_term", "column 'amount': unknown keys missng"]


def test_it_refuses_a_split_without_a_list_of_fields_and_bands_on_a_feature():
    raw = minimal()
    raw["columns"]["status"] = {"role": "protected", "split": " : ", "maps_to": "sex"}
    raw["columns"]["income"] = {"role": "feature", "type": "numeric", "bands": [25]}

    problems = problems_of(raw)

    assert "column 'status': split and a list under maps_to go together" in problems
    assert any(p.startswith("column 'income': bands group a numeric protected column") for p in problems)


def test_it_refuses_a_bad_term_period_and_name():
    problems = problems_of(minimal(name="Toy Data", default_term_months=0, period=["2020-12-31", "2020-01-01"]))

    assert problems == [
        "name must be lower-case letters, digits and underscores, starting with a letter, at most 39 characters",
        "default_term_months must be a whole number of months from 1 to 600",
        "period must start on or before its end",
    ]


def test_it_refuses_decision_labels_on_an_outcomes_schema():
    assert problems_of(minimal(approve_label="1")) == ["approve_label applies to decisions schemas only"]


def test_it_refuses_two_columns_filling_the_same_field():
    raw = minimal()
    raw["columns"]["loan"] = {"role": "feature", "type": "numeric", "maps_to": "amount"}

    assert problems_of(raw) == ["more than one column fills amount"]


def test_a_missing_schema_file_is_named():
    assert problems_of_load("no_such_schema") == [
        f"no schema file at {Path('data/schemas').resolve()}/no_such_schema.yaml"
    ]


def problems_of_load(name: str) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        schema_load(name)
    return caught.value.problems


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5.0", "5"), ("21.0", "21"), ("5", "5"), ("5.5", "5.5"), ("Exempt", "Exempt"), ("", "")],
)
def test_integer_codes_written_as_floats_read_as_the_code(raw: str, expected: str):
    assert code_normalise(raw) == expected


def test_a_cell_parses_to_its_typed_value_or_names_its_problem():
    schema = schema_load("hmda")
    race, ltv = schema.column("applicant_race-1"), schema.column("loan_to_value_ratio")

    assert race.parse("5.0") == "White"
    assert race.parse("") is None
    assert ltv.parse("80.0") == 80
    assert ltv.parse("37.064") == pytest.approx(37.064)
    assert ltv.parse("Exempt") is None
    with pytest.raises(ValueError, match=r"'9\.0' is not one of the codes listed under labels"):
        race.parse("9.0")
    with pytest.raises(ValueError, match="'NA' is not a number"):
        ltv.parse("NA")


@pytest.mark.parametrize(("age", "band"), [(19, "<25"), (24, "<25"), (25, ">=25"), (75, ">=25")])
def test_ages_fall_into_the_declared_bands(age: int, band: str):
    assert band_label(age, (25.0,)) == band


def test_several_cut_points_make_closed_open_bands():
    assert [band_label(age, (25.0, 35.0)) for age in (20, 25, 34, 35)] == ["<25", "25-<35", "25-<35", ">=35"]


def test_a_split_protected_value_fills_each_field():
    spec = schema_load("german_credit").column("personal_status_and_sex")

    assert spec.protected_values("female : divorced/separated/married") == {
        "sex": "female",
        "marital_status": "divorced/separated/married",
    }
    with pytest.raises(ValueError, match="does not split"):
        spec.protected_values("female")


def test_a_protected_column_without_a_field_keeps_its_own_name():
    spec = schema_from_dict(
        {**minimal(), "columns": {**minimal()["columns"], "religion": {"role": "protected"}}}
    ).column("religion")

    assert spec.protected_values("buddhist") == {"religion": "buddhist"}
    assert spec.protected_values(None) == {}


def test_a_numeric_features_domain_refuses_a_cell_outside_it_and_nonsense_bounds_are_named():
    schema = schema_from_dict(
        minimal(columns={**minimal()["columns"], "rate": {"role": "feature", "type": "numeric", "min": 1, "max": 4}})
    )
    rate = next(column for column in schema.columns if column.name == "rate")

    assert rate.parse("4") == 4
    with pytest.raises(ValueError, match="99 is outside the allowed range 1 to 4"):
        rate.parse("99")
    with pytest.raises(SchemaError) as refused:
        schema_from_dict(
            minimal(
                columns={
                    **minimal()["columns"],
                    "backwards": {"role": "feature", "type": "numeric", "min": 5, "max": 1},
                    "word": {"role": "feature", "type": "categorical", "max": 3},
                    "text": {"role": "feature", "type": "numeric", "min": "low"},
                }
            )
        )
    assert len(refused.value.problems) == 3
    assert any("min 5 is above max 1" in problem for problem in refused.value.problems)


def test_a_schema_carries_labels_help_reasons_a_policy_and_a_default_definition():
    raw = minimal(
        policy={"version": "cards-1", "approve_below": 0.1, "decline_from": 0.3},
        default_definition={"days_past_due": 60, "horizon_months": 18},
    )
    raw["columns"]["employment"] = {
        "role": "feature",
        "label": "Employment",
        "help": "As on the payslip.",
        "required": False,
        "value_labels": {"none": "Not employed"},
        "value_reasons": {"none": {"code": "C02", "text": "No regular income"}},
    }

    schema = schema_from_dict(raw)

    column = schema.column("employment")
    assert (column.display_label, column.help, column.required) == ("Employment", "As on the payslip.", False)
    assert column.value_labels == {"none": "Not employed"}
    assert column.value_reasons["none"].as_list() == ["C02", "No regular income"]
    assert schema.column("amount").display_label == "Amount"
    assert (schema.policy.version, schema.policy.approve_below, schema.policy.decline_from) == ("cards-1", 0.1, 0.3)
    assert schema.default_definition.describe() == "60+ days past due within 18 months of funding"


def test_the_stored_form_rebuilds_the_same_schema_and_its_hash_follows_its_content():
    schema = schema_load("german_credit")

    rebuilt = schema_from_dict(schema.as_dict())

    assert rebuilt == schema
    assert rebuilt.sha256 == schema.sha256
    changed = schema.as_dict() | {"description": "another description"}
    assert schema_from_dict(changed).sha256 != schema.sha256


def test_bad_wording_and_policy_are_each_named():
    raw = minimal(policy={"version": "p", "approve_below": 0.5, "decline_from": 0.2}, default_definition={"days": 1})
    raw["columns"]["amount"] |= {"value_labels": {"1": "one"}, "label": "x" * 81, "required": "yes"}
    raw["columns"]["outcome"] |= {"reason": "targets give no reasons"}
    raw["columns"]["job"] = {"role": "feature", "reason": {"code": "bad code", "text": "Job"}}

    problems = problems_of(raw)

    assert "policy decline_from: must not be below approve_below" in problems
    assert any(p.startswith("default_definition may give") for p in problems)
    assert "column 'amount': value_labels apply to categorical columns only" in problems
    assert "column 'amount': label must be text of 1 to 80 characters" in problems
    assert "column 'amount': required must be true or false" in problems
    assert "column 'outcome': reason, value_labels and value_reasons apply to features only" in problems
    assert any(p.startswith("column 'job': reason must be a text, or a code") for p in problems)


def test_numeric_protected_values_are_banded_whatever_their_number_type():
    raw = minimal()
    raw["columns"]["age"] = {"role": "protected", "type": "numeric", "maps_to": "age_years", "bands": [30, 50]}
    raw["columns"]["tenure"] = {"role": "protected", "type": "numeric", "bands": [5]}
    schema = schema_from_dict(raw)

    assert schema.column("age").protected_values(np.int64(41)) == {"age_years": 41, "age_band": "30-<50"}
    assert schema.column("age").protected_values(np.float64(61.0)) == {"age_years": 61, "age_band": ">=50"}
    assert schema.column("tenure").protected_values(np.int64(2)) == {"tenure": "<5"}
    assert schema.group_attributes == ("age_band", "tenure")
    assert schema.own_attributes == ("tenure",)
