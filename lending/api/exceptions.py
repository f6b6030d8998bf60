"""Every error as `application/problem+json` (RFC 9457), translated in one place, each bad field named.

Status codes: 400 malformed (unparseable body, missing or bad header or query parameter), 401 no or bad
key, 403 authenticated but not allowed, 404 not found or another partner's, 409 conflicts with the
record's state, 413 too large, 415 unsupported media type, 422 well-formed but invalid (each field
named under `errors`; also an Idempotency-Key reused for a different request), 429 rate limited
(with Retry-After).
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from finai.errors import ApplicationError
from lending.api.renderers import ProblemJSONRenderer

PROBLEM_TYPE_BASE = "/api/docs/#problem-"
# ApplicationError codes that are not "invalid input" (422).
STATUS_BY_CODE = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "conflict": status.HTTP_409_CONFLICT,
    "invalid_transition": status.HTTP_409_CONFLICT,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
}


class InvalidRequest(exceptions.APIException):
    """A malformed request outside the body: a missing or bad header or query parameter (400)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"

    def __init__(self, message: str, *, errors: dict[str, Any]) -> None:
        super().__init__(message)
        self.errors = errors


class ContentTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail as [{"field": "loan.amount", "detail": "..."}], one entry per problem."""
    if isinstance(detail, dict):
        found = []
        for name, value in detail.items():
            field = "" if name in ("non_field_errors", "__all__") else str(name)
            found += flatten_errors(value, f"{prefix}.{field}".strip(".") if field else prefix)
        return found
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [{"field": prefix, "detail": str(item)} for item in detail]
        found = []
        for index, value in enumerate(detail):
            found += flatten_errors(value, f"{prefix}.{index}".strip("."))
        return found
    return [{"field": prefix, "detail": str(detail)}]


def _problem(*, status_code: int, code: str, detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(request: HttpRequest, *, status_code: int, code: str, detail: str) -> JsonResponse:
    """A problem document from a plain Django view (outside DRF, whose errors go through the handler below)."""
    body = {**_problem(status_code=status_code, code=code, detail=detail), "instance": request.get_full_path()}
    return JsonResponse(body, status=status_code, content_type=ProblemJSONRenderer.media_type)


def _translate(exc: Exception) -> tuple[int, str, str, list[dict[str, str]]] | None:
    """(status, code, detail, errors) for the exceptions the API answers; None for anything else."""
    if isinstance(exc, ApplicationError):
        errors = [{"field": str(field), "detail": str(problem)} for field, problem in exc.details.items()]
        return STATUS_BY_CODE.get(exc.code, status.HTTP_422_UNPROCESSABLE_ENTITY), exc.code, exc.message, errors
    if isinstance(exc, Http404):
        return status.HTTP_404_NOT_FOUND, "not_found", "Not found.", []
    if isinstance(exc, PermissionDenied):
        return status.HTTP_403_FORBIDDEN, "permission_denied", str(exc) or "Not allowed.", []
    if isinstance(exc, InvalidRequest):
        errors = [{"field": field, "detail": str(problem)} for field, problem in exc.errors.items()]
        return exc.status_code, "bad_request", str(exc.detail), errors
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        return status.HTTP_422_UNPROCESSABLE_ENTITY, "invalid", "The request is invalid; see errors.", errors
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else "; ".join(map(str, flatten_errors(exc.detail)))
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        return exc.status_code, str(code), str(detail), []
    return None


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: a problem document for every error the API expects; None lets 500s be 500s."""
    translated = _translate(exc)
    if translated is None:
        return None
    status_code, code, detail, errors = translated
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait or 1)))
    request = context.get("request")
    if request is not None:
        # Errors are problem documents whatever the client negotiated (CSV results included).
        request.accepted_renderer, request.accepted_media_type = ProblemJSONRenderer(), ProblemJSONRenderer.media_type
    body = _problem(status_code=status_code, code=code, detail=detail, errors=errors)
    if request is not None:
        body["instance"] = request.get_full_path()
    return Response(body, status=status_code, headers=headers)
