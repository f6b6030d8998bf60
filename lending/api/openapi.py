"""OpenAPI details drf-spectacular cannot infer: the bearer scheme, live feature fields, strict inputs.

The `features` object is generated from the product's current rules (the champion's categories), so
the schema a partner reads is exactly what the API will accept today.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from lending.api.features import FeatureRules, feature_rules
from lending.api.serializers import MAX_FEATURE_NUMBER, ProblemOutput

PROBLEM_MEDIA_TYPE = "application/problem+json"
IDEMPOTENCY_KEY_PATTERN = r"^[!-~][ -~]{0,254}$"
STATUS_MEANINGS = {
    400: "Malformed: unparseable body, or a missing or invalid header or query parameter (each named).",
    401: "No API key, or an unknown or revoked one.",
    403: "Authenticated, but not allowed (a staff user without the role).",
    404: "No such record, or it belongs to another partner.",
    409: "Conflicts with the record's current state.",
    413: "The body (or the number of rows) is larger than the operation accepts.",
    415: "The body's Content-Type is not one the operation accepts.",
    422: "Well-formed but invalid; every invalid field is named under `errors`.",
    429: "Rate limit reached; retry after the number of seconds in Retry-After.",
}
RETRY_AFTER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, description="Seconds to wait before retrying.", response=[429]
)
CREATED_HEADERS = [
    OpenApiParameter(
        "Location", str, OpenApiParameter.HEADER, description="Where to read (poll) the resource.", response=[201, 202]
    ),
    OpenApiParameter(
        "Idempotent-Replayed",
        str,
        OpenApiParameter.HEADER,
        enum=["true"],
        description="Present when this answers a retry with the same Idempotency-Key.",
        response=[201, 202],
    ),
]

API_DESCRIPTION = """
Credit decisions for partners: submit applications (one at a time or in batches of up to 10,000),
receive the decision — outcome, probability of default, score and up to four principal reasons — and
report repayment so the models learn from real outcomes.

**Authentication.** Send `Authorization: Bearer <key>`. A key belongs to one partner organisation and
sees only that organisation's records (another partner's id answers 404). Keys are shown once when
issued (`manage.py create_partner`), stored only as a SHA-256 hash, and can be revoked.

**Idempotency.** `POST /api/v1/applications/` and `POST /api/v1/batches/` require an
`Idempotency-Key` header (1-255 visible ASCII characters, e.g. a UUID). Retrying with the same key
and the same body returns the original response (with `Idempotent-Replayed: true`) and creates
nothing; the same key with a different body is refused with 422.

**Errors** are `application/problem+json` (RFC 9457) with `code` and `errors`, one entry per invalid
field (`{"field": "loan.amount", "detail": "..."}`).

**Rate limits** apply per partner; beyond them the answer is 429 with `Retry-After`.

