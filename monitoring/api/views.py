"""The screening API's operations: parse, call `bookings_screen`, render the verdicts. Nothing else.

Authentication, roles, rate limits, body limits, problem documents and Idempotency-Keys are the loan API's
(`PartnerAPIView`), so a partner integrates both the same way.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from lending.api import openapi
from lending.api.exceptions import ContentTooLarge, flatten_errors
from lending.api.permissions import request_partner, request_scope
from lending.api.views import IDEMPOTENCY_PARAMETER, PartnerAPIView, _idempotency_key, _stored
from lending.services.idempotency import (
    StoredResponse,
    idempotent_response,
    request_fingerprint,
)
from monitoring.api.serializers import (
    BATCH_MAX_BOOKINGS,
    BatchVerdictOutput,
    BookingBatchInput,
    BookingInput,
    VerdictOutput,
)
from monitoring.services.screening import BookingInput as Booking
from monitoring.services.screening import ScreeningVerdict, bookings_screen

BOOKING_MAX_BYTES = 16 * 1024
BATCH_MAX_BYTES = 16 * 1024 * 1024
MAX_LISTED_PROBLEMS = 100
INDEXED = re.compile(r"^transactions\.(\d+)(?=\.|$)")

REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    enum=["true"],
    description="Present when this answers a retry with the same Idempotency-Key.",
    response=[201],
)
EXAMPLE_BOOKING = {
    "transaction_id": "tx-20250304-0003",
    "account": "ACC-1042",
    "amount": "9500.00",
    "direction": "in",
    "kind": "cash",
    "booked_at": "2025-03-04T10:15:00+01:00",
}
EXAMPLE_TRANSFER = {
    "transaction_id": "tx-20250304-0004",
    "account": "ACC-1042",
    "counterparty": "ACC-7731",
    "amount": "120.50",
    "direction": "out",
    "kind": "transfer",
    "booked_at": "2025-03-04T11:02:00Z",
}
EXAMPLE_ALERT_VERDICT = {
    "transaction_id": "tx-20250304-0003",
    "account": "ACC-1042",
    "booked_at": "2025-03-04T09:15:00Z",
    "verdict": "alert",
    "alerts": [
        {
            "rule": "structuring v1",
            "typology": "structuring",
            "score": 1.0,
            "reason": "3 cash deposits between 9,000.00 and 10,000.00 within 7 days (rule: at least 3)",
            "window_start": "2025-02-25T09:15:00Z",
            "window_end": "2025-03-04T09:15:00Z",
            "case_id": 31,
        }
    ],
}
EXAMPLE_CLEAR_VERDICT = {
    "transaction_id": "tx-20250304-0004",
    "account": "ACC-1042",
    "booked_at": "2025-03-04T11:02:00Z",
    "verdict": "clear",
    "alerts": [],
}


def _booking(validated: dict[str, Any]) -> Booking:
    return Booking(
        external_id=validated["transaction_id"],
        account=validated["account"],
        counterparty=validated.get("counterparty") or "",
        amount=validated["amount"],
        direction=validated["direction"],
        kind=validated["kind"],
        booked_at=validated["booked_at"],
    )


def _verdict_data(verdict: ScreeningVerdict) -> dict[str, Any]:
    return {
        "transaction_id": verdict.transaction.external_id,
        "account": verdict.booking.account,
        "booked_at": verdict.transaction.booked_at,
        "verdict": verdict.verdict,
        "alerts": [
            {
                "rule": alert.rule,
                "typology": alert.typology,
                "score": alert.score,
                "reason": alert.reason,
                "window_start": alert.window_start,
                "window_end": alert.window_end,
                "case_id": alert.case_id,
            }
            for alert in verdict.alerts
        ],
    }


def _batch_problems(errors: Any) -> dict[str, list[str]]:
    """The batch's problems named by position (`transactions[3].amount`), at most MAX_LISTED_PROBLEMS of them."""
    found = flatten_errors(errors)
    named: dict[str, list[str]] = {}
    for item in found[:MAX_LISTED_PROBLEMS]:
        named.setdefault(INDEXED.sub(r"transactions[\1]", item["field"]), []).append(item["detail"])
    if len(found) > MAX_LISTED_PROBLEMS:
        named.setdefault("transactions", []).append(f"{len(found) - MAX_LISTED_PROBLEMS} further problems not listed")
    return named


