"""The compliance officer's screening pages: the case queue, a case worked to a four-eyes close, the SAR downloads,
scenarios under four eyes, runs and detection quality; who may see them; and the figures the case page draws."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from finai.models import AuditEvent
from monitoring.models import ScenarioVersion, ScreeningCase, ScreeningRun, ScreeningScenario
from monitoring.selectors import (
    CASH,
    balance_series,
    counterparty_neighbourhood,
    screening_detection_quality,
)
from monitoring.services.cases import case_assign, case_close, case_close_request, case_narrative_save
from monitoring.services.scenarios import screening_scenarios_ensure
from tests.monitoring.screening_records import ACCOUNT, SPAN, TRIGGERING, structuring_case

pytestmark = pytest.mark.django_db

PAGES = [
    ("monitoring:screening_queue", None),
    ("monitoring:screening_case", "case"),
    ("monitoring:screening_case_sar_pdf", "case"),
    ("monitoring:screening_case_sar_csv", "case"),
    ("monitoring:screening_scenario_list", None),
    ("monitoring:screening_scenario_new", None),
    ("monitoring:screening_scenario", "scenario"),
    ("monitoring:screening_version", "version"),
    ("monitoring:screening_run_list", None),
    ("monitoring:screening_run", "run"),
    ("monitoring:screening_run_progress", "run"),
    ("monitoring:screening_quality", None),
]


@pytest.fixture
def case() -> ScreeningCase:
    return structuring_case()


@pytest.fixture
def structuring() -> ScreeningScenario:
    screening_scenarios_ensure()
    return ScreeningScenario.objects.get(name="structuring")


@pytest.fixture
def held_case(case, compliance_officer) -> ScreeningCase:
    return case_assign(case=case, assignee=compliance_officer, assigned_by=compliance_officer)


@pytest.fixture
def awaiting_case(held_case, compliance_officer) -> ScreeningCase:
    case_narrative_save(case=held_case, author=compliance_officer, narrative="Three deposits under the threshold.")
    return case_close_request(case=held_case, requested_by=compliance_officer, closing_note="Classic structuring.")


@pytest.fixture
def second_client(client, second_compliance_officer):
    client.force_login(second_compliance_officer)
    return client


def _act(client, case: ScreeningCase, action: str, **fields: str):
    return client.post(reverse("monitoring:screening_case_act", args=[case.pk]), {"action": action, **fields})


def _records(case: ScreeningCase, compliance_officer) -> dict:
    scenario = ScreeningScenario.objects.get(name="structuring")
    run = ScreeningRun.objects.create(
        kind="test", period_start=SPAN[0], period_end=SPAN[1], requested_by=compliance_officer
    )
    return {"case": case, "scenario": scenario, "version": scenario.versions.get(), "run": run}


# --- who may see the pages ----------------------------------------------------------------------------------------


def test_every_screening_page_opens_for_a_compliance_officer(compliance_client, case, compliance_officer):
    records = _records(case, compliance_officer)
    for name, record in PAGES:
        response = compliance_client.get(reverse(name, args=[records[record].pk] if record else None))
        assert response.status_code == 200, name


@pytest.mark.parametrize("persona", ["loan_officer", "model_manager"])
def test_other_roles_are_refused_every_screening_page(request, client, persona, case, compliance_officer):
    records = _records(case, compliance_officer)
    client.force_login(request.getfixturevalue(persona))
    for name, record in [*PAGES, ("monitoring:screening_case_act", "case")]:
        url = reverse(name, args=[records[record].pk] if record else None)
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"action": "take"}).status_code == 403, name
    assert ScreeningCase.objects.get().assigned_to is None


def test_anonymous_visitors_are_sent_to_sign_in(client, case):
    response = client.get(reverse("monitoring:screening_case", args=[case.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- the queue -----------------------------------------------------------------------------------------------------


def test_the_queue_lists_open_cases_by_priority_with_their_typologies_and_counts(compliance_client, case):
    closed = ScreeningCase.objects.create(account="ACC-CLOSED", priority=99)
    ScreeningCase.objects.filter(pk=closed.pk).update(
        status="closed", disposition="false_positive", closed_at=timezone.now()
    )
    higher = ScreeningCase.objects.create(account="ACC-HIGH", priority=7)

    response = compliance_client.get(reverse("monitoring:screening_queue"))

    page = response.content.decode()
    assert [row.pk for row, _ in response.context["rows"]] == [higher.pk, case.pk]
    assert "Structuring" in page
    assert "ACC-CLOSED" not in page
    assert response.context["counts"] == {"pending": 2, "investigating": 0, "awaiting": 0, "closed_recently": 1}


def test_the_queue_filters_mine_awaiting_typology_and_account(compliance_client, awaiting_case, compliance_officer):
    ScreeningCase.objects.create(account="ACC-OTHER")
    queue = reverse("monitoring:screening_queue")

    def listed(**filters: str) -> list[str]:
        return [row.account for row, _ in compliance_client.get(queue, filters).context["rows"]]

    assert listed(mine="on") == [ACCOUNT]
    assert listed(status="awaiting") == [ACCOUNT]
    assert listed(typology="structuring") == [ACCOUNT]
    assert listed(account="other") == ["ACC-OTHER"]
    assert listed(typology="cycle") == []
    assert "Awaiting second approval" in compliance_client.get(queue).content.decode()


def test_the_queue_says_when_no_case_is_open(compliance_client):
    response = compliance_client.get(reverse("monitoring:screening_queue"))

    assert "No open case" in response.content.decode()


# --- a case worked through the page --------------------------------------------------------------------------------


def test_the_case_page_shows_the_alert_its_bookings_the_charts_and_the_trail(compliance_client, case):
    response = compliance_client.get(reverse("monitoring:screening_case", args=[case.pk]))

    page = response.content.decode()
    assert "3 cash deposits between 9,000.00 and 10,000.00" in page
    assert "3 triggering bookings" in page
    assert page.count("<svg") == 2
    assert [booking.external_id for booking in response.context["bookings_page"].object_list] == [
        "t1",
        "t2",
        "t3",
        "t4",
        "t5",
        "t6",
    ]
    assert "Take the case" in page


def test_taking_the_case_adding_a_note_and_the_trail_shows_both(compliance_client, case, compliance_officer):
    assert _act(compliance_client, case, "take").status_code == 302
    assert _act(compliance_client, case, "note", **{"note-text": "Called the branch."}).status_code == 302

    response = compliance_client.get(reverse("monitoring:screening_case", args=[case.pk]))

    case.refresh_from_db()
    assert case.assigned_to == compliance_officer
    whats = [entry.what for entry in response.context["timeline"]]
    assert whats == ["Taken", "Note added"]
    assert "Called the branch." in response.content.decode()


def test_an_empty_note_is_refused_naming_the_field(compliance_client, held_case):
    response = _act(compliance_client, held_case, "note", **{"note-text": "  "})

    assert response.status_code == 400
    page = response.content.decode()
    assert "The note is empty. (text: is required)" in page
    assert held_case.notes.count() == 0


def test_someone_not_holding_the_case_cannot_work_it(second_client, held_case):
    response = _act(second_client, held_case, "note", **{"note-text": "Me too."})

    assert response.status_code == 400
    assert "it is held by carla_compliance" in response.content.decode()


def test_a_confirmation_needs_the_narrative_first(compliance_client, held_case):
    response = _act(compliance_client, held_case, "close_request", **{"close_request-closing_note": "Suspicious."})

    assert response.status_code == 400
    assert "sar narrative: is required" in response.content.decode()


def test_closing_as_false_positive_needs_a_note(compliance_client, held_case):
    response = _act(compliance_client, held_case, "close", **{"close-disposition": "false_positive"})

    assert response.status_code == 400
    assert "closing note: is required" in response.content.decode()
    held_case.refresh_from_db()
    assert held_case.status == ScreeningCase.Status.INVESTIGATING


def test_the_investigator_cannot_approve_their_own_confirmation(compliance_client, awaiting_case):
    page = compliance_client.get(reverse("monitoring:screening_case", args=[awaiting_case.pk])).content.decode()
    assert "you requested it, so someone else approves it" in page

    response = _act(compliance_client, awaiting_case, "close_approve")

    assert response.status_code == 400
    assert "A second compliance officer must approve the confirmation" in response.content.decode()
    awaiting_case.refresh_from_db()
    assert awaiting_case.status == ScreeningCase.Status.INVESTIGATING


def test_a_second_officer_approves_and_the_case_closes_confirmed(second_client, awaiting_case):
    response = _act(second_client, awaiting_case, "close_approve", **{"review-note": "Agreed."})

    assert response.status_code == 302
    awaiting_case.refresh_from_db()
    assert (awaiting_case.status, awaiting_case.disposition) == ("closed", "confirmed")
    page = second_client.get(reverse("monitoring:screening_case", args=[awaiting_case.pk])).content.decode()
    assert "Confirmation approved (second officer)" in page
    assert "Download SAR (PDF)" in page


def test_a_second_officer_must_say_why_they_send_a_confirmation_back(second_client, awaiting_case):
    response = _act(second_client, awaiting_case, "close_reject", **{"review-note": ""})

    assert response.status_code == 400
    assert "note: is required" in response.content.decode()


# --- SAR downloads -------------------------------------------------------------------------------------------------


def test_the_sar_pdf_downloads_as_a_draft_and_is_audited(compliance_client, case):
    response = compliance_client.get(reverse("monitoring:screening_case_sar_pdf", args=[case.pk]))

    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="sar-draft-case-{case.pk}.pdf"'
    event = AuditEvent.objects.get(action="screening.case_sar_exported")
    assert (event.object_id, event.payload["format"], event.payload["draft"]) == (str(case.pk), "pdf", True)


def test_the_sar_csv_holds_the_triggering_bookings(compliance_client, case):
    response = compliance_client.get(reverse("monitoring:screening_case_sar_csv", args=[case.pk]))

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["external_id"] for row in rows] == list(TRIGGERING)
    assert {row["report_status"] for row in rows} == {"draft"}


# --- scenarios -----------------------------------------------------------------------------------------------------


def test_the_editor_has_a_field_per_engine_parameter(compliance_client, structuring):
    response = compliance_client.get(reverse("monitoring:screening_scenario", args=[structuring.pk]))

    form = response.context["form"]
    assert form.parameter_names == ["threshold", "margin", "minimum_deposits", "window_days"]
    assert form["threshold"].value() == 10_000.0
    assert 'min="0.001" max="0.99"' in str(form["margin"])


def test_an_out_of_range_parameter_is_named_on_the_form(compliance_client, structuring):
    response = compliance_client.post(
        reverse("monitoring:screening_scenario", args=[structuring.pk]),
        {
            "threshold": "9000",
            "margin": "2",
            "minimum_deposits": "3",
            "window_days": "7",
            "enabled": "on",
            "change_note": "Lower threshold.",
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["margin"] == ["must be <= 0.99"]


def test_a_proposed_change_waits_and_its_proposer_sees_why_they_cannot_approve(compliance_client, structuring):
    response = compliance_client.post(
        reverse("monitoring:screening_scenario", args=[structuring.pk]),
        {
            "threshold": "9000",
            "margin": "0.1",
            "minimum_deposits": "3",
            "window_days": "7",
            "enabled": "on",
            "change_note": "Deposits cluster lower.",
        },
    )

    version = structuring.versions.get(status=ScenarioVersion.Status.PENDING)
    assert response["Location"] == reverse("monitoring:screening_version", args=[version.pk])
    page = compliance_client.get(response["Location"]).content.decode()
    assert "You proposed this version" in page
    diff = {
        change.name: (change.before, change.after)
        for change in compliance_client.get(response["Location"]).context["changes"]
        if change.changed
    }
    assert diff == {"threshold": (10_000.0, 9_000.0)}

    refused = compliance_client.post(
        reverse("monitoring:screening_version_review", args=[version.pk]), {"action": "approve"}
    )
    assert refused.status_code == 400
    assert "reviewed by: is the proposer" in refused.content.decode()


def test_a_second_officer_approves_a_change_which_retires_the_old_version(
    second_client, structuring, compliance_officer
):
    from monitoring.services.scenarios import scenario_change_propose

    version = scenario_change_propose(
        scenario=structuring,
        parameters={"threshold": 9000},
        enabled=True,
        change_note="Lower.",
        proposed_by=compliance_officer,
    )

    second_client.post(reverse("monitoring:screening_version_review", args=[version.pk]), {"action": "approve"})

    statuses = dict(structuring.versions.values_list("number", "status"))
    assert statuses == {1: "retired", 2: "active"}


def test_a_new_scenario_of_a_chosen_typology_is_proposed(compliance_client):
    screening_scenarios_ensure()
    url = reverse("monitoring:screening_scenario_new") + "?typology=fan_out"
    response = compliance_client.post(
        url,
        {
            "name": "fan_out_wide",
            "description": "",
            "minimum_counterparties": "12",
            "window_days": "7",
            "minimum_amount": "250",
            "change_note": "Wider fan-out for corporate accounts.",
        },
    )

    scenario = ScreeningScenario.objects.get(name="fan_out_wide")
    assert (scenario.typology, scenario.versions.get().status) == ("fan_out", "pending")
    assert response.status_code == 302


# --- runs ---------------------------------------------------------------------------------------------------------


def test_a_test_run_of_a_version_is_queued_over_the_chosen_days(compliance_client, structuring, monkeypatch):
    monkeypatch.setattr("monitoring.tasks.run_screening.delay", lambda run_id: None)
    version = structuring.versions.get()

    response = compliance_client.post(
        reverse("monitoring:screening_test_run_start", args=[version.pk]),
        {"first_day": "2025-03-01", "last_day": "2025-03-07"},
    )

    run = ScreeningRun.objects.get()
    assert response["Location"] == reverse("monitoring:screening_run", args=[run.pk])
    assert (run.kind, run.period_start, run.period_end) == ("test", SPAN[0], SPAN[1])
    assert list(run.versions.all()) == [version]


def test_a_run_over_the_future_is_refused_on_the_last_day(compliance_client, structuring):
    today = timezone.now().date()

    response = compliance_client.post(
        reverse("monitoring:screening_test_run_start", args=[structuring.versions.get().pk]),
        {"first_day": str(today - dt.timedelta(days=3)), "last_day": str(today)},
    )

    assert response.status_code == 400
    assert "must not be in the future" in response.context["run_form"].errors["last_day"][0]


def test_the_test_run_form_defaults_to_the_last_30_days_with_bookings(compliance_client, case, structuring):
    response = compliance_client.get(reverse("monitoring:screening_version", args=[structuring.versions.get().pk]))

    form = response.context["run_form"]
    assert (form["first_day"].value(), form["last_day"].value()) == (dt.date(2025, 2, 19), dt.date(2025, 3, 20))


def test_live_screening_now_runs_the_active_versions(compliance_client, case, monkeypatch):
    monkeypatch.setattr("monitoring.tasks.run_screening.delay", lambda run_id: None)

    compliance_client.post(
        reverse("monitoring:screening_run_list"), {"first_day": "2025-03-01", "last_day": "2025-03-07"}
    )

    run = ScreeningRun.objects.get()
    assert run.kind == "live"
    assert run.versions.count() == ScenarioVersion.objects.filter(status="active").count() == 8


def test_a_finished_run_shows_a_dash_with_its_reason_where_there_is_nothing_to_compare(
    compliance_client, case, compliance_officer
):
    from monitoring.services.screening import screening_run_execute, screening_run_request

    run = screening_run_request(
        kind="test",
        period_start=SPAN[0],
        period_end=SPAN[1],
        versions=[ScenarioVersion.objects.get(scenario__name="structuring")],
        requested_by=compliance_officer,
        queue=False,
    )
    screening_run_execute(run_id=run.pk)

    response = compliance_client.get(reverse("monitoring:screening_run", args=[run.pk]))

    page = response.content.decode()
    rule = response.context["results"]["rules"][0]
    assert (rule["alerts"], rule["accounts"], rule["precision_dispositions"]) == (1, 1, None)
    assert "\N{EN DASH}" in page
    assert "there was nothing to compare" in page


# --- detection quality and the case page's figures ------------------------------------------------------------------


def test_detection_quality_counts_alerts_cases_and_dispositions_per_month(compliance_client, held_case):
    case_close(
        case=held_case,
        closed_by=held_case.assigned_to,
        disposition="false_positive",
        closing_note="A shop's takings.",
    )
    month = timezone.now().date().replace(day=1)

    quality = screening_detection_quality()

    assert quality.rules == ["structuring"]
    only = quality.months[0]
    assert (only.month, only.alerts, only.opened, only.closed, only.share_confirmed) == (
        month,
        [1],
        1,
        {"false_positive": 1},
        0.0,
    )
    assert compliance_client.get(reverse("monitoring:screening_quality")).status_code == 200


def test_the_running_net_flow_is_the_sum_of_in_minus_out_per_day(case):
    series = balance_series(account=ACCOUNT, since=SPAN[0], until=SPAN[1])

    assert series == [
        (dt.date(2025, 3, 1), Decimal("9500.00")),
        (dt.date(2025, 3, 2), Decimal("19100.00")),
        (dt.date(2025, 3, 3), Decimal("8800.00")),
        (dt.date(2025, 3, 5), Decimal("9300.00")),
    ]


def test_the_neighbourhood_sums_each_counterparty_and_caps_the_list(case):
    neighbourhood = counterparty_neighbourhood(account=ACCOUNT, since=SPAN[0], until=SPAN[1], top=2)

    flows = [(flow.counterparty, flow.received, flow.sent, flow.bookings) for flow in neighbourhood.flows]
    assert flows == [(CASH, Decimal("28800.00"), Decimal("0"), 3), ("ACC-2", Decimal("0"), Decimal("20000.00"), 1)]
    assert neighbourhood.others == 1
