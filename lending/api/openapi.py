"""OpenAPI details drf-spectacular cannot infer: the bearer scheme, live feature fields, strict inputs.

The `features` object (and which loan fields are required) is generated from the default product's
current rules (its champion's categories), so the schema a partner reads is exactly what the API will
accept today for that product; the examples are built from its champion, neutral until there is one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from analytics.services.serving import scoring_versions
from lending.api.features import FeatureRules, feature_rules
from lending.api.serializers import MAX_FEATURE_NUMBER, ProblemOutput

PROBLEM_MEDIA_TYPE = "application/problem+json"
IDEMPOTENCY_KEY_PATTERN = r"^[!-~][ -~]{0,254}$"
STATUS_MEANINGS = {
    400: "Malformed: unparseable body, or a missing or invalid header or query parameter, or on a list an unknown "
    "or repeated one (each named).",
    401: "No API key, or an unknown or revoked one.",
    403: "Authenticated, but not allowed (a staff user without the role).",
    404: "No such record, or it belongs to another partner.",
    409: "Conflicts with the record's current state.",
    413: "The body (or the number of rows) is larger than the operation accepts.",
    415: "The body's Content-Type is not one the operation accepts.",
    422: "Well-formed but invalid; every invalid field is named under `errors`.",
    429: "Rate limit reached; retry after the number of seconds in Retry-After.",
    503: "No trustworthy model can decide now (`model_unavailable`): the application is stored and waits; its URL "
    "is in `application.url` and Location.",
}
RETRY_AFTER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, description="Seconds to wait before retrying.", response=[429]
)
# Sent with every answer to an authenticated request (lending.api.throttling); added to every response of
# the schema by `postprocess_strict_inputs`, so each operation (screening's too) documents them.
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": ("string", "The limit and its window in seconds, e.g. `600;w=60`."),
    "RateLimit-Limit": ("integer", "Requests allowed in any interval as long as the window."),
    "RateLimit-Remaining": ("integer", "Requests left now."),
    "RateLimit-Reset": ("integer", "Seconds until the oldest request in the window leaves it (one more is allowed)."),
}
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

**Rate limits** apply per partner, over a sliding window: at most the partner's limit in any interval as
long as the window. Every answer carries `RateLimit-Policy` (e.g. `600;w=60`: 600 requests in any 60
seconds), `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until one more request
is allowed); beyond the limit the answer is 429 with `Retry-After` (seconds).

**Lists** are paged by cursor: follow `next` until it is null. `page_size` is a whole number from 1 to
100 (50 when left out); a list refuses a parameter it does not know, or one given twice, with 400.

**Webhooks.** A partner with a webhook URL receives `POST {"type": "application.decided", ...}` for
each decision, signed `FinAI-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Verify it with the webhook secret in constant time and refuse timestamps older than five minutes.
Failed deliveries (non-2xx or unreachable) are retried with exponential back-off; `FinAI-Delivery`
stays the same across retries so duplicates can be dropped.

**Protected attributes** (sex, age, marital status, national origin, race/ethnicity) are never
accepted: ECOA / Regulation B forbid them as decision inputs, and the API refuses them by name.
""".strip()

