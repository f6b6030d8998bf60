"""Any bytes an officer uploads as a bank statement are either read whole or refused with named problems: never an
exception of another kind (a NUL byte once reached Postgres and answered 500)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finai.errors import ApplicationError
from lending.services.bank_statements import NOT_TEXT, StatementRow, bank_statement_parse

CELL = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["2026-01-02", "1500.00", "-80.5", "1e999", "NaN", "Infinity", "=cmd|' /C calc'!A0", "\x00", '"', "\r"]
)


def _read(text: str) -> list[StatementRow] | ApplicationError:
    """The rows read, or the refusal, which must name where each problem is."""
    try:
        return bank_statement_parse(text=text)
    except ApplicationError as error:
        refusal = error
    assert refusal.details
    return refusal


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_decoded_as_the_form_does_are_read_or_refused_by_name(data):
    _read(data.decode("utf-8", errors="replace"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=6))
def test_any_statement_shaped_text_is_read_or_refused_by_name(rows):
    text = "date,amount,description\n" + "\n".join(",".join(row) for row in rows)

    result = _read(text)

    if isinstance(result, list):
        assert all("\x00" not in row.description for row in result)


def test_a_nul_byte_refuses_the_file_naming_it():
    with pytest.raises(ApplicationError) as refused:
        bank_statement_parse(text="date,amount,description\n2026-01-02,10.00,sal\x00ary\n")

    assert refused.value.details == {"file": NOT_TEXT}


def test_a_cell_beyond_the_csv_field_limit_is_refused_naming_the_file():
    with pytest.raises(ApplicationError) as refused:
        bank_statement_parse(text="date,amount,description\n2026-01-02,10.00," + "x" * 200_000 + "\n")

    assert "file" in refused.value.details