def _screened(
    request: Request, *, validate: Any, render: Any, status_code: int = status.HTTP_201_CREATED
) -> StoredResponse:
    """Answer once per Idempotency-Key: a retry of the same body replays the stored answer and screens nothing.

    No look-up before the work: a retry's bookings are stored already, so its screening is refused at once
    and `idempotent_response` replays the stored answer; a first request costs one statement fewer.
    """
    key = _idempotency_key(request)
    scope = request_scope(request)
    fingerprint = request_fingerprint(method="POST", path=request.path, mode="", body=request.data)
    bookings = validate()
    partner = request_partner(request)

    def produce() -> tuple[int, Any, str]:
        return status_code, render(bookings_screen(bookings=bookings, partner=partner)), ""

    return idempotent_response(scope=scope, key=key, fingerprint=fingerprint, produce=produce)


class ScreeningTransactionCreateView(PartnerAPIView):
    max_body_bytes = BOOKING_MAX_BYTES

    @extend_schema(
        operation_id="screening_transactions_create",
        summary="Screen one booking",
        description="The booking is stored and screened at once against its account's history under every active "
        "scenario (cycles, which need every account's bookings, are found by the daily run). `alert` names each "
        "rule that fired on a window holding this booking, and the compliance case it joined. A transaction id "
        "you sent before answers 409.",
        tags=["screening"],
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER, openapi.RETRY_AFTER],
        request=BookingInput,
        responses={
            201: OpenApiResponse(VerdictOutput, description="Stored and screened."),
            **openapi.problem_responses(400, 401, 403, 409, 413, 415, 422),
        },
        examples=[
            OpenApiExample("A cash deposit", value=EXAMPLE_BOOKING, request_only=True),
            OpenApiExample("A transfer", value=EXAMPLE_TRANSFER, request_only=True),
            OpenApiExample("Alert", value=EXAMPLE_ALERT_VERDICT, response_only=True, status_codes=["201"]),
            OpenApiExample("Clear", value=EXAMPLE_CLEAR_VERDICT, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        def validate() -> list[Booking]:
            serializer = BookingInput(data=request.data)
            serializer.is_valid(raise_exception=True)
            return [_booking(serializer.validated_data)]

        def render(verdicts: list[ScreeningVerdict]) -> Any:
            return VerdictOutput(_verdict_data(verdicts[0])).data

        return _stored(request, _screened(request, validate=validate, render=render))


class ScreeningBatchCreateView(PartnerAPIView):
    max_body_bytes = BATCH_MAX_BYTES

    @extend_schema(
        operation_id="screening_batches_create",
        summary=f"Screen up to {BATCH_MAX_BOOKINGS:,} bookings",
        description='`{"transactions": [...]}`, each booking as for a single one. All or nothing: one invalid '
        "booking refuses the batch, naming each problem by position (`transactions[3].amount`, the first "
        f"{MAX_LISTED_PROBLEMS}); otherwise every booking is stored and the batch screened in one pass, each "
        "against its account's history and the other bookings of the batch. One verdict per booking, in the "
        "order sent.",
        tags=["screening"],
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER, openapi.RETRY_AFTER],
        request=BookingBatchInput,
        responses={
            201: OpenApiResponse(BatchVerdictOutput, description="Stored and screened."),
            **openapi.problem_responses(400, 401, 403, 409, 413, 415, 422),
        },
        examples=[
            OpenApiExample(
                "Two bookings", value={"transactions": [EXAMPLE_BOOKING, EXAMPLE_TRANSFER]}, request_only=True
            ),
            OpenApiExample(
                "Their verdicts",
                value={"count": 2, "alerts": 1, "transactions": [EXAMPLE_ALERT_VERDICT, EXAMPLE_CLEAR_VERDICT]},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        def validate() -> list[Booking]:
            records = request.data.get("transactions") if isinstance(request.data, dict) else None
            if isinstance(records, list) and len(records) > BATCH_MAX_BOOKINGS:
                raise ContentTooLarge(
                    f"A batch holds at most {BATCH_MAX_BOOKINGS:,} bookings; this one has {len(records):,}."
                )
            envelope = BookingBatchInput(data=request.data)
            if not envelope.is_valid():
                raise serializers.ValidationError(_batch_problems(envelope.errors))
            return [_booking(validated) for validated in envelope.validated_data["transactions"]]

        def render(verdicts: list[ScreeningVerdict]) -> Any:
            return BatchVerdictOutput(
                {
                    "count": len(verdicts),
                    "alerts": sum(verdict.verdict == "alert" for verdict in verdicts),
                    "transactions": [_verdict_data(verdict) for verdict in verdicts],
                }
            ).data

        return _stored(request, _screened(request, validate=validate, render=render))
