"""Batches: up to 10,000 applications in one request, stored at once and decided in chunks by Celery.

Every row is stored before anything is queued (nothing submitted is ever lost); rows are processed in
chunks on the `scoring` queue so many workers share a large batch, and each row is claimed under a
row lock so a redelivered chunk never submits a row twice. A chunk's rows are scored in Python and written
in bulk, in one transaction of a fixed number of statements; the rows its champion cannot decide before
storage take the per-row path.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from analytics.engine.scoring import ScoredDecision
from analytics.models import ModelVersion
from analytics.services.serving import scoring_versions, scoring_versions_pinned
from finai.errors import ApplicationError
from finai.protected_attributes import PROTECTED_ATTRIBUTES
from finai.rows import instances_insert
from finai.services import audit_event_record, audit_events_batched
from lending.models import (
    Applicant,
    Batch,
    BatchItem,
    Decision,
    LoanApplication,
    Override,
    Partner,
    WebhookDelivery,
)
from lending.selectors import product_default_term
from lending.services.applications import (
    ApplicantDetails,
    LoanRequest,
    loan_application_submit_with_decision,
    submission_actor_label,
)
from lending.services.decisions import (
    DECISIONS_RECORDED,
    application_decide,
    application_scoring_plan,
    application_shadow_decide,
    decision_fields,
    decision_made_record,
)
from lending.services.partners import partner_applicant_reference
from lending.services.webhooks import EVENT_DECIDED, decision_webhook_payload, webhook_decision_notify

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


def _item_request(payload: dict[str, Any], batch: Batch) -> tuple[ApplicantDetails, LoanRequest]:
    """A stored row as the submission it asks for: its applicant (under the partner's namespace) and loan."""
    applicant, loan = payload.get("applicant", {}), payload["loan"]
    return (
        ApplicantDetails(
            reference=partner_applicant_reference(partner=batch.partner, reference=applicant.get("reference", "")),
            full_name=applicant.get("full_name", ""),
            email=applicant.get("email", ""),
        ),
        LoanRequest(
            amount=Decimal(loan["amount"]),
            term_months=None if loan.get("term_months") is None else int(loan["term_months"]),
            purpose=loan.get("purpose", ""),
            features=payload.get("features", {}),
            product=batch.product,
        ),
    )


def _item_submit(item_id: int, batch: Batch) -> tuple[BatchItem, Decision | None] | None:
    """Turn a pending row into a stored application, decided in the same transaction when the champion can
    (scored once, one commit a row); None if another delivery already took the row."""
    with transaction.atomic():
        item = BatchItem.objects.select_for_update().get(pk=item_id)
        if item.status != BatchItem.Status.PENDING:
            return None
        applicant, request = _item_request(item.payload, batch)
        decision = None
        try:
            with transaction.atomic():
                submission = loan_application_submit_with_decision(
                    applicant=applicant,
                    request=request,
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


def _items_submit_one_by_one(batch: Batch, item_ids: list[int]) -> int:
    """The per-row path, one transaction a row: for the rows the bulk path leaves (see `_chunk_bulk_decide`)."""
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
    return processed


@dataclass
class _ScoredRow:
    item: BatchItem
    applicant: ApplicantDetails
    request: LoanRequest
    term_months: int | None
    scored: ScoredDecision
    applicant_reference: str = ""
    application: LoanApplication | None = None
    decision: Decision | None = None


def _plainly_valid(request: LoanRequest) -> bool:
    """Whether the submission's own checks (before the model's) pass; a row they refuse takes the per-row
    path, which names its problems."""
    return (
        request.amount > 0
        and (request.term_months is None or request.term_months > 0)
        and not set(request.features) & set(PROTECTED_ATTRIBUTES)
    )


def _chunk_bulk_decide(batch: Batch, first_row: int, last_row: int) -> tuple[int, list[int]]:
    """Submit and decide the chunk's pending rows in one transaction and a fixed number of statements.

    Each row is stored exactly as the per-row path stores it (applicant, application decided at once, the
    champion's decision, `application.submitted` and `decision.made`, its webhook), but written in bulk; a row
    the champion refuses is marked invalid with its named problems. Returns (rows processed, ids of the rows
    left to the per-row path): those its champion cannot decide before storage (alternative data, an amount
    the database rounds, no usable champion) or that the submission's own checks refuse.
    """
    # The events are chained as the block ends, so the chain head every writer waits on is held for its last
    # round trips and the commit only.
    with transaction.atomic(), scoring_versions_pinned(), audit_events_batched():
        # Locked, so a redelivered chunk waits here and then finds these rows no longer pending.
        items = list(
            BatchItem.objects.select_for_update()
            .filter(batch_id=batch.pk, row__gte=first_row, row__lte=last_row, status=BatchItem.Status.PENDING)
            .order_by("pk")
        )
        champion, challenger = scoring_versions(product=batch.product)
        if champion is None or champion.alternative_data:
            return 0, [item.pk for item in items]
        default_term = _product_default_term(batch.product)
        scored_rows: list[_ScoredRow] = []
        refused: list[BatchItem] = []
        left: list[int] = []
        for item in items:
            applicant, request = _item_request(item.payload, batch)
            if not _plainly_valid(request):
                left.append(item.pk)
                continue
            term_months = default_term if request.term_months is None else request.term_months
            try:
                plan = application_scoring_plan(
                    product=batch.product,
                    features=dict(request.features),
                    amount=request.amount,
                    term_months=term_months,
                    purpose=request.purpose,
                )
            except ApplicationError as exc:
                item.status, item.errors = BatchItem.Status.INVALID, exc.details or {"application": exc.message}
                refused.append(item)
                continue
            if plan.scored is None or plan.champion != champion:
                left.append(item.pk)
                continue
            scored_rows.append(_ScoredRow(item, applicant, request, term_months, plan.scored))
        if scored_rows:
            _scored_rows_store(batch, champion, scored_rows)
        _items_update([row.item for row in scored_rows] + refused)
    for row in scored_rows:  # as the per-row path does, after the champion's decision
        application_shadow_decide(application=row.application, challenger=challenger)
    return len(scored_rows) + len(refused), left


def _items_update(items: list[BatchItem]) -> None:
    """Store the rows' status, application and errors in one statement (`bulk_update`'s CASE per row and
    field costs more to build than everything else the chunk writes; SQLite, for development, takes that)."""
    if connection.vendor != "postgresql":
        BatchItem.objects.bulk_update(items, ["status", "application", "errors"])
        return
    if not items:
        return
    table = BatchItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "status" = new."status", "application_id" = new."application_id", '  # noqa: S608
            '"errors" = new."errors"::jsonb FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[]) '
            f'AS new("id", "status", "application_id", "errors") WHERE "{table}"."id" = new."id"',
            [
                [item.pk for item in items],
                [item.status for item in items],
                [item.application_id for item in items],
                [json.dumps(item.errors) for item in items],
            ],
        )


def _product_default_term(product: str) -> int | None:
    """The term a row that gives none gets (the product's schema default), as the per-row path gives it."""
    try:
        return product_default_term(product)
    except ApplicationError:
        return None


def _scored_rows_store(batch: Batch, champion: ModelVersion, rows: list[_ScoredRow]) -> None:
    """Insert the rows' applicants, applications, decisions, audit events and webhooks, a statement each."""
    channel = LoanApplication.Channel.API
    applicants = _applicants_get_or_create([row.applicant for row in rows], channel=channel)
    submitted_at = timezone.now()
    for row, (applicant_id, applicant_reference) in zip(rows, applicants, strict=True):
        row.applicant_reference = applicant_reference
        row.application = LoanApplication(
            reference=f"app-{uuid.uuid4().hex[:20]}",
            applicant_id=applicant_id,
            partner=batch.partner,
            submitted_by=batch.submitted_by,
            channel=channel,
            product=batch.product,
            amount=row.request.amount,
            term_months=row.term_months,
            purpose=row.request.purpose,
            features=dict(row.request.features),
            status=LoanApplication.Status.DECIDED,
            submitted_at=submitted_at,
        )
    instances_insert([row.application for row in rows])
    decided_at = timezone.now()
    for row in rows:
        row.decision = Decision(
            application=row.application,
            model_version=champion,
            decided_at=decided_at,
            **decision_fields(row.scored),
        )
        row.item.application, row.item.status = row.application, BatchItem.Status.DECIDED
    instances_insert([row.decision for row in rows])
    for row in rows:
        _decided_submission_audit(batch, champion, row.application, row.decision)
    outcomes = Counter(row.decision.outcome for row in rows)
    for outcome, count in outcomes.items():
        counter = DECISIONS_RECORDED.labels(outcome=outcome, product=batch.product)
        transaction.on_commit(lambda counter=counter, count=count: counter.inc(count))
    _webhooks_queue(batch.partner, rows)


def _applicants_get_or_create(details: list[ApplicantDetails], *, channel: str) -> list[tuple[int, str]]:
    """Each row's applicant (id, reference), as `get_or_create` by reference finds or makes it (the first row
    of a reference names a new one); a row without a reference is a new applicant. Two statements."""
    references = [applicant.reference or f"applicant-{uuid.uuid4().hex[:16]}" for applicant in details]
    new: dict[str, Applicant] = {}
    for reference, applicant in zip(references, details, strict=True):
        new.setdefault(
            reference,
            Applicant(reference=reference, full_name=applicant.full_name, email=applicant.email, source=channel),
        )
    # A reference stored before (or meanwhile, by another writer) is kept as it is, as get_or_create keeps it.
    Applicant.objects.bulk_create(new.values(), ignore_conflicts=True)
    ids = dict(Applicant.objects.filter(reference__in=list(new)).values_list("reference", "pk"))
    return [(ids[reference], reference) for reference in references]


def _decided_submission_audit(
    batch: Batch, champion: ModelVersion, application: LoanApplication, decision: Decision
) -> None:
    """The two events the per-row path records for an application submitted and decided at once."""
    audit_event_record(
        action="application.submitted",
        actor=batch.submitted_by,
        actor_label=submission_actor_label(batch.submitted_by, batch.partner),
        object_type="loan_application",
        object_id=application.pk,
        payload={"reference": application.reference, "channel": application.channel, "amount": str(application.amount)},
    )
    decision_made_record(decision=decision, champion=champion, from_status=LoanApplication.Status.SUBMITTED)


def _webhooks_queue(partner: Partner | None, rows: list[_ScoredRow]) -> None:
    """`webhook_decision_notify` for decisions of applications new in this transaction (none has a delivery
    yet): one insert, each delivery sent after the commit."""
    if partner is None or not partner.webhook_url:
        return
    from lending.tasks import webhook_deliver

    deliveries = [
        WebhookDelivery(
            application=row.application,
            event=EVENT_DECIDED,
            partner=partner,
            payload=decision_webhook_payload(
                decision=row.decision,
                application=row.application,
                partner=partner,
                stored_applicant_reference=row.applicant_reference,
                outcome=row.decision.outcome,  # decided in this transaction: nothing has overridden it
            ),
        )
        for row in rows
    ]
    instances_insert(deliveries)
    for delivery in deliveries:
        transaction.on_commit(lambda delivery_id=delivery.pk: webhook_deliver.delay(delivery_id), robust=True)


def batch_chunk_process(*, batch_id: int, first_row: int, last_row: int) -> int:
    """Submit and decide the chunk's pending rows; returns how many rows this call processed.

    The rows the champion decides before storage are written in bulk, in one transaction; the others take
    the per-row path.
    """
    batch = Batch.objects.select_related("partner", "submitted_by").get(pk=batch_id)
    processed, left = _chunk_bulk_decide(batch, first_row, last_row)
    processed += _items_submit_one_by_one(batch, left)
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
