"""The demo's history: the champion's live decisions over six months, protected attributes on record, measured."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lending.models import Decision, Loan
from monitoring.models import CohortPerformance, MonitoringWindow

pytestmark = pytest.mark.django_db


def test_the_demo_history_fills_the_monitoring_and_fairness_pages(settings, champion, loan_officer):
    settings.DEBUG = True
    settings.MONITORING_FAIRNESS_RESAMPLES = 50
    settings.MONITORING_BOOTSTRAP_SAMPLES = 50

    call_command("ensure_demo_history", "--limit", "120", stdout=StringIO())

    live = Decision.objects.filter(model_version=champion, is_shadow=False)
    assert live.count() == 120
    assert len({decision.decided_at.month for decision in live}) == 6
    assert live.filter(application__applicant__protected_attributes__sex__gt="").count() == 120
    assert Loan.objects.filter(application__decisions__in=live).exists()
    months = MonitoringWindow.objects.filter(model_version=champion, period="month")
    assert months.count() == 6
    assert all(window.fairness.get("attributes") for window in months)
    assert CohortPerformance.objects.filter(model_version=champion).count() == 6


def test_the_demo_history_is_added_once(settings, champion):
    settings.DEBUG = True
    settings.MONITORING_FAIRNESS_RESAMPLES = 20
    call_command("ensure_demo_history", "--limit", "12", stdout=StringIO())
    output = StringIO()

    call_command("ensure_demo_history", "--limit", "12", stdout=output)

    assert "already there" in output.getvalue()
    assert Decision.objects.filter(model_version=champion).count() == 12


def test_it_refuses_to_run_outside_the_demo(settings, champion):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("ensure_demo_history")