**Webhooks.** A partner with a webhook URL receives `POST {"type": "application.decided", ...}` for
each decision, signed `FinAI-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Verify it with the webhook secret in constant time and refuse timestamps older than five minutes.
Failed deliveries (non-2xx or unreachable) are retried with exponential back-off; `FinAI-Delivery`
stays the same across retries so duplicates can be dropped.

**Protected attributes** (sex, age, marital status, national origin, race/ethnicity) are never
accepted: ECOA / Regulation B forbid them as decision inputs, and the API refuses them by name.
""".strip()

EXAMPLE_APPLICATION = {
    "applicant": {"reference": "customer-1042", "full_name": "Alex Example", "email": "alex@example.com"},
    "loan": {"amount": "2500.00", "term_months": 24, "purpose": "car (used)"},
    "features": {
        "status_of_existing_checking_account": "0 <= ... < 200 DM",
        "credit_history": "existing credits paid back duly till now",
        "savings_account_and_bonds": "... < 100 DM",
        "present_employment_since": "1 <= ... < 4 years",
        "installment_rate_in_percentage_of_disposable_income": 3,
        "other_debtors_or_guarantors": "none",
        "present_residence_since": 2,
        "property": "real estate",
        "other_installment_plans": "none",
        "housing": "own",
        "number_of_existing_credits_at_this_bank": 1,
        "job": "skilled employee / official",
        "number_of_people_being_liable_to_provide_maintenance_for": 1,
        "telephone": "none",
    },
}
EXAMPLE_DECIDED = {
    "id": 17,
    "reference": "app-3f1c0a9e2b7d4c5e8f60",
    "url": "/api/v1/applications/17/",
    "status": "decided",
    "product": "consumer_loan",
    "applicant": {"reference": "customer-1042", "full_name": "Alex Example", "email": "alex@example.com"},
    "loan": {"amount": "2500.00", "term_months": 24, "purpose": "car (used)"},
    "features": EXAMPLE_APPLICATION["features"],
    "submitted_at": "2025-03-04T10:15:02.120Z",
    "decision": {
        "outcome": "refer",
        "overridden": False,
        "probability_of_default": 0.31,
        "score": 563,
        "reasons": [
            {"code": "R02", "text": "Low balance in checking account"},
            {"code": "R21", "text": "Limited savings"},
        ],
        "model_version": 3,
        "decided_at": "2025-03-04T10:15:02.164Z",
    },
    "funded_loan_id": None,
}
EXAMPLE_PROBLEM = {
    "type": "/api/docs/#problem-invalid",
    "title": "Invalid request",
    "status": 422,
    "detail": "The request is invalid; see errors.",
    "code": "invalid",
    "instance": "/api/v1/applications/",
    "errors": [
        {"field": "loan.amount", "detail": "Ensure this value is greater than or equal to 0.01."},
        {"field": "features.sex", "detail": "is a protected attribute (ECOA / Regulation B) and is never accepted"},
    ],
}


def problem_responses(*statuses: int) -> dict[Any, Any]:
    """The listed error statuses as problem documents; 429 (with Retry-After) is added to every operation."""
    responses: dict[Any, Any] = {}
    for status in (*statuses, 429):
        examples = (
            [OpenApiExample("Invalid fields", value=EXAMPLE_PROBLEM, response_only=True)] if status == 422 else []
        )
        responses[(status, PROBLEM_MEDIA_TYPE)] = OpenApiResponse(
            ProblemOutput, description=STATUS_MEANINGS[status], examples=examples
        )
    return responses


def _rules_for_schema() -> FeatureRules:
    """The live rules; with no database yet (`manage.py check --deploy` on a fresh machine) a generic shape."""
    try:
        return feature_rules()
    except DatabaseError:
        return FeatureRules(product="consumer_loan", fields={}, from_loan={}, purpose_choices=(), loan_domains={})


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "lending.api.authentication.PartnerKeyAuthentication"
    name = "partnerKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A partner API key: `Bearer fai_...`."}


class FeaturesFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "lending.api.serializers.FeaturesField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        rules = _rules_for_schema()
        if not rules.fields:
            return {
                "type": "object",
                "description": "Credit characteristics by name, as the champion model reads them.",
            }
        properties: dict[str, Any] = {}
        for name, field in rules.fields.items():
            if field["type"] == "numeric":
                properties[name] = {"type": "number", **_numeric_bounds(field)}
            elif field["choices"]:
                properties[name] = {"type": "string", "enum": list(field["choices"])}
            else:
                properties[name] = {"type": "string"}
            properties[name]["description"] = field["label"]
        return {
            "type": "object",
            "properties": properties,
            "required": list(rules.required),
            "additionalProperties": False,
            "description": "Credit characteristics. Protected attributes are refused by name.",
        }


def _numeric_bounds(field: Any) -> dict[str, float]:
    """The schema's domain of a numeric characteristic, else the API's own limit on any number."""
    return {
        "minimum": -MAX_FEATURE_NUMBER if field["minimum"] is None else field["minimum"],
        "maximum": MAX_FEATURE_NUMBER if field["maximum"] is None else field["maximum"],
    }


class PurposeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "lending.api.serializers.PurposeField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        choices = _rules_for_schema().purpose_choices
        return {"type": "string", "enum": list(choices)} if choices else {"type": "string", "maxLength": 100}


def _loan_bounds(field: Any) -> dict[str, float | None]:
    return {"minimum": field["minimum"], "maximum": field["maximum"]}


def postprocess_strict_inputs(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Inputs refuse unknown fields, so say so in the schema; add the long description."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, component in schemas.items():
        if name.endswith("InputRequest") and component.get("type") == "object":
            component["additionalProperties"] = False
    # The loan's amount and term keep the domain of the characteristics they fill (the schema's min and max).
    loan = schemas.get("LoanInputRequest", {}).get("properties", {})
    for field_name, bounded in _rules_for_schema().loan_domains.items():
        if field_name in loan:
            loan[field_name].update({key: value for key, value in _loan_bounds(bounded).items() if value is not None})
    result.setdefault("info", {})["description"] = API_DESCRIPTION
    return result
