"""Working a screening case: take it, note, write the report's narrative, close it; every step audited.

Whoever holds a case is the only one who works it (the lock): two investigators must never contact the
same customer or file two reports. A case closed as a false positive or as valuable-but-not-suspicious is
closed by its investigator; a confirmed one becomes a suspicious-activity report, so it closes only when a
second compliance officer approves the investigator's request (as a second manager approves a promotion).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from finai.errors import ApplicationError
from finai.roles import COMPLIANCE_ROLES, Role, ensure_role, user_has_role
from finai.services import audit_event_record
from monitoring.models import CaseNote, ScreeningCase

NOTE_REQUIRED = "is required"


def _locked(case: ScreeningCase, actor: Any, *, holder_only: bool = True) -> ScreeningCase:
    """The case row, locked for this transaction, once the actor may work it."""
    ensure_role(actor, *COMPLIANCE_ROLES)
    case = ScreeningCase.objects.select_for_update().get(pk=case.pk)
    if case.status == ScreeningCase.Status.CLOSED:
        raise ApplicationError("The case is closed.", details={"case": "closed"}, code="invalid_transition")
    if holder_only and case.assigned_to_id != actor.pk:
        holder = case.assigned_to.get_username() if case.assigned_to_id else "nobody"
        raise ApplicationError(
            f"Only the investigator holding the case may work it; it is held by {holder}.",
            details={"assigned_to": holder},
            code="case_locked",
        )
    return case


def _audit(case: ScreeningCase, action: str, actor: Any, **payload: Any) -> None:
    audit_event_record(
        action=f"screening.case_{action}",
        actor=actor,
        object_type="screening_case",
        object_id=case.pk,
        payload={"account": case.account, **payload},
    )


def case_assign(*, case: ScreeningCase, assignee: Any, assigned_by: Any) -> ScreeningCase:
    """Give the case to an investigator (oneself, to take it): pending cases to anyone; a held case only by its
    holder or an administrator, so nobody takes a case from under a colleague's hands."""
    with transaction.atomic():
        case = _locked(case, assigned_by, holder_only=False)
        ensure_role(assignee, *COMPLIANCE_ROLES)
        held_by_other = case.assigned_to_id not in (None, assigned_by.pk)
        if held_by_other and not user_has_role(assigned_by, Role.ADMIN):
            raise ApplicationError(
                f"The case is held by {case.assigned_to.get_username()}; only they or an administrator can hand it on.",
                details={"assigned_to": case.assigned_to.get_username()},
                code="case_locked",
            )
        if case.close_requested_by_id is not None:
            raise ApplicationError(
                "The case waits for a second officer's approval; it cannot change hands now.",
                details={"case": "awaiting approval"},
                code="invalid_transition",
            )
        previous = case.assigned_to.get_username() if case.assigned_to_id else None
        case.assigned_to, case.assigned_at, case.status = assignee, timezone.now(), ScreeningCase.Status.INVESTIGATING
        case.save(update_fields=["assigned_to", "assigned_at", "status"])
        _audit(case, "assigned", assigned_by, assignee=assignee.get_username(), previous=previous)
    return case


def case_release(*, case: ScreeningCase, released_by: Any) -> ScreeningCase:
    """The holder hands the case back to the queue."""
    with transaction.atomic():
        case = _locked(case, released_by)
        if case.close_requested_by_id is not None:
            raise ApplicationError(
                "The case waits for a second officer's approval.",
                details={"case": "awaiting approval"},
                code="invalid_transition",
            )
        case.assigned_to, case.assigned_at, case.status = None, None, ScreeningCase.Status.PENDING
        case.save(update_fields=["assigned_to", "assigned_at", "status"])
        _audit(case, "released", released_by)
    return case


def case_note_add(*, case: ScreeningCase, author: Any, text: str) -> CaseNote:
    text = text.strip()
    if not text:
        raise ApplicationError("The note is empty.", details={"text": NOTE_REQUIRED}, code="invalid_case_note")
    with transaction.atomic():
        case = _locked(case, author)
        note = CaseNote.objects.create(case=case, author=author, text=text)
        _audit(case, "noted", author, note=note.pk, text=text[:500])
    return note


def case_narrative_save(*, case: ScreeningCase, author: Any, narrative: str) -> ScreeningCase:
    """The suspicious-activity report's narrative, drafted by the holder."""
    with transaction.atomic():
        case = _locked(case, author)
        if case.close_requested_by_id is not None:
            raise ApplicationError(
                "The report is with a second officer for approval; reject it back to edit it.",
                details={"case": "awaiting approval"},
                code="invalid_transition",
            )
        case.sar_narrative = narrative.strip()
        case.save(update_fields=["sar_narrative"])
        _audit(case, "narrative_saved", author, characters=len(case.sar_narrative))
    return case


