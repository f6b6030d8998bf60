"""The progress of a job on the workers (training, an audit, a search, a check), as the pages poll it, and its end."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from finai.services import audit_event_record


def job_progress_response(job: Any) -> JsonResponse:
    """Status, percent, message and failure of any record with the job fields; static/js polls this shape."""
    return JsonResponse(
        {
            "status": job.status,
            "progress": job.progress,
            "progress_message": job.progress_message,
            "failure": job.failure,
        }
    )


def job_finish(
    job: Any,
    *,
    status: str,
    action: str,
    object_type: str,
    payload: dict[str, Any],
    failure: str = "",
    results: Any = None,
) -> Any:
    """End a job record (done, with its results at 100%; or failed, with the reason) and audit `action` with
    `payload` and the failure, in one transaction."""
    with transaction.atomic():
        job.status, job.failure, job.finished_at = status, failure, timezone.now()
        fields = ["status", "failure", "finished_at"]
        if results is not None:
            job.results = results
            job.progress, job.progress_message = 100, "Done"
            fields += ["results", "progress", "progress_message"]
        job.save(update_fields=fields)
        audit_event_record(
            action=action,
            actor=job.requested_by,
            object_type=object_type,
            object_id=job.pk,
            payload={**payload, "failure": failure},
        )
    return job
