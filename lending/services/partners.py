"""Partner organisations and their credentials: API keys shown once and stored as SHA-256, webhook secrets.

A key is `fai_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole key proves it. Keys
are 256-bit random tokens, so a fast hash is enough (there is no dictionary to attack) and a stolen
database yields no usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone

from finai.errors import ApplicationError
from finai.rows import model_from_row, quoted_columns
from finai.services import audit_event_record
from lending.models import Loan, LoanApplication, Partner, PartnerApiKey, PartnerWebhookSecret, RepaymentOutcome
from lending.services.applications import (
    ApplicantDetails,
    LoanRequest,
    Submission,
    loan_application_submit_with_decision,
    repayment_outcome_record,
)

KEY_PREFIX = "fai"
PREFIX_PATTERN = re.compile(r"[0-9a-f]{12}")  # secrets.token_hex(6)
# Recording every request's use would make each call a write; a minute's precision is enough to audit.
LAST_USE_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is the only copy of the full key and is never stored."""

    key: PartnerApiKey
    secret: str


def _key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _webhook_url_problem(url: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return "must be an http or https URL"
    return ""


def partner_create(*, name: str, actor: Any = None) -> Partner:
    """Register a partner organisation; keys and a webhook are added by the functions below."""
    name = (name or "").strip()
    problems: dict[str, str] = {}
    if not name:
        problems["name"] = "is required"
    elif len(name) > Partner._meta.get_field("name").max_length:
        problems["name"] = "is too long"
    elif Partner.objects.filter(name=name).exists():
        problems["name"] = f"a partner named {name!r} already exists"
    if problems:
        raise ApplicationError("The partner is invalid.", details=problems)
    with transaction.atomic():
        partner = Partner.objects.create(name=name)
        audit_event_record(
            action="partner.created",
            actor=actor,
            object_type="partner",
            object_id=partner.pk,
            payload={"name": name},
        )
    return partner


def partner_api_key_issue(*, partner: Partner, label: str = "", actor: Any = None) -> IssuedKey:
    """A new key for the partner; the caller shows `secret` once, only its hash is kept."""
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = PartnerApiKey.objects.create(
            partner=partner, prefix=prefix, key_hash=_key_hash(secret), label=label[:100]
        )
        audit_event_record(
            action="partner.api_key_issued",
            actor=actor,
            object_type="partner",
            object_id=partner.pk,
            payload={"prefix": prefix, "label": key.label},
        )
    return IssuedKey(key=key, secret=secret)


def partner_api_key_revoke(*, key: PartnerApiKey, actor: Any = None) -> PartnerApiKey:
    """Revoke a key at once; revoking twice keeps the first revocation time."""
    if key.revoked_at is not None:
        return key
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_event_record(
            action="partner.api_key_revoked",
            actor=actor,
            object_type="partner",
            object_id=key.partner_id,
            payload={"prefix": key.prefix},
        )
    return key


def partner_api_key_authenticate(*, presented: str) -> PartnerApiKey | None:
    """The active key matching a presented secret (its partner loaded), recording its use; else None."""
    parts = presented.split("_")
    if len(parts) < 3 or parts[0] != KEY_PREFIX or not PREFIX_PATTERN.fullmatch(parts[1]):
        return None
    key = _active_key_with_partner(parts[1])
    if key is None or not hmac.compare_digest(key.key_hash, _key_hash(presented)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_PRECISION:
        PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def _active_key_with_partner(prefix: str) -> PartnerApiKey | None:
    """`PartnerApiKey.objects.active().select_related("partner").get(prefix=prefix)`, or None, in a statement
    written once: every API request runs it."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_KEY_WITH_PARTNER, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(PartnerApiKey._meta.concrete_fields)
    key = model_from_row(PartnerApiKey, row[:width])
    key.partner = model_from_row(Partner, row[width:])
    return key


_KEYS, _PARTNERS = PartnerApiKey._meta.db_table, Partner._meta.db_table
# Names from the models' metadata; the prefix is a parameter.
_ACTIVE_KEY_WITH_PARTNER = (
    f'SELECT {quoted_columns(PartnerApiKey)}, {quoted_columns(Partner)} FROM "{_KEYS}" '  # noqa: S608
    f'JOIN "{_PARTNERS}" ON "{_PARTNERS}"."id" = "{_KEYS}"."partner_id" '
    f'WHERE "{_KEYS}"."prefix" = %s AND "{_KEYS}"."revoked_at" IS NULL AND "{_PARTNERS}"."is_active"'
)


def partner_rate_limit_set(*, partner: Partner, rate: str, actor: Any = None) -> Partner:
    """Give the partner its own rate limit (e.g. a contract's 6000/minute); blank returns it to API_RATE_LIMIT."""
    rate = (rate or "").strip()
    try:
        Partner._meta.get_field("rate_limit").run_validators(rate)
    except ValidationError as error:
        raise ApplicationError("The rate limit is invalid.", details={"rate_limit": " ".join(error.messages)}) from None
    with transaction.atomic():
        previous, partner.rate_limit = partner.rate_limit, rate
        partner.save(update_fields=["rate_limit"])
        audit_event_record(
            action="partner.rate_limit_set",
            actor=actor,
            object_type="partner",
            object_id=partner.pk,
            payload={"previous": previous, "rate_limit": rate},
        )
    return partner


def partner_webhook_configure(*, partner: Partner, url: str, actor: Any = None) -> str:
    """Set the partner's webhook URL and issue a new signing secret, returned once for the partner."""
    problem = _webhook_url_problem(url)
    if problem:
        raise ApplicationError("The webhook is invalid.", details={"webhook_url": problem})
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        partner.webhook_url = url
        partner.save(update_fields=["webhook_url"])
        PartnerWebhookSecret.objects.update_or_create(partner=partner, defaults={"secret": secret})
        audit_event_record(
            action="partner.webhook_configured",
            actor=actor,
            object_type="partner",
            object_id=partner.pk,
            payload={"webhook_url": url},
        )
    return secret


def partner_applicant_reference(*, partner: Partner | None, reference: str) -> str:
    """The stored applicant reference for a partner's own: namespaced, so two partners' "42" never merge.

    Applicant references are unique across FinAI; without the namespace one partner's submission could
    attach to (and reveal) another partner's applicant.
    """
    if partner is None or not reference:
        return reference
    return f"partner-{partner.pk}:{reference}"


def partner_applicant_reference_shown(*, partner: Partner | None, stored: str) -> str:
    """The reference as its partner gave it; references FinAI generated are internal and shown empty."""
    if partner is None:
        return stored
    prefix = f"partner-{partner.pk}:"
    return stored.removeprefix(prefix) if stored.startswith(prefix) else ""


def partner_application_submit(
    *,
    applicant: ApplicantDetails,
    request: LoanRequest,
    partner: Partner | None,
    submitted_by: Any = None,
    mode: str = "async",
) -> Submission:
    """Submit through the API: stored first; decided inline (`sync`) or on the `scoring` queue (`async`).

    The partner's webhook follows the decision either way. A sync submission that cannot be decided
    (no champion yet) is still stored and is decided later by the periodic sweep.
    """
    submission = loan_application_submit_with_decision(
        applicant=replace(
            applicant, reference=partner_applicant_reference(partner=partner, reference=applicant.reference)
        ),
        request=request,
        submitted_by=submitted_by,
        partner=partner,
        channel=LoanApplication.Channel.API,
        decide="sync" if mode == "sync" else "queue",
    )
    from lending.services.webhooks import webhook_decision_notify  # webhooks read partner references

    if submission.decision is not None:
        webhook_decision_notify(decision=submission.decision)
    return submission


def partner_loan_outcome_record(
    *, loan: Loan, status: str, days_past_due: int, as_of: Any, actor: Any = None, actor_label: str = ""
) -> RepaymentOutcome:
    """Record a partner's repayment report; a second report for the same loan and date is a conflict (409)."""
    if RepaymentOutcome.objects.filter(loan=loan, as_of=as_of).exists():
        raise ApplicationError(
            "An outcome for this loan and date is already recorded.",
            details={"as_of": f"loan {loan.pk} already has an outcome as of {as_of}"},
            code="conflict",
        )
    return repayment_outcome_record(
        loan=loan, status=status, days_past_due=days_past_due, as_of=as_of, actor=actor, actor_label=actor_label
    )
