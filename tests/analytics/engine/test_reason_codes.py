"""Reason codes: a stable catalogue, and the principal reasons chosen strictly by attribution."""

from __future__ import annotations

from analytics.engine.dataset_schema import schema_from_dict, schema_load
from analytics.engine.features import Feature, FeatureSpec
from analytics.engine.reason_codes import ReasonCode, generic_code, principal_reasons, reason_catalogue_for


def test_the_german_credit_catalogue_has_written_text_for_every_feature():
    spec = FeatureSpec.from_schema(schema_load("german_credit"))
    catalogue = reason_catalogue_for(spec)
    for name in spec.names:
        assert catalogue.reason_for(name).code.startswith("R")
    assert catalogue.reason_for("credit_history", "delay in paying off in the past").text == (
        "Credit history shows delinquency"
    )
    assert catalogue.reason_for("credit_history", "a value with no text of its own").code == "R08"


def test_a_data_set_without_written_reasons_gets_a_stable_generic_code_per_feature():
    spec = FeatureSpec(
        dataset="other",
        features=(Feature("debt_to_income", "numeric", 1), Feature("months_at_job", "numeric", -1)),
        target="y",
        positive_label="1",
    )
    catalogue = reason_catalogue_for(spec)
    assert catalogue.reason_for("debt_to_income").text == "Debt to income is too high"
    assert catalogue.reason_for("months_at_job").text == "Months at job is too low"
    assert catalogue.reason_for("debt_to_income").code == generic_code("debt_to_income")
    assert reason_catalogue_for(spec).reason_for("months_at_job") == catalogue.reason_for("months_at_job")


def test_principal_reasons_are_the_largest_positive_attributions_in_order_at_most_four():
    spec = FeatureSpec.from_schema(schema_load("german_credit"))
    catalogue = reason_catalogue_for(spec)
    attributions = dict.fromkeys(spec.names, 0.0) | {
        "purpose": 0.9,
        "duration_in_month": 2.5,
        "credit_amount": -3.0,
        "housing": 0.1,
        "job": 0.4,
        "telephone": 1.1,
        "property": 0.4,
    }
    reasons = principal_reasons(attributions, catalogue=catalogue, features={"housing": "rent"})
    # property and job tie at 0.4: the feature listed first in the spec (property) wins.
    assert [r.feature for r in reasons] == ["duration_in_month", "telephone", "purpose", "property"]
    assert [r.code for r in reasons] == ["R04", "R27", "R09", "R20"]
    assert all(r.code in catalogue for r in reasons)


def test_features_that_lowered_the_risk_are_never_reasons():
    spec = FeatureSpec.from_schema(schema_load("german_credit"))
    reasons = principal_reasons(
        {"housing": 0.2, "job": -1.0, "purpose": 0.0},
        catalogue=reason_catalogue_for(spec),
        features={"housing": "for free"},
    )
    assert [(r.code, r.text) for r in reasons] == [("R22", "Does not own residence")]


def test_the_schemas_own_reasons_and_codes_are_used_and_a_code_left_out_is_derived_stably():
    schema = schema_from_dict(
        {
            "name": "cards",
            "kind": "outcomes",
            "positive_label": "1",
            "columns": {
                "limit": {"role": "feature", "type": "numeric", "maps_to": "amount", "label": "Credit limit"},
                "late": {"role": "feature", "type": "numeric", "monotone": "increasing", "label": "Late payments",
                         "reason": {"code": "C01", "text": "Recent late payments"}},
                "job": {"role": "feature", "reason": "Employment status",
                        "value_reasons": {"none": "No regular income"}},
                "y": {"role": "target"},
            },
        }
    )  # fmt: skip
    catalogue = reason_catalogue_for(FeatureSpec.from_schema(schema))

    assert catalogue.reason_for("late") == ReasonCode("C01", "Recent late payments", "late")
    assert catalogue.reason_for("job").code == generic_code("job")
    assert catalogue.reason_for("job", "none") == ReasonCode(generic_code("job=none"), "No regular income", "job")
    # No reason written: the text comes from the label, not the column name.
    assert catalogue.reason_for("limit").text == "Credit limit"


def test_the_wording_travels_in_the_spec_so_a_stored_model_keeps_its_reasons():
    spec = FeatureSpec.from_schema(schema_load("german_credit"))
    restored = FeatureSpec.from_dict(spec.as_dict())

    assert reason_catalogue_for(restored).reason_for("housing", "rent") == ReasonCode(
        "R22", "Does not own residence", "housing"
    )
