"""The feature spec and coding: protected attributes can never be selected, values are coded strictly."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics.engine.dataset_schema import schema_load
from analytics.engine.features import Feature, FeatureCoding, FeatureSpec, FeatureValueError, ProtectedAttributeError
from finai.errors import ApplicationError


@pytest.fixture
def spec() -> FeatureSpec:
    return FeatureSpec.from_schema(schema_load("german_credit"))


def test_it_takes_features_target_and_protected_attributes_from_the_schema(spec):
    assert len(spec.features) == 17
    assert spec.target == "creditability"
    assert spec.positive_label == "bad"
    assert spec.protected == {"personal_status_and_sex", "age_in_years", "foreign_worker"}
    assert not spec.protected & set(spec.names)


def test_it_reads_the_schemas_monotone_direction_as_risk_rising_with_the_value(spec):
    directions = {feature.name: feature.monotone for feature in spec.features}
    assert directions["duration_in_month"] == 1
    assert directions["installment_rate_in_percentage_of_disposable_income"] == 1
    assert directions["credit_amount"] == 0


def test_it_refuses_to_select_a_protected_attribute(spec):
    with pytest.raises(ProtectedAttributeError) as raised:
        spec.restrict(["duration_in_month", "age_in_years"])
    assert "age_in_years" in raised.value.details


def test_it_refuses_a_spec_that_names_a_protected_attribute_as_a_feature():
    with pytest.raises(ProtectedAttributeError):
        FeatureSpec(
            dataset="x",
            features=(Feature("age", "numeric"),),
            target="default",
            positive_label="1",
            protected=frozenset({"age"}),
        )


def test_it_refuses_a_monotone_direction_on_a_categorical_feature():
    with pytest.raises(ApplicationError) as raised:
        FeatureSpec(dataset="x", features=(Feature("colour", "categorical", 1),), target="y", positive_label="1")
    assert "colour" in raised.value.details


def test_coding_ignores_extra_columns_and_codes_categories_by_sorted_index():
    spec = FeatureSpec(
        dataset="x", features=(Feature("n", "numeric"), Feature("c", "categorical")), target="y", positive_label="1"
    )
    frame = pd.DataFrame({"n": [1.5, 2.0], "c": ["b", "a"], "secret": ["x", "y"]})
    coding = FeatureCoding.fit(spec, frame)
    assert coding.matrix(frame).tolist() == [[1.5, 1.0], [2.0, 0.0]]
    codes, used = coding.vector({"n": 3, "c": "b", "secret": "ignored"})
    assert codes == [3.0, 1.0]
    assert used == {"n": 3, "c": "b"}


def test_coding_names_every_unusable_value_of_one_application():
    spec = FeatureSpec(
        dataset="x",
        features=(Feature("n", "numeric"), Feature("c", "categorical"), Feature("m", "numeric")),
        target="y",
        positive_label="1",
    )
    coding = FeatureCoding.fit(spec, pd.DataFrame({"n": [1.0], "c": ["a"], "m": [2.0]}))
    with pytest.raises(FeatureValueError) as raised:
        coding.vector({"n": "lots", "c": "z"})
    assert set(raised.value.details) == {"n", "c", "m"}
    assert "not one of the categories" in raised.value.details["c"]


def test_coding_admits_a_missing_value_only_where_training_had_missing_values():
    spec = FeatureSpec(
        dataset="x", features=(Feature("n", "numeric"), Feature("m", "numeric")), target="y", positive_label="1"
    )
    coding = FeatureCoding.fit(spec, pd.DataFrame({"n": [1.0, None], "m": [2.0, 3.0]}))
    codes, used = coding.vector({"n": None, "m": "4.5"})
    assert math.isnan(codes[0])
    assert codes[1] == 4.5
    assert used == {"n": None, "m": 4.5}
    with pytest.raises(FeatureValueError) as raised:
        coding.vector({"n": 1.0, "m": None})
    assert set(raised.value.details) == {"m"}


def test_coding_refuses_a_category_never_seen_in_training_in_a_frame():
    spec = FeatureSpec(dataset="x", features=(Feature("c", "categorical"),), target="y", positive_label="1")
    coding = FeatureCoding.fit(spec, pd.DataFrame({"c": ["a", "b"]}))
    with pytest.raises(FeatureValueError) as raised:
        coding.matrix(pd.DataFrame({"c": ["a", "q"]}))
    assert "'q'" in raised.value.details["c"]


def test_coding_survives_a_round_trip_through_its_dict(spec):
    frame = pd.DataFrame(
        {name: ["a"] if f.kind == "categorical" else [1] for name, f in zip(spec.names, spec.features, strict=True)}
    )
    coding = FeatureCoding.fit(spec, frame)
    assert FeatureCoding.from_dict(coding.as_dict()) == coding


def test_coding_refuses_a_number_outside_the_features_domain_naming_value_and_range():
    spec = FeatureSpec(
        dataset="x",
        features=(Feature("rate", "numeric", 1, 1, 4), Feature("term", "numeric", 0, 1, 72), Feature("n", "numeric")),
        target="y",
        positive_label="1",
    )
    coding = FeatureCoding.fit(spec, pd.DataFrame({"rate": [1, 4], "term": [6, 60], "n": [0.5, 1e9]}))

    with pytest.raises(FeatureValueError) as raised:
        coding.vector({"rate": 99, "term": "600", "n": -1e12})
    assert raised.value.details == {
        "rate": "99 is outside the allowed range 1 to 4",
        "term": "600 is outside the allowed range 1 to 72",
    }
    assert coding.vector({"rate": 4, "term": 72.0, "n": -1e12})[0] == [4.0, 72.0, -1e12]  # bounds are included


def test_the_german_credit_spec_carries_the_schemas_domains_through_its_dict(spec):
    rate = next(f for f in spec.features if f.name == "installment_rate_in_percentage_of_disposable_income")
    restored = FeatureSpec.from_dict(spec.as_dict())

    assert (rate.minimum, rate.maximum) == (1, 4)
    assert restored == spec
    assert FeatureSpec.from_dict({**spec.as_dict(), "features": [["n", "numeric", 0]]}).features[0].minimum is None
