"""Batches: up to 10,000 applications in one request, stored at once and decided in chunks by Celery.

Every row is stored before anything is queued (nothing submitted is ever lost); rows are processed in
chunks on the `scoring` queue so many workers share a large batch, and each row is claimed under a
row lock so a redelivered chunk never submits a row twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from finai.errors import ApplicationError
from finai.services import audit_event_record
from lending.models import Batch, BatchItem, Decision, LoanApplication, Override, Partner
from lending.services.applications import ApplicantDetails, LoanRequest, loan_application_submit_with_decision
from lending.services.decisions import application_decide
from lending.services.partners import partner_applicant_reference
from lending.services.webhooks import webhook_decision_notify

BATCH_MAX_ROWS = 10_000
BATCH_CHUNK_ROWS = 250
# A batch still pending after this long lost its chunk tasks (broker outage): queue them again.
BATCH_STALLED_SECONDS = 15 * 60


@dataclass(frozen=True)
class BatchRow:
    """One submitted row: its validated input (JSON-ready), or the problems that make it invalid."""

    payload: dict[str, Any]
    errors: dict[str, str]


@dataclass(frozen=True)
class BatchProgress:
    total: int
    pending: int
    submitted: int
    decided: int
    invalid: int

    @property
    def processed(self) -> int:
        return self.total - self.pending


def batch_submit(
    *, rows: list[BatchRow], partner: Partner | None, submitted_by: Any = None, product: str = "consumer_loan"
) -> Batch:
    """Store the batch and all its rows, then (after commit) queue its chunks on the `scoring` queue."""
    if not rows:
        raise ApplicationError("A batch needs at least one application.", details={"applications": "is empty"})
    if len(rows) > BATCH_MAX_ROWS:
        raise ApplicationError(
            "The batch is too large.",
            details={"applications": f"at most {BATCH_MAX_ROWS} per batch, got {len(rows)}"},
            code="too_large",
        )
    with transaction.atomic():
        batch = Batch.objects.create(partner=partner, submitted_by=submitted_by, product=product, total=len(rows))
        BatchItem.objects.bulk_create(
            [
                BatchItem(
                    batch=batch,
                    row=number,
                    payload=row.payload,
                    errors=row.errors,
                    status=BatchItem.Status.INVALID if row.errors else BatchItem.Status.PENDING,
                )
                for number, row in enumerate(rows, start=1)
            ],
            batch_size=1000,
        )
        audit_event_record(
            action="batch.submitted",
            actor=submitted_by,
            actor_label=f"partner:{partner.name}" if partner else "",
            object_type="batch",
            object_id=batch.pk,
            payload={"rows": len(rows), "invalid": sum(1 for row in rows if row.errors)},
        )
        pending_rows = [number for number, row in enumerate(rows, start=1) if not row.errors]
        if pending_rows:
            # robust: the rows are stored; if the broker is down, `batches_stalled_requeue` queues them later.
            transaction.on_commit(lambda: _queue_chunks(batch.pk, pending_rows), robust=True)
        else:
            _batch_complete(batch.pk)
    return batch


def _queue_chunks(batch_id: int, rows: list[int]) -> None:
    from lending.tasks import batch_process_chunk

    for start in range(0, len(rows), BATCH_CHUNK_ROWS):
        chunk = rows[start : start + BATCH_CHUNK_ROWS]
        batch_process_chunk.delay(batch_id, chunk[0], chunk[-1])


def _batch_complete(batch_id: int) -> None:
    if not BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.PENDING).exists():
        Batch.objects.filter(pk=batch_id, status=Batch.Status.PROCESSING).update(
            status=Batch.Status.COMPLETED, completed_at=timezone.now()
        )


def _item_submit(item_id: int, batch: Batch) -> tuple[BatchItem, Decision | None] | None:
    """Turn a pending row into a stored application, decided in the same transaction when the champion can
    (scored once, one commit a row); None if another delivery already took the row."""
    with transaction.atomic():
        item = BatchItem.objects.select_for_update().get(pk=item_id)
        if item.status != BatchItem.Status.PENDING:
            return None
        payload = item.payload
        applicant, loan = payload.get("applicant", {}), payload["loan"]
        decision = None
        try:
            with transaction.atomic():
                submission = loan_application_submit_with_decision(
                    applicant=ApplicantDetails(
                        reference=partner_applicant_reference(
                            partner=batch.partner, reference=applicant.get("reference", "")
                        ),
                        full_name=applicant.get("full_name", ""),
                        email=applicant.get("email", ""),
                    ),
                    request=LoanRequest(
                        amount=Decimal(loan["amount"]),
                        term_months=None if loan.get("term_months") is None else int(loan["term_months"]),
                        purpose=loan.get("purpose", ""),
                        features=payload.get("features", {}),
                        product=batch.product,
                    ),
                    submitted_by=batch.submitted_by,
                    partner=batch.partner,
                    channel=LoanApplication.Channel.API,
                    decide="sync",
                )
            item.application, decision = submission.application, submission.decision
            item.status = BatchItem.Status.DECIDED if decision else BatchItem.Status.SUBMITTED
        except ApplicationError as exc:
            item.status, item.errors = BatchItem.Status.INVALID, exc.details or {"application": exc.message}
        item.save(update_fields=["application", "status", "errors"])
    return item, decision


def batch_chunk_process(*, batch_id: int, first_row: int, last_row: int) -> int:
    """Submit and decide the chunk's pending rows; returns how many rows this call processed."""
    batch = Batch.objects.select_related("partner", "submitted_by").get(pk=batch_id)
    item_ids = list(
        BatchItem.objects.filter(
            batch_id=batch_id, row__gte=first_row, row__lte=last_row, status=BatchItem.Status.PENDING
        ).values_list("pk", flat=True)
    )
    processed = 0
    for item_id in item_ids:
        submitted = _item_submit(item_id, batch)
        if submitted is None:
            continue
        processed += 1
        item, decision = submitted
        if item.application_id is None:
            continue
        if decision is None:
            try:  # not decided with its submission: decided now, or told why it waits
                decision = application_decide(application_id=item.application_id)
            except ApplicationError as exc:
                # Stored and waiting (e.g. no champion yet): the periodic sweep decides it later.
                BatchItem.objects.filter(pk=item.pk).update(errors={"decision": exc.message})
                continue
            BatchItem.objects.filter(pk=item.pk).update(status=BatchItem.Status.DECIDED)
        webhook_decision_notify(decision=decision)
    _batch_complete(batch_id)
    return processed


