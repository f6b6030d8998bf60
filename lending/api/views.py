"""The partner API's operations: parse, call a service or selector, render. Nothing else."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from analytics.engine.dataset_schema import NAME_PATTERN
from analytics.services.serving import scoring_versions_pinned
from finai.artifacts import ArtifactUnavailable
from finai.errors import ApplicationError
from lending.api import openapi
from lending.api.authentication import PartnerKeyAuthentication
from lending.api.exceptions import (
    PROBLEM_TYPE_BASE,
    ContentTooLarge,
    InvalidRequest,
    flatten_errors,
    problem_exception_handler,
    problem_response,
)
from lending.api.features import FeatureRules, known_products, product_rules, protected_names
from lending.api.parsers import CSVParser, LimitedJSONParser
from lending.api.permissions import IsPartnerOrStaff, request_partner, request_scope
from lending.api.renderers import CSVRenderer, ProblemJSONRenderer
from lending.api.representations import (
    application_data,
    batch_data,
    batch_result_csv_row,
    batch_result_data,
    batch_summary_data,
    outcome_data,
    submitted_application_data,
)
from lending.api.selectors import (
    api_application_get,
    api_application_list,
    api_batch_get,
    api_batch_list,
    api_loan_get,
    record_id,
)
from lending.api.serializers import (
    PROTECTED_MESSAGE,
    ApplicationFilterInput,
    ApplicationInput,
    ApplicationOutput,
    ApplicationPageOutput,
    ApplicationSubmitQuery,
    BatchInput,
    BatchOutput,
    BatchPageOutput,
    BatchResultOutput,
    BatchSummaryOutput,
    OutcomeInput,
    OutcomeOutput,
    PageQuery,
)
from lending.api.throttling import PartnerRateThrottle
from lending.models import LoanApplication
from lending.services.applications import ApplicantDetails, LoanRequest
from lending.services.batches import BATCH_MAX_ROWS, BatchRow, batch_results, batch_submit
from lending.services.idempotency import (
    StoredResponse,
    idempotency_stored_response,
    idempotent_response,
    request_fingerprint,
)
from lending.services.partners import partner_application_submit, partner_loan_outcome_record

IDEMPOTENCY_HEADER = "Idempotency-Key"
APPLICATION_MAX_BYTES = 64 * 1024
BATCH_MAX_BYTES = 32 * 1024 * 1024
CSV_LOAN_COLUMNS = {"applicant_reference", "full_name", "email", "amount", "term_months", "purpose"}
DOCS_DIR = Path(__file__).resolve().parent / "docs"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=openapi.IDEMPOTENCY_KEY_PATTERN,
    description="A unique key per request (e.g. a UUID); retries of the same request reuse it.",
)

BATCH_PRODUCT_PARAMETER = OpenApiParameter(
    "product",
    str,
    OpenApiParameter.QUERY,
    required=False,
    description="CSV bodies: the product of every row (the default product when left out).",
)

# A model found untrustworthy stays so until an operator restores its artifact or promotes another: minutes.
MODEL_UNAVAILABLE_RETRY_AFTER_SECONDS = 300


class PartnerAPIView(APIView):
    """Bearer keys for partners, sessions for staff; problem documents for every error."""

    authentication_classes = [PartnerKeyAuthentication, SessionAuthentication]
    permission_classes = [IsPartnerOrStaff]
    throttle_classes = [PartnerRateThrottle]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer]
    max_body_bytes = APPLICATION_MAX_BYTES

    def get_exception_handler(self) -> Any:
        return problem_exception_handler

    def finalize_response(self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request, "rate_limit", None)  # left by PartnerRateThrottle
        if decision is not None:
            for name, value in decision.headers().items():
                response[name] = value
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:  # DRF's answer to an unknown ?format=
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise InvalidRequest("Unknown format.", errors={"format": f"must be one of {formats}"}) from None


class ApiCursorPagination(CursorPagination):
    """Newest first; a cursor FinAI did not issue is a malformed request (400), never a server error."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        number = record_id(raw)
        if number is None or number > self.max_page_size:
            raise InvalidRequest(
                "Invalid page size.", errors={"page_size": f"must be a whole number from 1 to {self.max_page_size}"}
            )
        return number

    def decode_cursor(self, request: Request) -> Any:
        if request.query_params.get(self.cursor_query_param) == "":
            raise InvalidRequest("Invalid cursor.", errors={"cursor": "use the `next` or `previous` link as given"})
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = False
        if cursor is False or (cursor is not None and cursor.position is not None and not record_id(cursor.position)):
            raise InvalidRequest("Invalid cursor.", errors={"cursor": "use the `next` or `previous` link as given"})
        return cursor


