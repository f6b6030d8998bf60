"""What operators' scrapers read about production: open alerts by rule, decisions by outcome, scoring latency."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.test import Client

from tests.finai.scraping import scrape
from tests.lending.services.test_decisions import RISKY, apply

pytestmark = pytest.mark.django_db

BREACHED_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _alert(rule: str, subject: str, status: str):
    alert_model = apps.get_model("monitoring", "Alert")
    return alert_model.objects.create(
        rule=rule,
        subject=subject,
        status=status,
        summary=f"{rule} on {subject}",
        first_breached_at=BREACHED_AT,
        last_breached_at=BREACHED_AT,
        resolved_at=BREACHED_AT if status == "resolved" else None,
    )


def test_open_and_acknowledged_alerts_are_counted_by_rule(client: Client) -> None:
    _alert("feature_drift", "v1 duration_in_month", "open")
    _alert("feature_drift", "v1 credit_amount", "acknowledged")
    _alert("queue_backlog", "scoring", "open")
    _alert("auc_drop", "v1", "resolved")

    metrics = scrape(client)

    assert metrics.value("finai_alerts_open", rule="feature_drift") == 2
    assert metrics.value("finai_alerts_open", rule="queue_backlog") == 1
    assert ("finai_alerts_open", frozenset({("rule", "auc_drop")})) in metrics.samples  # a resolved rule reads 0
    assert metrics.value("finai_alerts_open", rule="auc_drop") == 0


def test_without_the_alert_model_the_scrape_leaves_alerts_out(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that predates alerts (or a deployment without them) still scrapes."""
    get_model = apps.get_model

    def without_alerts(app_label: str, model_name: str | None = None, **kwargs):
        if (app_label, model_name) == ("monitoring", "Alert"):
            raise LookupError("App 'monitoring' doesn't have a 'Alert' model.")
        return get_model(app_label, model_name, **kwargs)

    monkeypatch.setattr(apps, "get_model", without_alerts)

    metrics = scrape(client)

    assert "finai_alerts_open" not in metrics.families
    assert "finai_broker_up" in metrics.families


def test_a_recorded_decision_is_counted_by_outcome_and_product(
    client: Client, champion, loan_officer, django_capture_on_commit_callbacks
) -> None:
    labels = {"outcome": "decline", "product": champion.product}
    before = scrape(client).value("finai_decisions_total", **labels)

    with django_capture_on_commit_callbacks(execute=True):
        decision = apply(loan_officer, RISKY).decisions.get()

    assert decision.outcome == "decline"
    assert scrape(client).value("finai_decisions_total", **labels) == before + 1


def test_scoring_is_timed_by_model_family(client: Client, champion, loan_officer) -> None:
    before = scrape(client).value("finai_scoring_duration_seconds_count", family="scorecard")

    apply(loan_officer, RISKY)

    assert scrape(client).value("finai_scoring_duration_seconds_count", family="scorecard") == before + 1
