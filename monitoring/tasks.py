"""Celery tasks of production monitoring (the `analytics` queue): thin, idempotent, each calls one service."""

from __future__ import annotations

from celery import Task, shared_task


@shared_task(name="monitoring.tasks.run_window_fairness_report")
def run_window_fairness_report(report_id: int) -> dict:
    """Audit one requested window of live decisions."""
    from monitoring.services.fairness import window_fairness_report_run

    report = window_fairness_report_run(report_id=report_id)
    return {"report_id": report.pk, "status": report.status}


@shared_task(name="monitoring.tasks.run_segment_proxy_check")
def run_segment_proxy_check(check_id: int) -> dict:
    """Check one segmentation's segments against its owners' protected groups."""
    from monitoring.services.fairness import segment_proxy_check_run

    check = segment_proxy_check_run(check_id=check_id)
    return {"check_id": check.pk, "status": check.status}


@shared_task(name="monitoring.tasks.run_monitoring")
def run_monitoring() -> dict:
    """The scheduled run: drift of every complete, unmeasured window and performance of every cohort of each
    champion, and the alerts they raise."""
    from monitoring.services.drift import monitoring_run

    summary = monitoring_run()
    return {"windows": len(summary.windows), "cohorts": len(summary.performances), "alerts": len(summary.alerts)}


@shared_task(
    name="monitoring.tasks.notify_alert",
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def notify_alert(alert_id: int, channel: str) -> None:
    """Send one alert by one channel; an unreachable receiver is retried with backoff."""
    from monitoring.services.alerts import alert_notify

    alert_notify(alert_id=alert_id, channel=channel)


@shared_task(name="monitoring.tasks.run_operations_check")
def run_operations_check() -> dict:
    """Undecided applications and queue backlogs (a worker that runs this is itself alive)."""
    from monitoring.services.operations import operations_check

    return {"alerts": len(operations_check())}


@shared_task(name="monitoring.tasks.run_backtest")
def run_backtest(backtest_id: int) -> dict:
    """Replay one requested backtest (the policy lab) and store its comparison."""
    from monitoring.services.backtests import backtest_run

    backtest = backtest_run(backtest_id=backtest_id)
    return {"backtest_id": backtest.pk, "status": backtest.status}


@shared_task(name="monitoring.tasks.run_challenger_comparison")
def run_challenger_comparison(comparison_id: int) -> dict:
    """Compare a champion with its challenger's shadow decisions over one requested period."""
    from monitoring.services.challengers import challenger_comparison_run

    comparison = challenger_comparison_run(comparison_id=comparison_id)
    return {"comparison_id": comparison.pk, "status": comparison.status}


@shared_task(bind=True, name="monitoring.tasks.run_screening", max_retries=None)
def run_screening(self: Task, run_id: int) -> dict:
    """Apply one requested screening run (live or test) to its period.

    A run still running after this call is another delivery's: look again when its lease expires, so a run whose
    worker was killed (and whose task the broker handed out again) is finished rather than left running.
    """
    from django.conf import settings
    from django.utils import timezone

    from monitoring.services.screening import screening_run_execute

    run = screening_run_execute(run_id=run_id)
    if run.status == run.Status.RUNNING:
        lease_left = settings.CELERY_TASK_TIME_LIMIT - (timezone.now() - run.started_at).total_seconds()
        raise self.retry(countdown=max(1, round(lease_left)))
    return {"run_id": run.pk, "status": run.status}


@shared_task(name="monitoring.tasks.run_daily_screening")
def run_daily_screening() -> dict:
    """The scheduled live screening of yesterday's bookings (once per day; a repeat does nothing)."""
    from monitoring.services.screening import screening_daily_run

    run = screening_daily_run()
    return {"run_id": run.pk if run else None}


@shared_task(name="monitoring.tasks.train_screening_model")
def train_screening_model(version_id: int) -> dict:
    """Fit one requested screening model version on the stored bookings."""
    from monitoring.services.screening_models import screening_model_train

    version = screening_model_train(version_id=version_id)
    return {"version_id": version.pk, "status": version.status}
