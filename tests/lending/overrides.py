"""Overriding a decision to approve in tests that need an approved application, whatever its risk."""

from __future__ import annotations

from typing import Any

from lending.models import Decision, Override
from lending.services.overrides import decision_override, override_approve


def override_to_approve(
    decision: Decision, *, officer: Any, second_officer: Any, justification: str = "test"
) -> Override:
    """Override to approve; beyond the risk limit a second officer approves it, so it is acted on either way."""
    override = decision_override(
        decision=decision, outcome=Decision.Outcome.APPROVE, justification=justification, overridden_by=officer
    )
    if override.status == Override.Status.PENDING:
        override = override_approve(override=override, approved_by=second_officer, note="second look")
    return override