def batches_stalled_requeue(*, older_than_seconds: int = BATCH_STALLED_SECONDS) -> int:
    """Queue again the pending rows of batches submitted long ago; processing skips rows already done."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stalled = Batch.objects.filter(status=Batch.Status.PROCESSING, created_at__lt=cutoff).values_list("pk", flat=True)
    for batch_id in stalled:
        rows = list(
            BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.PENDING)
            .order_by("row")
            .values_list("row", flat=True)
        )
        if rows:
            _queue_chunks(batch_id, rows)
        else:
            _batch_complete(batch_id)
    return len(stalled)


def batch_progress(*, batch: Batch) -> BatchProgress:
    """Row counts by state, in one query."""
    counts = batch.items.aggregate(
        pending=Count("pk", filter=Q(status=BatchItem.Status.PENDING)),
        submitted=Count("pk", filter=Q(status=BatchItem.Status.SUBMITTED)),
        decided=Count("pk", filter=Q(status=BatchItem.Status.DECIDED)),
        invalid=Count("pk", filter=Q(status=BatchItem.Status.INVALID)),
    )
    return BatchProgress(total=batch.total, **counts)


def batch_errors(*, batch: Batch) -> list[tuple[int, dict[str, str]]]:
    """(row, {field: problem}) for every row with a problem, in row order."""
    return list(batch.items.exclude(errors={}).order_by("row").values_list("row", "errors"))


@dataclass(frozen=True)
class BatchResultRow:
    row: int
    status: str
    application_id: int | None
    application_reference: str
    outcome: str | None
    probability_of_default: float | None
    score: int | None
    reasons: list[dict[str, str]]
    errors: dict[str, str]


def batch_results(*, batch: Batch) -> list[BatchResultRow]:
    """Every row with its application's current decision (overrides included): three queries in all.

    Decisions are read live, so a row stored while no champion existed shows its later decision.
    """
    items = list(batch.items.select_related("application").order_by("row"))
    application_ids = [item.application_id for item in items if item.application_id]
    decisions = {
        decision.application_id: decision
        for decision in Decision.objects.filter(application_id__in=application_ids, is_shadow=False)
    }
    overridden = dict(
        Override.objects.acted_on()
        .filter(decision__application_id__in=application_ids, decision__is_shadow=False)
        .order_by("decision__application_id", "created_at", "pk")
        .values_list("decision__application_id", "outcome_after")
    )
    rows = []
    for item in items:
        decision = decisions.get(item.application_id)
        rows.append(
            BatchResultRow(
                row=item.row,
                status=BatchItem.Status.DECIDED if decision else item.status,
                application_id=item.application_id,
                application_reference=item.application.reference if item.application else "",
                outcome=overridden.get(item.application_id, decision.outcome) if decision else None,
                probability_of_default=decision.probability_of_default if decision else None,
                score=decision.score if decision else None,
                reasons=[{"code": r["code"], "text": r["text"]} for r in decision.reasons] if decision else [],
                errors={} if decision else item.errors,
            )
        )
    return rows