def _query(
    serializer_class: type[serializers.Serializer], request: Request, *, listing: bool = False
) -> dict[str, Any]:
    """Validated query parameters; problems are a malformed request (400) naming each parameter.

    A parameter given twice is refused rather than one of its values picked. A list also refuses parameters
    it does not know (its filters, the page's `cursor` and `page_size`, and `format`), so a misspelt filter
    or page size never silently answers the default page."""
    validator = _query_validator(serializer_class)
    known = {*validator.fields, api_settings.URL_FORMAT_OVERRIDE}
    if listing:
        known |= {*_query_validator(PageQuery).fields}
    errors: dict[str, str] = {}
    for name in request.query_params:
        if name not in known:
            if listing:
                errors[name[:50]] = f"is not a parameter of this list (known: {', '.join(sorted(known))})"
        elif len(request.query_params.getlist(name)) > 1:
            errors[name] = "must be given at most once"
    validated: dict[str, Any] = {}
    try:
        validated = validator.run_validation(request.query_params)
    except serializers.ValidationError as invalid:
        errors.update({item["field"]: item["detail"] for item in flatten_errors(invalid.detail)})
    if errors:
        raise InvalidRequest("Some query parameters are invalid.", errors=errors)
    return validated


@functools.cache
def _query_validator(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One instance per query serializer, as for applications (`_application_validator`): building one deep-copies
    its fields, and `run_validation` keeps no state on it."""
    return serializer_class()


def _idempotency_key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise InvalidRequest(
            "An Idempotency-Key header is required.",
            errors={IDEMPOTENCY_HEADER: "is required: send a new unique value (e.g. a UUID) with each new request"},
        )
    if len(key) > 255 or not all(" " <= character <= "~" for character in key):
        raise InvalidRequest(
            "Invalid Idempotency-Key header.",
            errors={IDEMPOTENCY_HEADER: "must be 1 to 255 visible ASCII characters"},
        )
    return key


def _stored(request: Request, stored: StoredResponse) -> Response:
    headers = {"Location": request.build_absolute_uri(stored.location)} if stored.location else {}
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    if stored.status == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = str(MODEL_UNAVAILABLE_RETRY_AFTER_SECONDS)
        return Response(stored.body, status=stored.status, headers=headers, content_type=ProblemJSONRenderer.media_type)
    return Response(stored.body, status=stored.status, headers=headers)


def _model_unavailable(application: LoanApplication) -> tuple[int, dict[str, Any], str]:
    """The stored answer to a sync submission no trustworthy model can decide now (its artifact failed its hash
    check: the details are in the error log, never in the answer). The application is stored and waits; its URL
    is where the decision will appear, and a retry with the same key replays this answer."""
    url = reverse("api:application-detail", args=[application.pk])
    body = {
        "type": f"{PROBLEM_TYPE_BASE}model_unavailable",
        "title": "Service unavailable",
        "status": status.HTTP_503_SERVICE_UNAVAILABLE,
        "detail": "No model can decide this application right now. It is stored and will be decided as soon as "
        "one can: read its URL for the decision.",
        "code": "model_unavailable",
        "application": {"id": application.pk, "url": url, "status": application.status},
    }
    return status.HTTP_503_SERVICE_UNAVAILABLE, body, url


def _product_rules(data: Any) -> FeatureRules:
    """The rules of the product a request names (the default product when it names none), read once per
    request; an unknown product is refused by name, and only then are the known ones listed."""
    named = data.get("product") if isinstance(data, dict) else None
    if named is not None and not isinstance(named, str):
        raise serializers.ValidationError({"product": "must be the name of a product, e.g. consumer_loan"})
    named = settings.DEFAULT_PRODUCT if named is None else named
    try:
        if not NAME_PATTERN.match(named):  # product names are a schema's: no lookup for anything else
            raise ApplicationError("Not a product name.")
        return product_rules(named)
    except ApplicationError:
        known = ", ".join(known_products()) or "none yet"
        raise serializers.ValidationError(
            {"product": f"{named[:50]!r} is not a product FinAI decides (known: {known})"}
        ) from None


# One validating serializer per rules object (they are built once per champion), kept with the rules it serves:
# a new serializer per request deep-copies its few dozen fields, about a millisecond. `run_validation` keeps no
# state on the serializer, so one instance serves every request (and thread) of the process.
_validators: dict[int, tuple[FeatureRules, ApplicationInput]] = {}
_VALIDATORS_KEPT = 32


def _application_validator(rules: FeatureRules) -> ApplicationInput:
    kept = _validators.get(id(rules))
    if kept is not None and kept[0] is rules:
        return kept[1]
    validator = ApplicationInput(context={"feature_rules": rules})
    if len(_validators) >= _VALIDATORS_KEPT:
        _validators.clear()
    _validators[id(rules)] = (rules, validator)
    return validator


# One output serializer for every application answer: `.data` of a new one first deep-copies its nested fields,
# a quarter of a millisecond per decision; `to_representation` keeps no state, so one instance serves every request.
_application_output = ApplicationOutput()


def _application_body(data: dict[str, Any]) -> dict[str, Any]:
    return _application_output.to_representation(data)


def _loan_request(validated: dict[str, Any], rules: FeatureRules) -> tuple[ApplicantDetails, LoanRequest]:
    applicant, loan = validated.get("applicant", {}), validated["loan"]
    return (
        ApplicantDetails(
            reference=applicant.get("reference", ""),
            full_name=applicant.get("full_name", ""),
            email=applicant.get("email", ""),
        ),
        LoanRequest(
            amount=loan["amount"],
            term_months=loan.get("term_months"),  # none given: the product's default term, if it has one
            purpose=loan.get("purpose", ""),
            features=validated["features"],
            product=rules.product,
        ),
    )


class ApplicationListCreateView(PartnerAPIView):
    @extend_schema(
        operation_id="applications_list",
        summary="List your applications",
        parameters=[ApplicationFilterInput, PageQuery, openapi.RETRY_AFTER],
        responses={200: ApplicationPageOutput, **openapi.problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = _query(ApplicationFilterInput, request, listing=True)
        applications = api_application_list(partner=request_partner(request), **filters)
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(applications, request, view=self)
        return paginator.get_paginated_response([_application_body(application_data(a)) for a in page])

    @extend_schema(
        operation_id="applications_create",
        summary="Submit an application",
        description="Stored first, then decided: with `mode=sync` before answering (201 with the decision, or "
        "202 if no model can decide yet); otherwise 202 at once, with a Location to poll.",
        parameters=[IDEMPOTENCY_PARAMETER, ApplicationSubmitQuery, *openapi.CREATED_HEADERS, openapi.RETRY_AFTER],
        request=ApplicationInput,
        responses={
            201: OpenApiResponse(ApplicationOutput, description="Decided (sync mode)."),
            202: OpenApiResponse(ApplicationOutput, description="Stored; the decision follows. Poll Location."),
            **openapi.problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
        },
        examples=[
            OpenApiExample("An application", value=openapi.EXAMPLE_APPLICATION, request_only=True),
            OpenApiExample("Decided", value=openapi.EXAMPLE_DECIDED, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        mode = _query(ApplicationSubmitQuery, request)["mode"]
        scope = request_scope(request)
        fingerprint = request_fingerprint(method="POST", path=request.path, mode=mode, body=request.data)
        # No look-up of the key first: a retry does the work again inside idempotent_response, whose insert of the
        # key then fails, rolls the work back and replays the first answer. One statement fewer for every new
        # submission, which is nearly all of them.
        with scoring_versions_pinned():  # the rules, the check and the decision from one champion
            stored = self._submit(request, scope=scope, key=key, fingerprint=fingerprint, mode=mode)
        return _stored(request, stored)

    def _submit(self, request: Request, *, scope: str, key: str, fingerprint: str, mode: str) -> StoredResponse:
        try:
            rules = _product_rules(request.data)
            validated = _application_validator(rules).run_validation(request.data)
        except serializers.ValidationError:
            # Refused as it stands; but a retry of an answered request replays that answer even if the rules
            # have changed since, and a key reused for another request is named as such.
            stored = idempotency_stored_response(scope=scope, key=key, fingerprint=fingerprint)
            if stored is None:
                raise
            return stored
        applicant, loan_request = _loan_request(validated, rules)
        partner = request_partner(request)

        def produce() -> tuple[int, Any, str]:
            submission = partner_application_submit(
                applicant=applicant,
                request=loan_request,
                partner=partner,
                submitted_by=None if partner else request.user,
                mode=mode,
            )
            if mode == "sync" and submission.waiting_because in ArtifactUnavailable.CODES:
                return _model_unavailable(submission.application)
            data = submitted_application_data(submission)  # the response from the rows just written
            if data is None:
                data = application_data(api_application_get(partner=partner, application_id=submission.application.pk))
            body = _application_body(data)
            status_code = status.HTTP_201_CREATED if body["decision"] else status.HTTP_202_ACCEPTED
            return status_code, body, body["url"]

        return idempotent_response(scope=scope, key=key, fingerprint=fingerprint, produce=produce)


class ApplicationDetailView(PartnerAPIView):
    @extend_schema(
        operation_id="applications_retrieve",
        summary="Read an application and its decision",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH), openapi.RETRY_AFTER],
        responses={200: ApplicationOutput, **openapi.problem_responses(401, 403, 404)},
        examples=[OpenApiExample("Decided", value=openapi.EXAMPLE_DECIDED, response_only=True)],
    )
    def get(self, request: Request, id: str) -> Response:
        application = api_application_get(partner=request_partner(request), application_id=id)
        if application is None:
            raise NotFound("No such application.")
        return Response(_application_body(application_data(application)))


def _csv_records(text: str, rules: FeatureRules) -> list[dict[str, Any]]:
    """CSV rows as application objects: loan columns by name, every other column a characteristic."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidRequest("The CSV cannot be read.", errors={"body": f"line {reader.line_num}: {exc}"}) from None
    problems = {column: "appears more than once" for column in header if header.count(column) > 1}
    if "amount" not in header:
        loan_columns = ", ".join(["amount", *(name for name in ("term_months", "purpose") if rules.takes(name))])
        problems["amount"] = f"a header row naming the columns ({loan_columns}, ...) is required"
    for number, row in enumerate(rows, start=2):
        if None in row:
            problems[f"line {number}"] = "has more cells than the header"
    if problems:
        raise InvalidRequest("The CSV is malformed.", errors=problems)
    unknown = {
        column: PROTECTED_MESSAGE if column in protected_names() else f"is not a column of {rules.product} applications"
        for column in header
        if column not in CSV_LOAN_COLUMNS and column not in rules.fields
    }
    # A term or purpose column the product's schema does not map is refused as a column, not row by row.
    for column in ("term_months", "purpose"):
        if column in header and not rules.takes(column):
            unknown[column] = rules.refusal(column)
    if unknown:
        raise serializers.ValidationError(unknown)
    records = []
    for row in rows:
        record: dict[str, Any] = {"applicant": {}, "loan": {}, "features": {}}
        for column, value in row.items():
            if not value:
                continue
            if column == "applicant_reference":
                record["applicant"]["reference"] = value
            elif column in ("full_name", "email"):
                record["applicant"][column] = value
            elif column in CSV_LOAN_COLUMNS:
                record["loan"][column] = value
            else:
                record["features"][column] = _csv_feature_value(rules, column, value)
        records.append(record)
    return records


def _csv_feature_value(rules: FeatureRules, column: str, value: str) -> Any:
    field = rules.fields.get(column)
    if field is None or field["type"] != "numeric":
        return value
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    return int(number) if number == number.to_integral_value() and abs(number) < 10**15 else float(number)


def _refuse_too_many(records: Any) -> None:
    if isinstance(records, list) and len(records) > BATCH_MAX_ROWS:
        raise ContentTooLarge(f"A batch holds at most {BATCH_MAX_ROWS} applications; this one has {len(records)}.")


def _batch_rows(records: list[Any], rules: FeatureRules) -> list[BatchRow]:
    """Each record validated as one application would be, by one serializer reused for every row (a new one per
    row deep-copies its fields each time: three quarters of a 10,000-row batch's submission)."""
    validator = _application_validator(rules)
    rows = []
    for record in records:
        try:
            validated = validator.run_validation(record)
        except serializers.ValidationError as exc:
            errors: dict[str, str] = {}
            for item in flatten_errors(exc.detail):
                field, detail = _storable(item["field"] or "application"), _storable(item["detail"])
                errors[field] = f"{errors[field]}; {detail}" if field in errors else detail
            rows.append(BatchRow(payload={}, errors=errors))
        else:
            applicant, loan_request = _loan_request(validated, rules)
            payload = {
                "applicant": {
                    "reference": applicant.reference,
                    "full_name": applicant.full_name,
                    "email": applicant.email,
                },
                "loan": {
                    "amount": str(loan_request.amount),
                    "term_months": loan_request.term_months,
                    "purpose": loan_request.purpose,
                },
                "features": loan_request.features,
            }
            rows.append(BatchRow(payload=payload, errors={}))
    return rows


def _storable(text: str) -> str:
    """A row's errors are stored as JSON, which Postgres cannot hold U+0000 in: a partner's key or value with
    one is named with it escaped, so the row is refused by name instead of the batch failing."""
    return text.replace("\x00", "\\u0000")


class BatchListCreateView(PartnerAPIView):
    parser_classes = [LimitedJSONParser, CSVParser]
    max_body_bytes = BATCH_MAX_BYTES

    @extend_schema(
        operation_id="batches_list",
        summary="List your batches",
        parameters=[PageQuery, openapi.RETRY_AFTER],
        responses={200: BatchPageOutput, **openapi.problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        _query(serializers.Serializer, request, listing=True)  # no filters yet: the page's parameters only
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(api_batch_list(partner=request_partner(request)), request, view=self)
        return paginator.get_paginated_response(
            BatchSummaryOutput([batch_summary_data(b) for b in page], many=True).data
        )

    @extend_schema(
        operation_id="batches_create",
        summary="Submit up to 10,000 applications",
        description='JSON `{"product": ..., "applications": [...]}` (each as for a single application) or CSV '
        "with a header row: `applicant_reference`, `full_name`, `email`, `amount`, `term_months` and `purpose` "
        "(where the product's schema maps them), then one column per characteristic. One product per batch: "
        "the envelope's `product`, or `?product=` for CSV; the default product when neither is given. Every "
        "row is stored at once; invalid rows are reported per row in the batch.",
        parameters=[IDEMPOTENCY_PARAMETER, BATCH_PRODUCT_PARAMETER, *openapi.CREATED_HEADERS, openapi.RETRY_AFTER],
        request={"application/json": BatchInput, "text/csv": OpenApiTypes.STR},
        responses={
            202: OpenApiResponse(BatchOutput, description="Stored; rows are decided in the background."),
            **openapi.problem_responses(400, 401, 403, 413, 415, 422),
        },
        examples=[
            OpenApiExample(
                "Two applications",
                value={"applications": [openapi.EXAMPLE_APPLICATION, openapi.EXAMPLE_APPLICATION]},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        scope = request_scope(request)
        # One product per batch: the JSON envelope's `product`, else `?product=` (CSV has no envelope).
        queried = request.query_params.get("product")
        fingerprint = request_fingerprint(
            method="POST", path=request.path, mode=f"product={queried}" if queried else "", body=request.data
        )
        stored = idempotency_stored_response(scope=scope, key=key, fingerprint=fingerprint)
        if stored is None:
            named = request.data if isinstance(request.data, dict) and "product" in request.data else {}
            rules = _product_rules(named or {"product": queried})
            if isinstance(request.data, str):
                records = _csv_records(request.data, rules)
            else:
                _refuse_too_many(request.data.get("applications") if isinstance(request.data, dict) else None)
                envelope = BatchInput(data=request.data)
                envelope.is_valid(raise_exception=True)
                records = envelope.validated_data["applications"]
            _refuse_too_many(records)
            rows = _batch_rows(records, rules)
            partner = request_partner(request)

            def produce() -> tuple[int, Any, str]:
                batch = batch_submit(
                    rows=rows, partner=partner, submitted_by=None if partner else request.user, product=rules.product
                )
                body = BatchOutput(batch_data(batch)).data
                return status.HTTP_202_ACCEPTED, body, body["url"]

            stored = idempotent_response(scope=scope, key=key, fingerprint=fingerprint, produce=produce)
        return _stored(request, stored)


def _batch_or_404(request: Request, id: str) -> Any:
    batch = api_batch_get(partner=request_partner(request), batch_id=id)
    if batch is None:
        raise NotFound("No such batch.")
    return batch


class BatchDetailView(PartnerAPIView):
    @extend_schema(
        operation_id="batches_retrieve",
        summary="A batch's progress and per-row errors",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH), openapi.RETRY_AFTER],
        responses={200: BatchOutput, **openapi.problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(BatchOutput(batch_data(_batch_or_404(request, id))).data)


class BatchResultsView(PartnerAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="batches_results",
        summary="Every row's result, as JSON or CSV",
        description="Send `Accept: text/csv` (or `?format=csv`) for CSV. Decisions are read live, so rows "
        "stored before a model could decide show their decision once it is made.",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH),
            OpenApiParameter("format", str, OpenApiParameter.QUERY, enum=["json", "csv"], required=False),
            openapi.RETRY_AFTER,
        ],
        responses={
            (200, "application/json"): BatchResultOutput(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            **openapi.problem_responses(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, id: str) -> Response:
        rows = batch_results(batch=_batch_or_404(request, id))
        if request.accepted_renderer.format == CSVRenderer.format:
            return Response([batch_result_csv_row(row) for row in rows])
        return Response(BatchResultOutput([batch_result_data(row) for row in rows], many=True).data)


class LoanOutcomeCreateView(PartnerAPIView):
    @extend_schema(
        operation_id="loans_outcomes_create",
        summary="Report a funded loan's repayment status",
        description="One report per loan and date; a second for the same date answers 409.",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The funded loan's id."),
            openapi.RETRY_AFTER,
        ],
        request=OutcomeInput,
        responses={201: OutcomeOutput, **openapi.problem_responses(400, 401, 403, 404, 409, 413, 415, 422)},
        examples=[
            OpenApiExample(
                "Paid on time",
                value={"status": "current", "days_past_due": 0, "as_of": "2025-06-30"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, id: str) -> Response:
        partner = request_partner(request)
        loan = api_loan_get(partner=partner, loan_id=id)
        if loan is None:
            raise NotFound("No such loan.")
        serializer = OutcomeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = partner_loan_outcome_record(
            loan=loan,
            **serializer.validated_data,
            actor=None if partner else request.user,
            actor_label=f"partner:{partner.name}" if partner else "",
        )
        return Response(OutcomeOutput(outcome_data(outcome)).data, status=status.HTTP_201_CREATED)


SAFE_METHODS_ALLOWED = "GET, HEAD, OPTIONS"


@csrf_exempt  # it changes nothing, and a POST must be told "no such path", never "CSRF cookie not set"
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under /api/, whatever the method: a problem document rather than an HTML page."""
    return problem_response(
        request, status_code=404, code="not_found", detail="No API operation at this path; see /api/docs/."
    )


def _read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The documentation's plain Django views: GET and HEAD; any other method a 405 problem naming those
    allowed (CSRF-exempt, as they change nothing, so the answer is never Django's HTML CSRF page)."""

    @csrf_exempt
    @wraps(view)
    def read_only_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        if request.method == "OPTIONS":
            response = HttpResponse(status=status.HTTP_204_NO_CONTENT)
        else:
            detail = f'Method "{request.method}" not allowed.'
            response = problem_response(request, status_code=405, code="method_not_allowed", detail=detail)
        response["Allow"] = SAFE_METHODS_ALLOWED
        return response

    return read_only_view


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, public; its errors (a wrong method, an unknown format) are problem documents too."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get_exception_handler(self) -> Any:
        return problem_exception_handler


@_read_only
def docs(request: HttpRequest) -> HttpResponse:
    """Interactive documentation rendered from /api/schema/ by a small local script (no CDN)."""
    return FileResponse((DOCS_DIR / "index.html").open("rb"), content_type="text/html; charset=utf-8")


@_read_only
def docs_script(request: HttpRequest) -> HttpResponse:
    return FileResponse((DOCS_DIR / "docs.js").open("rb"), content_type="text/javascript; charset=utf-8")


@_read_only
def docs_stylesheet(request: HttpRequest) -> HttpResponse:
    return FileResponse((DOCS_DIR / "docs.css").open("rb"), content_type="text/css; charset=utf-8")
