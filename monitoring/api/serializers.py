"""Per-operation serializers of the screening API: inputs name every bad field, outputs document the verdicts.

A booking carries no protected attribute, but inputs still refuse unknown fields by name (as the loan API
does), so a misspelt `counter_party` is reported instead of silently screening a cash booking.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers

from lending.api.serializers import StrictSerializer
from monitoring.models import ScreenedTransaction

BATCH_MAX_BOOKINGS = 10_000
# Bookings are screened against the accounts' history; a date outside these bounds is a sender's bug (and
# years near 1 or 9999 overflow when converted to UTC).
EARLIEST_BOOKING = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
CLOCK_SKEW = dt.timedelta(minutes=5)
VERDICTS = ("alert", "clear")

_channel = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_-]*$", message="must be a channel name such as cash, transfer or card (letters, digits, _ -)"
)


class OffsetDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its UTC offset: a booking time without one is ambiguous by hours,
    enough to move a deposit into or out of a rule's window."""

    default_error_messages = {"naive": "must include a UTC offset, e.g. 2025-03-04T10:15:00+01:00 or ...Z"}

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class BookingInput(StrictSerializer):
    """One booking on one of the sender's accounts."""

    transaction_id = serializers.CharField(
        max_length=100, help_text="Your id for the booking, unique among your bookings; a retry reuses it."
    )
    account = serializers.CharField(max_length=100, help_text="The account booked.")
    counterparty = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The other side's account; left out (or null, or blank) for cash.",
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), help_text="Unsigned; `direction` gives the sign."
    )
    direction = serializers.ChoiceField(
        choices=ScreenedTransaction.Direction.choices, help_text="in: a credit; out: a debit."
    )
    kind = serializers.CharField(
        max_length=30, validators=[_channel], help_text="The channel: cash, transfer, card, ... (case-insensitive)."
    )
    booked_at = OffsetDateTimeField(
        default_timezone=dt.UTC, help_text="When it was booked: ISO 8601 with a UTC offset (or Z)."
    )

    def validate_counterparty(self, value: str | None) -> str:
        return value or ""

    def validate_kind(self, value: str) -> str:
        return value.lower()

    def validate_booked_at(self, value: dt.datetime) -> dt.datetime:
        if value < EARLIEST_BOOKING:
            raise serializers.ValidationError("must not be before 1900")
        if value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError("must not be in the future: screening judges what has been booked")
        return value


class BookingBatchInput(StrictSerializer):
    """Many bookings, validated all or nothing: one bad booking refuses the batch, naming it."""

    transactions = BookingInput(
        many=True,
        allow_empty=False,
        max_length=BATCH_MAX_BOOKINGS,
        help_text=f"1 to {BATCH_MAX_BOOKINGS:,} bookings, each as for a single one.",
    )

    def validate_transactions(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A transaction id twice in one batch is refused at the repeat, naming where it first appeared."""
        first: dict[str, int] = {}
        problems: list[dict[str, list[str]]] = []
        for index, booking in enumerate(value):
            identifier = booking["transaction_id"]
            seen = first.setdefault(identifier, index)
            problems.append({"transaction_id": [f"repeats transactions[{seen}]"]} if seen != index else {})
        if any(problems):
            raise serializers.ValidationError(problems)
        return value


class AlertOutput(serializers.Serializer):
    rule = serializers.CharField(help_text='The scenario and version that fired, e.g. "structuring v1".')
    typology = serializers.CharField()
    score = serializers.FloatField(help_text="How far past the rule's bar: 1.0 is just at it.")
    reason = serializers.CharField(help_text="Why, in plain words.")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    case_id = serializers.IntegerField(help_text="The compliance case the alert joined (one open case per account).")


class VerdictOutput(serializers.Serializer):
    transaction_id = serializers.CharField()
    account = serializers.CharField()
    booked_at = serializers.DateTimeField()
    verdict = serializers.ChoiceField(
        choices=VERDICTS, help_text="alert: at least one rule fired on a window holding this booking; else clear."
    )
    alerts = AlertOutput(many=True)


class BatchVerdictOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="Bookings stored and screened.")
    alerts = serializers.IntegerField(help_text="Bookings whose verdict is alert.")
    transactions = VerdictOutput(many=True, help_text="One verdict per booking, in the order sent.")
