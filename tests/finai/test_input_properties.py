"""Hostile inputs at every edge are refused with an error naming where they are, and leave nothing behind (issue 20,
inputs): the feature pipeline and the loan API's features, the CSV uploads (data sets, outcomes, bank statements,
fair-lending decisions), the screening API; and every CSV export neutralises formulas.

Property tests: Hypothesis generates malformed, truncated, mis-encoded (latin-1, UTF-16), huge, non-finite (NaN,
Infinity, -0), NUL-bearing and formula-leading inputs. Each answer must be a success or a 4xx naming the field (never
a 5xx), and a refusal must change no row count. Examples are derandomized, so CI runs the same cases every time.
The dataset-schema importer's properties are in tests/analytics/test_schema_import_properties.py.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import re
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.engine.features import Feature, FeatureCoding, FeatureSpec, FeatureValueError
from analytics.models import FairnessReport
from finai.exports import FORMULA_PREFIXES, csv_cell, csv_lines
from finai.models import AuditEvent
from lending.models import LoanApplication
from tests.lending.api import conftest as api_fixtures
from tests.lending.api.helpers import application_body, submit

pytestmark = pytest.mark.django_db

# The loan API's fixtures: a deciding champion scorecard (under its own name: the root's champion is trained), its
# artifact fitted once a session, and a cache of this test's own (rate-limit counters).
api_champion = api_fixtures.champion
scorecard_artifact = api_fixtures.scorecard_artifact
isolated_cache = api_fixtures.isolated_cache


def examples(count: int) -> settings:
    """Deterministic (derandomized, no example database) and without per-example deadlines: CI runs the same cases
    on a loaded machine; `count` keeps the whole module near half a minute."""
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", '=HYPERLINK("http://x")']
TRICKY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "1e999",
    "-1e999",
    "0x10",
    "1_000",
    "é",
    "\ufeff",
    "\u202eevil",
    "\ud7ff",
    '"',
    "a,b",
    "line\nbreak",
    "x" * 5000,
    *FORMULAS,
]
HOSTILE_TEXT = st.sampled_from(TRICKY_TEXT) | st.text(max_size=20)
HOSTILE_NUMBER = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 10**400, -(10**400), 2**63, 1e308, 5e-324])
HOSTILE_VALUE = (
    HOSTILE_TEXT
    | HOSTILE_NUMBER
    | st.floats()
    | st.integers()
    | st.none()
    | st.booleans()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@contextmanager
def counts_unchanged(*models: type[Model]) -> Any:
    """Row counts of `models` before the block; the block asserts against them when it refuses."""
    before = {model: model.objects.count() for model in models}

    def unchanged() -> None:
        assert {model: model.objects.count() for model in models} == before

    yield unchanged


# --- the feature pipeline ----------------------------------------------------------------------------------------

SPEC = FeatureSpec(
    dataset="test",
    features=(
        Feature("age", "numeric", minimum=18, maximum=100),
        Feature("income", "numeric"),
        Feature("purpose", "categorical"),
        Feature("years_at_address", "numeric"),
    ),
    target="default",
    positive_label="yes",
)
TRAINING = pd.DataFrame(
    {
        "age": [25, 40, 61],
        "income": [1200.0, 3400.5, 800.0],
        "purpose": ["car", "home", "=car"],
        "years_at_address": [1.0, None, 7.0],  # missing in training: may be missing when scoring
    }
)
CODING = FeatureCoding.fit(SPEC, TRAINING)


def _result_or_refusal(compute: Callable[[], Any]) -> Any:
    """What `compute` returns, or its FeatureValueError, which must name only features and say what is wrong."""
    try:
        return compute()
    except FeatureValueError as error:
        refusal = error
    assert refusal.details
    assert set(refusal.details) <= set(SPEC.names)
    assert all(isinstance(problem, str) and problem for problem in refusal.details.values())
    return refusal


@examples(400)
@given(st.dictionaries(st.sampled_from(SPEC.names), HOSTILE_VALUE, max_size=4))
def test_any_application_values_are_coded_or_refused_naming_each_bad_feature(application):
    result = _result_or_refusal(lambda: CODING.vector(application))
    if isinstance(result, FeatureValueError):
        return
    codes, used = result
    assert set(used) == set(SPEC.names)
    for name, code in zip(SPEC.names, codes, strict=True):
        # Only a feature that training saw missing may be missing (NaN); every other code is a finite number.
        assert math.isfinite(code) or (name in CODING.missing_allowed and used[name] is None)
    assert 18 <= used["age"] <= 100


@examples(150)
@given(
    st.lists(
        st.fixed_dictionaries({name: HOSTILE_VALUE for name in SPEC.names}),
        min_size=1,
        max_size=5,
    )
)
def test_any_frame_of_values_is_coded_or_refused_naming_each_bad_column(rows):
    matrix = _result_or_refusal(lambda: CODING.matrix(pd.DataFrame(rows, dtype=object)))
    if isinstance(matrix, FeatureValueError):
        return
    assert matrix.shape == (len(rows), len(SPEC.names))
    assert np.isfinite(matrix[:, [0, 1, 2]]).all()


# Each German credit feature, sent as a hostile JSON value through the loan API, with a deciding champion.
GERMAN_FEATURES = sorted(application_body()["features"])
JSON_VALUE = (
    HOSTILE_TEXT
    | st.sampled_from([10**400, -(10**400), 2**63, 1e308, -0.0, 0, -1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | st.none()
    | st.booleans()
    | st.lists(st.integers(), max_size=2)
)


@examples(40)
@given(feature=st.sampled_from(GERMAN_FEATURES), value=JSON_VALUE)
def test_a_hostile_feature_value_through_the_loan_api_is_decided_or_refused_by_name(
    client, acme, api_champion, feature, value
):
    body = application_body()
    body["features"][feature] = value

    with counts_unchanged(LoanApplication) as unchanged:
        response = submit(client, acme[1], body, mode="sync")

    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        named = [error.get("field", "") for error in response.json().get("errors", [])]
        assert any(feature in field for field in named), response.json()
        unchanged()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-0", "1" * 5000])
def test_non_finite_and_huge_json_numbers_in_features_are_refused_by_name(client, acme, api_champion, literal):
    """JSON has no NaN or Infinity, and 1e400 overflows to infinity: each is a named 4xx, never a 5xx."""
    body = application_body()
    text = json.dumps(body).replace('"present_residence_since": 2', f'"present_residence_since": {literal}')

    with counts_unchanged(LoanApplication) as unchanged:
        response = client.post(
            "/api/v1/applications/?mode=sync",
            text,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            HTTP_AUTHORIZATION=f"Bearer {acme[1]}",
        )

    if literal == "-0":
        assert response.status_code < 500
        return
    assert 400 <= response.status_code < 500, response.content
    unchanged()


# --- the CSV uploads ---------------------------------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[2] / "data"
ENCODINGS = ["latin-1", "cp1252", "utf-16", "utf-16-be", "utf-32"]
HOSTILE_CELL = st.sampled_from(TRICKY_TEXT) | st.text(max_size=12) | st.just("y" * 200_000)


def _cell_replaced(text: str, row: int, column: int, value: str) -> bytes:
    """The CSV with one cell replaced, written back with proper quoting (a comma or line break stays in its cell)."""
    rows = list(csv.reader(io.StringIO(text)))
    row = row % len(rows)
    rows[row][column % len(rows[row])] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def hostile_csv(valid: str) -> st.SearchStrategy[bytes]:
    """A valid file broken one way: truncated at any byte, one cell made hostile, re-encoded (an accent added so
    latin-1 differs from UTF-8), raw bytes spliced in (NUL, a lone quote, invalid UTF-8), or a BOM in front."""
    raw = valid.encode()
    accented = valid.replace(",", ",é", 1)
    return st.one_of(
        st.integers(0, len(raw)).map(lambda cut: raw[:cut]),
        st.builds(_cell_replaced, st.just(valid), st.integers(0, 50), st.integers(0, 50), HOSTILE_CELL),
        st.sampled_from(ENCODINGS).map(lambda encoding: accented.encode(encoding)),
        st.builds(
            lambda at, spliced: raw[:at] + spliced + raw[at:],
            st.integers(0, len(raw)),
            st.sampled_from([b"\x00", b'"', b"\xff\xfe", b"\xc3", b"\r", b"\x1a"]) | st.binary(max_size=6),
        ),
        st.just(codecs.BOM_UTF8 + raw),
    )


# Where a problem inside an uploaded file is, as the forms' summaries name it ("row 3, income: ...").
PROBLEM_LOCATION = re.compile(r"^(row \d+|header|line \d+|file)\b")


def _assert_refused_on(response: Any, field: str, unchanged: Callable[[], None]) -> None:
    """A 400 whose form puts the refusal on the upload's field or names where in the file each problem is, and no
    row written; or a redirect: the file was accepted whole."""
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        errors = response.context["form"].errors
        located = [error for error in errors.get("__all__", []) if PROBLEM_LOCATION.match(error)]
        assert errors.get(field) or located, errors
        unchanged()


GERMAN_ROWS = "".join((DATA / "german_credit.csv").read_text().splitlines(keepends=True)[:4])


@examples(30)
@given(content=hostile_csv(GERMAN_ROWS))
def test_a_hostile_data_set_upload_is_imported_whole_or_refused_on_its_field(manager_client, content):
    from lending.models import ProtectedAttributes

    with counts_unchanged(LoanApplication, ProtectedAttributes, AuditEvent) as unchanged:
        response = manager_client.post(
            reverse("lending:dataset_list"),
            {"dataset": "german_credit", "data_file": SimpleUploadedFile("german.csv", content)},
        )

    _assert_refused_on(response, "data_file", unchanged)


OUTCOMES = "loan_id,status,days_past_due,as_of\n1,current,0,2026-01-31\n2,defaulted,95,2026-01-31\n"


@examples(25)
@given(content=hostile_csv(OUTCOMES))
def test_a_hostile_outcomes_upload_is_recorded_whole_or_refused_on_its_field(manager_client, content):
    from lending.models import RepaymentOutcome

    with counts_unchanged(RepaymentOutcome, AuditEvent) as unchanged:
        response = manager_client.post(
            reverse("lending:outcomes_import"), {"outcomes_file": SimpleUploadedFile("outcomes.csv", content)}
        )

    _assert_refused_on(response, "outcomes_file", unchanged)


STATEMENT = "date,amount,description\n2026-01-02,1500.00,salary\n2026-01-05,-80.50,groceries\n"


@examples(25)
@given(content=hostile_csv(STATEMENT))
def test_a_hostile_bank_statement_is_stored_with_its_application_or_refused_on_its_field(officer_client, content):
    from lending.models import Transaction
    from tests.lending.views.test_application_form import VALID

    with counts_unchanged(LoanApplication, Transaction, AuditEvent) as unchanged:
        response = officer_client.post(
            reverse("lending:application_new"),
            {**VALID, "transactions": SimpleUploadedFile("statement.csv", content)},
        )

    _assert_refused_on(response, "transactions", unchanged)


HMDA_ROWS = "".join((DATA / "hmda_sample.csv").read_text().splitlines(keepends=True)[:4])


@examples(25)
@given(content=hostile_csv(HMDA_ROWS))
def test_a_hostile_decisions_upload_is_queued_whole_or_refused_on_its_field(compliance_client, content):
    with counts_unchanged(FairnessReport, AuditEvent) as unchanged:
        response = compliance_client.post(
            reverse("analytics:fairness_report_upload"),
            {"schema": "hmda", "file": SimpleUploadedFile("decisions.csv", content)},
        )

    _assert_refused_on(response, "file", unchanged)


# --- the screening transaction API -------------------------------------------------------------------------------

SCREENING = "/api/v1/screening/transactions/"
SCREENING_BATCHES = "/api/v1/screening/batches/"
BOOKING_FIELDS = ["transaction_id", "account", "counterparty", "amount", "direction", "kind", "booked_at"]


def _booking() -> dict[str, Any]:
    booked_at = (timezone.now() - dt.timedelta(days=3)).replace(microsecond=0).isoformat()
    return {
        "transaction_id": f"tx-{uuid.uuid4().hex}",
        "account": "ACC-1042",
        "counterparty": "M-17",
        "amount": "120.50",
        "direction": "out",
        "kind": "card",
        "booked_at": booked_at,
    }


def _screen(client: Any, key: str, body: bytes | str, *, path: str = SCREENING, **headers: Any) -> Any:
    return client.post(
        path,
        body,
        content_type=headers.pop("content_type", "application/json"),
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **headers,
    )


@pytest.fixture
def scenarios(db) -> None:
    from monitoring.services.scenarios import screening_scenarios_ensure

    screening_scenarios_ensure()


@examples(60)
@given(field=st.sampled_from(BOOKING_FIELDS), value=JSON_VALUE)
def test_a_hostile_booking_field_is_screened_or_refused_naming_that_field(client, acme, scenarios, field, value):
    from monitoring.models import ScreenedTransaction

    body = {**_booking(), field: value}

    with counts_unchanged(ScreenedTransaction) as unchanged:
        response = _screen(client, acme[1], json.dumps(body))

    assert response.status_code in (201, 422), response.content
    if response.status_code == 422:
        assert response["Content-Type"] == "application/problem+json"
        assert {error["field"] for error in response.json()["errors"]} == {field}
        unchanged()


@examples(40)
@given(position=st.integers(0, 2), field=st.sampled_from(BOOKING_FIELDS), value=JSON_VALUE)
def test_a_batch_with_one_hostile_booking_is_screened_or_refused_whole_naming_its_position(
    client, acme, scenarios, position, field, value
):
    from monitoring.models import ScreenedTransaction

    bookings = [_booking() for _ in range(3)]
    bookings[position][field] = value

    with counts_unchanged(ScreenedTransaction) as unchanged:
        response = _screen(client, acme[1], json.dumps({"transactions": bookings}), path=SCREENING_BATCHES)

    assert response.status_code in (201, 422), response.content
    if response.status_code == 422:
        assert {error["field"] for error in response.json()["errors"]} == {f"transactions[{position}].{field}"}
        unchanged()


def _body_variants() -> st.SearchStrategy[bytes]:
    """A booking's JSON body broken as bytes: truncated, re-encoded, NUL or invalid UTF-8 spliced in, non-finite
    number literals, or a field far beyond any limit."""
    text = json.dumps({**_booking(), "transaction_id": "tx-fixed", "account": "ACC-é"})
    raw = text.encode()
    return st.one_of(
        st.integers(0, len(raw) - 1).map(lambda cut: raw[:cut]),
        st.sampled_from(ENCODINGS).map(lambda encoding: text.encode(encoding)),
        st.builds(
            lambda at, spliced: raw[:at] + spliced + raw[at:],
            st.integers(0, len(raw)),
            st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\\u0000", b'"', b"}", b"\xef\xbb\xbf"]),
        ),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "-0.0", "1" * 5000]).map(
            lambda literal: text.replace('"120.50"', literal).encode()
        ),
        st.just(text.replace('"M-17"', json.dumps("z" * 20_000)).encode()),
    )


@examples(50)
@given(body=_body_variants())
def test_a_malformed_or_mis_encoded_booking_body_is_refused_with_a_problem_never_a_server_error(
    client, acme, scenarios, body
):
    from monitoring.models import ScreenedTransaction

    with counts_unchanged(ScreenedTransaction) as unchanged:
        response = _screen(client, acme[1], body)

    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem.get("errors") or problem.get("detail"), problem
        unchanged()


# --- CSV exports: every one neutralises formulas ---------------------------------------------------------------


@examples(500)
@given(st.sampled_from(TRICKY_TEXT) | st.text())
def test_any_text_is_written_as_a_cell_no_spreadsheet_runs_and_read_back_recoverably(text):
    [line] = list(csv_lines(["value"], [[text]]))[1:]
    [cell] = next(csv.reader(io.StringIO(line, newline="")))

    assert not cell.lstrip(" \n").startswith(FORMULA_PREFIXES)
    assert cell == text or (cell == "'" + text and text.lstrip(" \n").startswith(FORMULA_PREFIXES))


@examples(100)
@given(st.floats() | st.integers() | st.decimals(allow_nan=False) | st.sampled_from([-0.0, -1, Decimal("-0.5")]))
def test_numbers_stay_numbers_in_a_csv_cell_even_when_negative(number):
    assert csv_cell(number) == number or (math.isnan(number) and math.isnan(csv_cell(number)))


def _rows(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


def _cells(rows: list[dict[str, str]]) -> set[str]:
    return {cell for row in rows for cell in row.values()}


FORMULA = FORMULAS[0]


def test_the_application_and_decision_exports_neutralise_an_applicants_formula(client, loan_officer):
    from tests.factories import ApplicantFactory, DecisionFactory, LoanApplicationFactory

    applicant = ApplicantFactory(full_name=FORMULA, reference="@ref")
    DecisionFactory(application=LoanApplicationFactory(applicant=applicant, reference="+app", purpose="-purpose"))
    client.force_login(loan_officer)

    applications = _cells(_rows(client.get(reverse("lending:application_export"))))
    decisions = _cells(_rows(client.get(reverse("lending:decision_export"))))

    assert {"'" + FORMULA, "'@ref", "'+app", "'-purpose"} <= applications
    assert "'+app" in decisions
    assert not {FORMULA, "@ref", "+app", "-purpose"} & (applications | decisions)


def test_the_audit_trail_export_neutralises_a_formula_in_an_event(client, compliance_officer):
    from finai.services import audit_event_record

    audit_event_record(action="test.event", actor_label=FORMULA, object_type="test", object_id="=1+1")
    client.force_login(compliance_officer)

    cells = _cells(_rows(client.get(reverse("audit_export"))))

    assert {"'" + FORMULA, "'=1+1"} <= cells
    assert not {FORMULA, "=1+1"} & cells


def test_the_alert_export_neutralises_a_formula_in_a_subject(client, model_manager):
    from monitoring.models import Alert

    now = timezone.now()
    Alert.objects.create(
        rule=Alert.Rule.values[0], subject=FORMULA, summary="@summary", first_breached_at=now, last_breached_at=now
    )
    client.force_login(model_manager)

    cells = _cells(_rows(client.get(reverse("monitoring:alert_export"))))

    assert {"'" + FORMULA, "'@summary"} <= cells
    assert not {FORMULA, "@summary"} & cells


def test_the_screening_case_and_sar_exports_neutralise_a_partners_formulas(client, compliance_officer):
    """A partner names its own transaction ids, accounts and counterparties: the SAR file once wrote them raw."""
    from monitoring.models import ScreenedTransaction, ScreeningCase
    from tests.monitoring.screening_records import TRIGGERING, structuring_case

    case = structuring_case()
    ScreenedTransaction.objects.filter(external_id=TRIGGERING[0]).update(external_id=FORMULA, counterparty="@SUM(A1)")
    ScreeningCase.objects.filter(pk=case.pk).update(account="+ACC-1")
    client.force_login(compliance_officer)

    cases = _cells(_rows(client.get(reverse("monitoring:screening_case_export"))))
    sar_rows = _rows(client.get(reverse("monitoring:screening_case_sar_csv", args=[case.pk])))

    assert "'+ACC-1" in cases
    assert {"'" + FORMULA, "'@SUM(A1)", "'+ACC-1"} <= _cells(sar_rows)
    assert not {FORMULA, "@SUM(A1)", "+ACC-1"} & (cases | _cells(sar_rows))
    assert {row["amount"] for row in sar_rows} == {"9500.00", "9600.00", "9700.00"}  # numbers unchanged


# Every CSV the portal serves, and the test above (or in test_security_defaults) that puts a formula through it.
CSV_EXPORTS_TESTED = {
    "lending:application_export",
    "lending:decision_export",
    "audit_export",
    "monitoring:alert_export",
    "monitoring:screening_case_export",
    "monitoring:screening_case_sar_csv",
    "analytics:fairness_report_csv",  # test_security_defaults: a formula in a group value
}


def _url_names(patterns: list, namespace: str = "") -> dict[str, str]:
    from django.urls import URLPattern, URLResolver

    found: dict[str, str] = {}
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found.update(_url_names(pattern.url_patterns, inner))
        elif isinstance(pattern, URLPattern) and pattern.name:
            found[f"{namespace}{pattern.name}"] = str(pattern.pattern)
    return found


def test_every_csv_export_of_the_portal_is_proved_formula_safe():
    """A new CSV download must join the tests above: this lists every route that serves a .csv."""
    from finai import urls

    csv_routes = {name for name, route in _url_names(urls.urlpatterns).items() if ".csv" in route}

    assert csv_routes == CSV_EXPORTS_TESTED


# --- upload limits: every upload bounds its size and its type ----------------------------------------------------

CSV_TEXT = GERMAN_ROWS.encode()
SCHEMA_TEXT = (DATA / "schemas" / "german_credit.yaml").read_bytes()
# (form class, field, page, persona client, other fields of a valid post, the limit to lower, a valid file's bytes)
UPLOADS = {
    "statement": (
        "lending.forms.ApplicationForm",
        "transactions",
        "lending:application_new",
        "officer_client",
        "VALID",
        "lending.forms.MAX_STATEMENT_BYTES",
        STATEMENT.encode(),
    ),
    "data set": (
        "lending.forms.DatasetImportForm",
        "data_file",
        "lending:dataset_list",
        "manager_client",
        {"dataset": "german_credit"},
        "lending.forms.MAX_DATASET_BYTES",
        CSV_TEXT,
    ),
    "data set schema": (
        "lending.forms.DatasetImportForm",
        "schema_file",
        "lending:dataset_list",
        "manager_client",
        {"data_file": ("german.csv", CSV_TEXT)},
        "lending.forms.MAX_SCHEMA_UPLOAD_BYTES",
        SCHEMA_TEXT,
    ),
    "outcomes": (
        "lending.forms.OutcomesImportForm",
        "outcomes_file",
        "lending:outcomes_import",
        "manager_client",
        {},
        "lending.forms.MAX_DATASET_BYTES",
        OUTCOMES.encode(),
    ),
    "decisions": (
        "analytics.fairness_reports.forms.DecisionsUploadForm",
        "file",
        "analytics:fairness_report_upload",
        "compliance_client",
        {"schema": "hmda"},
        "settings.FAIRNESS_UPLOAD_MAX_BYTES",
        HMDA_ROWS.encode(),
    ),
    "decisions schema": (
        "analytics.fairness_reports.forms.DecisionsUploadForm",
        "schema_file",
        "analytics:fairness_report_upload",
        "compliance_client",
        {"file": ("decisions.csv", HMDA_ROWS.encode())},
        "analytics.fairness_reports.forms.MAX_SCHEMA_BYTES",
        SCHEMA_TEXT,
    ),
}


def _signed_in(request: Any, upload: str) -> Any:
    """The client of the persona the upload is for, signed in before anything is counted (signing in is audited)."""
    return request.getfixturevalue(UPLOADS[upload][3])


def _upload_post(client: Any, upload: str, file_name: str, content: bytes) -> Any:
    from tests.lending.views.test_application_form import VALID

    _, field, page, _, others, _, _ = UPLOADS[upload]
    data = dict(VALID) if others == "VALID" else {}
    for name, value in ({} if others == "VALID" else others).items():
        data[name] = SimpleUploadedFile(*value) if isinstance(value, tuple) else value
    data[field] = SimpleUploadedFile(file_name, content)
    return client.post(reverse(page), data)


def _lower_limit(monkeypatch: Any, settings: Any, target: str, limit: int) -> None:
    module, _, name = target.rpartition(".")
    if module == "settings":
        setattr(settings, name, limit)
    else:
        monkeypatch.setattr(f"{module}.{name}", limit)


@pytest.mark.parametrize("upload", UPLOADS)
def test_an_upload_over_its_size_limit_is_refused_on_its_field_and_writes_nothing(
    request, monkeypatch, settings, upload
):
    *_, limit, content = UPLOADS[upload]
    field = UPLOADS[upload][1]
    _lower_limit(monkeypatch, settings, limit, len(content) - 1)
    extension = "yaml" if "schema" in upload else "csv"
    client = _signed_in(request, upload)

    with counts_unchanged(AuditEvent, LoanApplication, FairnessReport) as unchanged:
        response = _upload_post(client, upload, f"upload.{extension}", content)

    assert response.status_code == 400
    assert "larger than" in " ".join(response.context["form"].errors[field])
    unchanged()


@pytest.mark.parametrize("upload", UPLOADS)
@pytest.mark.parametrize("file_name", ["upload.xlsx", "upload.exe", "upload", "upload.csv.pdf"])
def test_an_upload_of_the_wrong_type_is_refused_on_its_field_and_writes_nothing(request, upload, file_name):
    field, content = UPLOADS[upload][1], UPLOADS[upload][-1]
    client = _signed_in(request, upload)

    with counts_unchanged(AuditEvent, LoanApplication, FairnessReport) as unchanged:
        response = _upload_post(client, upload, file_name, content)

    assert response.status_code == 400
    assert "are accepted" in " ".join(response.context["form"].errors[field])
    unchanged()


def test_every_upload_field_of_every_form_is_in_the_limit_tests_and_has_a_type_limit():
    """A new upload must bound its type (and join UPLOADS, whose tests prove its size limit)."""
    from django import forms
    from django.core.validators import FileExtensionValidator

    modules = ["lending.forms", "analytics.forms", "analytics.fairness_reports.forms", "monitoring.forms"]
    modules += ["clustering.forms", "finai.forms"]
    found = set()
    for module in modules:
        for value in vars(import_module(module)).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm) and value.__module__ == module:
                for name, field in value.base_fields.items():
                    if isinstance(field, forms.FileField):
                        found.add((f"{module}.{value.__name__}", name))
                        assert any(isinstance(v, FileExtensionValidator) for v in field.validators), (value, name)

    assert found == {(form, field) for form, field, *_ in UPLOADS.values()}
