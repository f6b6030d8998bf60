"""Celery tasks of production monitoring (the `analytics` queue): thin, idempotent, each calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="monitoring.tasks.run_window_fairness_report")
def run_window_fairness_report(report_id: int) -> dict:
    """Audit one requested window of live decisions."""
    from monitoring.services import window_fairness_report_run

    report = window_fairness_report_run(report_id=report_id)
    return {"report_id": report.pk, "status": report.status}


@shared_task(name="monitoring.tasks.run_segment_proxy_check")
def run_segment_proxy_check(check_id: int) -> dict:
    """Check one segmentation's segments against its owners' protected groups."""
    from monitoring.services import segment_proxy_check_run

    check = segment_proxy_check_run(check_id=check_id)
    return {"check_id": check.pk, "status": check.status}
