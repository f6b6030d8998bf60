"""The progress of a job on the workers (training, an audit, a search, a check), as the pages poll it."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


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