# The examples the operations declare: neutral placeholders, as no product's data set is assumed. The
# published schema replaces them with an application built from the default product's champion
# (`example_application`), so a partner copies characteristics the API accepts today.
EXAMPLE_APPLICATION = {
    "product": "consumer_loan",
    "applicant": {"reference": "customer-1042", "full_name": "Alex Example", "email": "alex@example.com"},
    "loan": {"amount": "2500.00"},
    "features": {"name_of_a_characteristic": "one of its values", "name_of_a_numeric_characteristic": 3},
}
EXAMPLE_DECIDED = {
    "id": 17,
    "reference": "app-3f1c0a9e2b7d4c5e8f60",
    "url": "/api/v1/applications/17/",
    "status": "decided",
    "product": "consumer_loan",
    "applicant": {"reference": "customer-1042", "full_name": "Alex Example", "email": "alex@example.com"},
    "loan": {"amount": "2500.00", "term_months": None, "purpose": ""},
    "features": EXAMPLE_APPLICATION["features"],
    "submitted_at": "2025-03-04T10:15:02.120Z",
    "decision": {
        "outcome": "refer",
        "overridden": False,
        "probability_of_default": 0.31,
        "score": 563,
        "reasons": [
            {"code": "R02", "text": "The reason the product's schema gives for its most adverse characteristic"},
            {"code": "R21", "text": "The reason for the next one"},
        ],
        "outside_training_range": [],
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
        return FeatureRules(
            product=settings.DEFAULT_PRODUCT, fields={}, from_loan={}, purpose_choices=(), loan_domains={}
        )


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


def _middle(field: Any, default: float) -> int | float:
    low, high = field["minimum"], field["maximum"]
    if low is not None and high is not None:
        middle = (low + high) / 2
        return round(middle) if float(low).is_integer() and float(high).is_integer() else middle
    return low if low is not None else (high if high is not None else default)


def example_application(rules: FeatureRules) -> dict[str, Any]:
    """An application the live rules accept, for the docs: each characteristic's first category or the middle of
    its domain, the loan fields the product's model reads. So the examples follow the champion's data set."""
    features = {
        name: (_middle(field, 1) if field["type"] == "numeric" else (field["choices"] or ["text"])[0])
        for name, field in rules.fields.items()
    }
    amount = _middle(rules.loan_domains["amount"], 2500) if "amount" in rules.loan_domains else 2500
    loan: dict[str, Any] = {"amount": f"{amount:.2f}"}
    if rules.takes("term_months"):
        loan["term_months"] = (
            _middle(rules.loan_domains["term_months"], 24) if "term_months" in rules.loan_domains else 24
        )
    if rules.takes("purpose"):
        loan["purpose"] = rules.purpose_choices[0] if rules.purpose_choices else "other"
    return {
        "product": rules.product,
        "applicant": {"reference": "customer-1042", "full_name": "Alex Example", "email": "alex@example.com"},
        "loan": loan,
        "features": features,
    }


def _has_champion(product: str) -> bool:
    try:
        return scoring_versions(product=product)[0] is not None
    except DatabaseError:
        return False


def _live_examples(result: dict[str, Any], rules: FeatureRules) -> None:
    """Replace the placeholder examples of the operations by ones built from the default product's champion;
    with no champion yet they stay neutral (naming the default product): no data set is assumed."""
    if _has_champion(rules.product):
        application = example_application(rules)
    else:
        application = {**EXAMPLE_APPLICATION, "product": rules.product}
    loan = application["loan"]
    decided = {
        **EXAMPLE_DECIDED,
        "product": rules.product,
        "loan": {"amount": loan["amount"], "term_months": loan.get("term_months"), "purpose": loan.get("purpose", "")},
        "features": application["features"],
    }
    replacements = {
        repr(EXAMPLE_APPLICATION): application,
        repr({"applications": [EXAMPLE_APPLICATION, EXAMPLE_APPLICATION]}): {
            "applications": [application, application]
        },
        repr(EXAMPLE_DECIDED): decided,
    }
    for item in result.get("paths", {}).values():
        for operation in item.values():
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            for body in bodies:
                for media in body.get("content", {}).values():
                    for example in media.get("examples", {}).values():
                        example["value"] = replacements.get(repr(example.get("value")), example.get("value"))


def _rate_limit_headers(result: dict[str, Any]) -> None:
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            for response in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                headers = response.setdefault("headers", {})
                for name, (kind, description) in RATE_LIMIT_HEADERS.items():
                    headers.setdefault(name, {"schema": {"type": kind}, "description": description})


def postprocess_strict_inputs(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Inputs refuse unknown fields, so say so in the schema; add the long description; the loan fields and
    the examples of the default product's live rules (its champion's data set)."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, component in schemas.items():
        if name.endswith("InputRequest") and component.get("type") == "object":
            component["additionalProperties"] = False
    # The loan's amount and term keep the domain of the characteristics they fill (the schema's min and max).
    loan_component = schemas.get("LoanInputRequest", {})
    loan = loan_component.get("properties", {})
    rules = _rules_for_schema()
    for field_name, bounded in rules.loan_domains.items():
        if field_name in loan:
            loan[field_name].update({key: value for key, value in _loan_bounds(bounded).items() if value is not None})
    # Like `features`, the term and purpose are described for the default product: required where its
    # schema maps them (another product's may not: open-ended credit has no term).
    if loan_component:
        loan_component["required"] = ["amount", *(name for name in ("term_months", "purpose") if rules.needs(name))]
    _live_examples(result, rules)
    _rate_limit_headers(result)
    result.setdefault("info", {})["description"] = API_DESCRIPTION
    return result
