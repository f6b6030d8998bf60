"""The monitoring page's alerts and the screening case queue as CSV, under the pages' filters."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models.query import QuerySet
from django.urls import reverse
from django.utils import timezone

from finai.exports import EXPORT_CHUNK_SIZE
from finai.models import AuditEvent
from monitoring.models import ScreeningCase
from monitoring.services.alerts import AlertBreach, alert_breach_record, alert_resolve
from monitoring.services.cases import case_assign, case_close_request, case_narrative_save
from tests.monitoring.screening_records import ACCOUNT, structuring_case

pytestmark = pytest.mark.django_db

LARGE_QUEUE = 6 * EXPORT_CHUNK_SIZE + 1  # six full chunks and one row: the 50,000-row stream is test_exports'

ALERT_HEADER = [
    "alert",
    "rule",
    "subject",
    "model_version",
    "severity",
    "status",
    "summary",
    "breaches",
    "first_breached_at",
    "last_breached_at",
    "acknowledged_by",
    "acknowledged_at",
    "acknowledgement_note",
    "resolved_by",
    "resolved_at",
    "resolution_note",
]
CASE_HEADER = [
    "case",
    "account",
    "status",
    "awaiting_second_approval",
    "priority",
    "alerts",
    "typologies",
    "held_by",
    "opened_at",
]


def rows(client, name: str, **query) -> list[list[str]]:
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- alerts ------------------------------------------------------------------------------------------------------


@pytest.fixture
def alerts(model_manager):
    def breach(subject: str, summary: str = "PSI 0.3"):
        return alert_breach_record(
            breach=AlertBreach(rule="feature_drift", subject=subject, severity="warning", summary=summary),
            queue_notifications=False,
        )

    breach("v1 duration")
    breach("v1 amount", summary="=PSI 0.4")
    alert_resolve(alert=breach("v1 purpose"), user=model_manager, note="Retrained on recent data.")


def test_the_alert_export_holds_the_pages_open_alerts_by_default(manager_client, alerts):
    shown = manager_client.get(reverse("monitoring:model_monitoring")).context

    exported = rows(manager_client, "monitoring:alert_export")

    assert exported[0] == ALERT_HEADER
    assert [int(row[0]) for row in exported[1:]] == [alert.pk for alert in shown["alerts"]]
    assert [int(row[0]) for row in rows(manager_client, "monitoring:alert_export", status="resolved")[1:]] == [
        alert.pk for alert in shown["resolved"]
    ]


def test_an_alert_row_names_who_resolved_it_and_keeps_formulas_as_text(manager_client, alerts):
    exported = [dict(zip(ALERT_HEADER, row, strict=True)) for row in rows(manager_client, "monitoring:alert_export")]
    resolved = dict(
        zip(ALERT_HEADER, rows(manager_client, "monitoring:alert_export", status="resolved")[1], strict=True)
    )

    assert {row["summary"] for row in exported[1:]} == {"PSI 0.3", "'=PSI 0.4"}
    assert (resolved["resolved_by"], resolved["resolution_note"]) == ("mark_manager", "Retrained on recent data.")


def test_an_unknown_status_is_refused_by_name(manager_client, alerts):
    response = manager_client.get(reverse("monitoring:alert_export"), {"status": "closed"})

    assert response.status_code == 400
    assert response.content.decode().startswith("status: must be one of open, acknowledged, resolved")
    assert not AuditEvent.objects.filter(action="export.alerts").exists()


def test_the_alert_export_is_recorded(manager_client, model_manager, alerts):
    rows(manager_client, "monitoring:alert_export", status="resolved")

    event = AuditEvent.objects.get(action="export.alerts")
    assert event.actor == model_manager
    assert event.payload == {"export": "alerts", "filters": {"status": "resolved"}, "rows": 1}


@pytest.mark.parametrize("persona", ["loan_officer", "compliance_officer", "analyst", "outsider"])
def test_only_managers_may_export_alerts(client, request, persona, alerts):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("monitoring:alert_export")).status_code == 403


def test_the_monitoring_page_offers_the_alert_exports(manager_client, alerts, model_version):
    page = manager_client.get(reverse("monitoring:model_monitoring")).content.decode()

    assert f'href="{reverse("monitoring:alert_export")}"' in page
    assert f'href="{reverse("monitoring:alert_export")}?status=resolved"' in page


# --- screening cases ---------------------------------------------------------------------------------------------


@pytest.fixture
def cases(compliance_officer) -> ScreeningCase:
    """ACC-1's structuring case, held and awaiting a second officer; two other open cases and a closed one."""
    case = case_assign(case=structuring_case(), assignee=compliance_officer, assigned_by=compliance_officer)
    case_narrative_save(case=case, author=compliance_officer, narrative="Three deposits under the threshold.")
    case_close_request(case=case, requested_by=compliance_officer, closing_note="Classic structuring.")
    ScreeningCase.objects.create(account="ACC-HIGH", priority=7)
    ScreeningCase.objects.create(account="+ACC-OTHER", priority=0.5)
    ScreeningCase.objects.create(
        account="ACC-CLOSED", priority=99, status="closed", disposition="false_positive", closed_at=timezone.now()
    )
    return case


