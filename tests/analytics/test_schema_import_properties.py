"""Any dataset schema a lender uploads is either read whole or refused with every problem numbered, never an
exception of another kind, and a refused upload records nothing (issue 20, inputs).

Generated from the shipped German credit schema: truncated at any point, a value anywhere replaced by a hostile one
(NaN, Infinity, huge numbers, NUL bytes, formulas, wrong types), or mis-encoded bytes through the portal's forms.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analytics.engine.dataset_schema import SCHEMA_DIR, DatasetSchema, SchemaError, schema_from_dict
from analytics.models import DatasetSchemaRecord, FairnessReport
from analytics.services.dataset_schemas import dataset_schema_parse
from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import LoanApplication

SCHEMA_TEXT = (SCHEMA_DIR / "german_credit.yaml").read_text()
SCHEMA = yaml.safe_load(SCHEMA_TEXT)
# The header and five whole rows of the shipped file: a schema that is accepted imports them.
DATA = "".join((SCHEMA_DIR.parent / "german_credit.csv").read_text().splitlines(keepends=True)[:6]).encode()

HOSTILE = (
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            -0.0,
            10**400,
            "",
            "\x00",
            "a\x00b",
            "=cmd|' /C calc'!A0",
            "@SUM(A1)",
            "\t=1",
            "x" * 100_000,
            "NaN",
            None,
            True,
            [],
            {},
            [None],
            {"": None},
        ]
    )
    | st.text(max_size=10)
    | st.integers()
    | st.floats()
)


def examples(count: int) -> settings:
    """Deterministic, so CI runs the same cases; sized to keep the module within a few seconds."""
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a nested dict/list: where a hostile value may be put."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


SCHEMA_PATHS = _paths(SCHEMA)


def _replaced(path: tuple, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(SCHEMA)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def _parsed_or_numbered(text: str) -> DatasetSchema | ApplicationError:
    """The schema read, or the refusal, which must number each problem as the forms show them."""
    try:
        return dataset_schema_parse(text=text, origin="the uploaded file")
    except ApplicationError as error:
        refusal = error
    assert refusal.code == "invalid_schema"
    assert refusal.details
    assert all(key.startswith("schema, ") for key in refusal.details)
    assert all(isinstance(problem, str) and problem for problem in refusal.details.values())
    return refusal


@examples(300)
@given(path=st.sampled_from(SCHEMA_PATHS), value=HOSTILE)
@example(path=("name",), value=math.nan)  # once accepted as "nan", then refused by Postgres: a 500 on upload
@example(path=("columns", "duration_in_month", "max"), value=math.inf)
@example(path=("description",), value="a\x00b")  # once accepted, then refused by Postgres jsonb: a 500 on upload
@example(path=("provenance",), value="\udb4a")
def test_a_hostile_value_anywhere_in_a_schema_is_read_or_refused_by_number(path, value):
    try:
        schema = schema_from_dict(_replaced(path, value))
    except SchemaError as error:
        refusal = error
    else:
        # Whatever is accepted must be a schema the importer can hash and store as jsonb: no NaN or Infinity, no NUL,
        # no unpaired surrogate (encoding to UTF-8 raises on one).
        assert len(schema.sha256) == 64
        stored = json.dumps(schema.as_dict(), allow_nan=False, ensure_ascii=False)
        assert b"\x00" not in stored.encode()
        return
    assert refusal.problems


@examples(200)
@given(cut=st.integers(min_value=0, max_value=len(SCHEMA_TEXT)))
def test_a_schema_truncated_anywhere_is_read_or_refused_by_number(cut):
    _parsed_or_numbered(SCHEMA_TEXT[:cut])


@examples(200)
@given(
    start=st.integers(min_value=0, max_value=len(SCHEMA_TEXT)),
    length=st.integers(min_value=0, max_value=40),
    inserted=st.sampled_from(["\x00", ": [", "{", "!!python/object:os.system", "&a *a", "\t", "\ufeff", ".nan"])
    | st.text(max_size=8),
)
def test_a_schema_with_a_span_replaced_is_read_or_refused_by_number(start, length, inserted):
    _parsed_or_numbered(SCHEMA_TEXT[:start] + inserted + SCHEMA_TEXT[start + length :])


def test_a_yaml_alias_bomb_is_refused_without_being_expanded():
    """Billion laughs: nested aliases that would expand to 10^9 items must be refused, not walked or hashed."""
    bomb = (
        "a: &a ["
        + ",".join(["x"] * 10)
        + "]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))
    )

    refusal = _parsed_or_numbered(bomb)

    assert isinstance(refusal, ApplicationError)


# --- through the portal: a schema uploaded with a data set, or with a decisions file ---------------------------

ENCODINGS = ["latin-1", "utf-16", "utf-16-be", "utf-32", "cp1252"]


def _counts() -> dict[str, int]:
    return {
        "schemas": DatasetSchemaRecord.objects.count(),
        "applications": LoanApplication.objects.count(),
        "reports": FairnessReport.objects.count(),
        "events": AuditEvent.objects.count(),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_mis_encoded_schema_upload_with_a_data_set_is_refused_on_its_field(manager_client, encoding):
    schema = (SCHEMA_TEXT.replace("Statlog", "Statlög")).encode(encoding)
    before = _counts()

    response = manager_client.post(
        reverse("lending:dataset_list"),
        {
            "schema_file": SimpleUploadedFile("schema.yaml", schema),
            "data_file": SimpleUploadedFile("german.csv", DATA),
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["schema_file"] == ["The schema is not UTF-8 text."]
    assert _counts() == before


@pytest.mark.django_db
@examples(25)
@given(path=st.sampled_from(SCHEMA_PATHS), value=HOSTILE)
@example(path=("name",), value=math.nan)
@example(path=("description",), value="a\x00b")
def test_a_hostile_schema_uploaded_with_a_data_set_is_refused_on_its_field_and_records_nothing(
    manager_client, path, value
):
    try:
        text = yaml.safe_dump(_replaced(path, value), allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    before = _counts()

    response = manager_client.post(
        reverse("lending:dataset_list"),
        {
            "schema_file": SimpleUploadedFile("schema.yaml", text.encode()),
            "data_file": SimpleUploadedFile("german.csv", DATA),
        },
    )

    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert response.context["form"].errors
        assert _counts() == before