def _closing_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise ApplicationError(
            "Say why the case closes so.", details={"closing_note": NOTE_REQUIRED}, code="invalid_disposition"
        )
    return note


def case_close(*, case: ScreeningCase, closed_by: Any, disposition: str, closing_note: str) -> ScreeningCase:
    """Close as a false positive or valuable-but-not-suspicious; a confirmation goes through `case_close_request`."""
    if disposition not in (ScreeningCase.Disposition.FALSE_POSITIVE, ScreeningCase.Disposition.NOT_SUSPICIOUS):
        raise ApplicationError(
            "A confirmed case needs a second officer: request its close instead.",
            details={"disposition": "must be false_positive or not_suspicious here"},
            code="invalid_disposition",
        )
    note = _closing_note(closing_note)
    with transaction.atomic():
        case = _locked(case, closed_by)
        if case.close_requested_by_id is not None:
            raise ApplicationError(
                "The case waits for a second officer's approval of its confirmation.",
                details={"case": "awaiting approval"},
                code="invalid_transition",
            )
        now = timezone.now()
        case.status, case.disposition, case.closing_note = ScreeningCase.Status.CLOSED, disposition, note
        case.closed_by, case.closed_at = closed_by, now
        case.save(update_fields=["status", "disposition", "closing_note", "closed_by", "closed_at"])
        _audit(case, "closed", closed_by, disposition=disposition, note=note)
    return case


def case_close_request(*, case: ScreeningCase, requested_by: Any, closing_note: str) -> ScreeningCase:
    """The holder confirms the activity as suspicious; the case waits for a second officer's approval."""
    note = _closing_note(closing_note)
    with transaction.atomic():
        case = _locked(case, requested_by)
        if not case.sar_narrative:
            raise ApplicationError(
                "Write the report's narrative before confirming.",
                details={"sar_narrative": NOTE_REQUIRED},
                code="invalid_disposition",
            )
        if case.close_requested_by_id is not None:
            raise ApplicationError(
                "The confirmation is already waiting for approval.",
                details={"case": "awaiting approval"},
                code="invalid_transition",
            )
        case.close_requested_by, case.close_requested_at, case.closing_note = requested_by, timezone.now(), note
        case.save(update_fields=["close_requested_by", "close_requested_at", "closing_note"])
        _audit(case, "close_requested", requested_by, disposition=ScreeningCase.Disposition.CONFIRMED, note=note)
    return case


def _awaiting(case: ScreeningCase, reviewer: Any) -> ScreeningCase:
    case = _locked(case, reviewer, holder_only=False)
    if case.close_requested_by_id is None:
        raise ApplicationError(
            "No confirmation is waiting for approval.", details={"case": "not awaiting"}, code="invalid_transition"
        )
    if case.close_requested_by_id == reviewer.pk:
        raise ApplicationError(
            "A second compliance officer must approve the confirmation, not its investigator.",
            details={"approved_by": "requested the close"},
            code="four_eyes",
        )
    return case


def case_close_approve(*, case: ScreeningCase, approved_by: Any, note: str = "") -> ScreeningCase:
    """The second officer agrees: the case closes as confirmed and its report is final."""
    with transaction.atomic():
        case = _awaiting(case, approved_by)
        case.status, case.disposition = ScreeningCase.Status.CLOSED, ScreeningCase.Disposition.CONFIRMED
        case.closed_by, case.closed_at = approved_by, timezone.now()
        case.save(update_fields=["status", "disposition", "closed_by", "closed_at"])
        _audit(
            case,
            "close_approved",
            approved_by,
            requested_by=case.close_requested_by.get_username(),
            note=note.strip(),
        )
    return case


def case_close_reject(*, case: ScreeningCase, rejected_by: Any, note: str) -> ScreeningCase:
    """The second officer disagrees: the case goes back to its investigator, with the reason."""
    if not note.strip():
        raise ApplicationError(
            "Say why the confirmation is sent back.", details={"note": NOTE_REQUIRED}, code="invalid_disposition"
        )
    with transaction.atomic():
        case = _awaiting(case, rejected_by)
        requested_by = case.close_requested_by.get_username()
        case.close_requested_by, case.close_requested_at = None, None
        case.save(update_fields=["close_requested_by", "close_requested_at"])
        _audit(case, "close_rejected", rejected_by, requested_by=requested_by, note=note.strip())
    return case