CASE_FILTERS = [
    {},
    {"mine": "on"},
    {"status": "awaiting"},
    {"status": "pending"},
    {"typology": "structuring"},
    {"account": "other"},
    {"typology": "cycle"},
]


@pytest.mark.parametrize("query", CASE_FILTERS)
def test_the_case_export_holds_the_queues_cases_in_its_order(compliance_client, cases, query):
    queued = [
        case.pk for case, _ in compliance_client.get(reverse("monitoring:screening_queue"), query).context["rows"]
    ]

    exported = rows(compliance_client, "monitoring:screening_case_export", **query)

    assert exported[0] == CASE_HEADER
    assert [int(row[0]) for row in exported[1:]] == queued


def test_a_case_row_says_who_holds_it_its_typologies_and_that_it_awaits_a_second_officer(compliance_client, cases):
    exported = {
        row[1]: dict(zip(CASE_HEADER, row, strict=True))
        for row in rows(compliance_client, "monitoring:screening_case_export")[1:]
    }

    held = exported[ACCOUNT]
    assert (held["status"], held["awaiting_second_approval"], held["held_by"]) == (
        "investigating",
        "true",
        "carla_compliance",
    )
    assert (held["alerts"], held["typologies"], held["priority"]) == ("1", "structuring", "1.5")
    assert "'+ACC-OTHER" in exported


def test_the_case_export_is_recorded(compliance_client, compliance_officer, cases):
    rows(compliance_client, "monitoring:screening_case_export", typology="structuring", mine="on")

    event = AuditEvent.objects.get(action="export.screening_cases")
    assert event.actor == compliance_officer
    assert event.payload == {
        "export": "screening_cases",
        "filters": {"typology": "structuring", "mine": "on"},
        "rows": 1,
    }


@pytest.mark.parametrize("persona", ["loan_officer", "model_manager", "analyst", "outsider"])
def test_only_compliance_may_export_cases(client, request, persona, cases):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("monitoring:screening_case_export")).status_code == 403


def test_the_queue_offers_the_export_with_its_filters(compliance_client, cases):
    page = compliance_client.get(reverse("monitoring:screening_queue"), {"status": "pending"}).content.decode()

    assert f'href="{reverse("monitoring:screening_case_export")}?status=pending"' in page


def test_a_queue_of_many_chunks_streams_from_the_cursor_in_chunks(compliance_client, monkeypatch):
    ScreeningCase.objects.bulk_create(
        (ScreeningCase(account=f"ACC-{number:05d}", priority=number % 97) for number in range(LARGE_QUEUE)),
        batch_size=5000,
    )
    chunk_sizes = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)

    response = compliance_client.get(reverse("monitoring:screening_case_export"))
    content = iter(response.streaming_content)
    header = next(content)
    remaining = sum(chunk.count(b"\n") for chunk in content)

    assert header.startswith(b"case,account,status")
    assert remaining == LARGE_QUEUE
    assert chunk_sizes == [EXPORT_CHUNK_SIZE]
    assert AuditEvent.objects.get(action="export.screening_cases").payload["rows"] == LARGE_QUEUE
