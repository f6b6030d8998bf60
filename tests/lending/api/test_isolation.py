"""Two partners and an outsider key: nobody reads, lists or reports on another partner's records.

Personas: Acme and Globex each submit; Initech holds a valid key and owns nothing, so every answer it
gets about the others' records must be indistinguishable from "does not exist".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lending.models import Decision
from lending.services.applications import loan_fund
from tests.lending.api.helpers import application_body, bearer, submit
from tests.lending.overrides import override_to_approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def initech(make_partner):
    return make_partner("Initech")


@pytest.fixture
def records(
    client, acme, globex, champion, loan_officer, second_loan_officer, eager_celery, django_capture_on_commit_callbacks
):
    """Each of Acme and Globex: one application (funded) and one batch."""
    made = {}
    for name, (_, key) in (("acme", acme), ("globex", globex)):
        application_id = submit(client, key, application_body(applicant={"reference": "same-ref"})).json()["id"]
        decision = Decision.objects.get(application_id=application_id, is_shadow=False)
        if decision.outcome != "approve":
            override_to_approve(decision, officer=loan_officer, second_officer=second_loan_officer)
        loan = loan_fund(application=decision.application, principal=Decimal("2500"), funded_on=dt.date(2025, 1, 1))
        with django_capture_on_commit_callbacks(execute=True):
            batch = client.post(
                "/api/v1/batches/",
                {"applications": [application_body()]},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"batch-{name}",
                **bearer(key),
            ).json()
        made[name] = {"application": application_id, "loan": loan.pk, "batch": batch["id"]}
    return made


def test_a_partner_reads_its_own_application_but_not_anothers(client, acme, globex, initech, records):
    own = client.get(f"/api/v1/applications/{records['acme']['application']}/", **bearer(acme[1]))
    theirs = client.get(f"/api/v1/applications/{records['globex']['application']}/", **bearer(acme[1]))
    missing = client.get("/api/v1/applications/999999/", **bearer(acme[1]))

    assert own.status_code == 200
    assert theirs.status_code == 404
    assert theirs.json() | {"instance": ""} == missing.json() | {"instance": ""}
    for partner in ("acme", "globex"):
        application = records[partner]["application"]
        assert client.get(f"/api/v1/applications/{application}/", **bearer(initech[1])).status_code == 404


def test_the_list_shows_only_the_partners_own_applications(client, acme, globex, initech, records):
    def listed(key: str, query: str = "") -> set[int]:
        return {item["id"] for item in client.get(f"/api/v1/applications/?{query}", **bearer(key)).json()["results"]}

    acme_ids, globex_ids = listed(acme[1]), listed(globex[1])

    assert records["acme"]["application"] in acme_ids
    assert not acme_ids & globex_ids
    assert records["globex"]["application"] in globex_ids
    assert listed(initech[1]) == set()
    assert listed(initech[1], "applicant_reference=same-ref") == set()
    assert listed(acme[1], "applicant_reference=same-ref") == {records["acme"]["application"]}


def test_the_same_applicant_reference_from_two_partners_is_two_applicants(client, acme, globex, records):
    acme_view = client.get(f"/api/v1/applications/{records['acme']['application']}/", **bearer(acme[1])).json()
    globex_view = client.get(f"/api/v1/applications/{records['globex']['application']}/", **bearer(globex[1])).json()

    assert acme_view["applicant"]["reference"] == globex_view["applicant"]["reference"] == "same-ref"
    from lending.models import LoanApplication

    applicants = {
        LoanApplication.objects.get(pk=records[name]["application"]).applicant_id for name in ("acme", "globex")
    }
    assert len(applicants) == 2


def test_batches_do_not_leak_between_partners(client, acme, globex, initech, records):
    globex_batch = records["globex"]["batch"]
    for key in (acme[1], initech[1]):
        assert client.get(f"/api/v1/batches/{globex_batch}/", **bearer(key)).status_code == 404
        assert client.get(f"/api/v1/batches/{globex_batch}/results/", **bearer(key)).status_code == 404
        listed = {item["id"] for item in client.get("/api/v1/batches/", **bearer(key)).json()["results"]}
        assert globex_batch not in listed
    assert client.get(f"/api/v1/batches/{globex_batch}/", **bearer(globex[1])).status_code == 200


def test_batch_results_name_only_the_partners_own_applications(client, acme, records):
    rows = client.get(f"/api/v1/batches/{records['acme']['batch']}/results/", **bearer(acme[1])).json()
    listed = {item["id"] for item in client.get("/api/v1/applications/", **bearer(acme[1])).json()["results"]}

    assert {row["application_id"] for row in rows} <= listed


def test_outcomes_cannot_be_reported_on_another_partners_loan(client, acme, initech, records):
    body = {"status": "current", "days_past_due": 0, "as_of": "2025-02-01"}
    for key in (acme[1], initech[1]):
        response = client.post(
            f"/api/v1/loans/{records['globex']['loan']}/outcomes/", body, content_type="application/json", **bearer(key)
        )
        assert response.status_code == 404
    own = client.post(
        f"/api/v1/loans/{records['acme']['loan']}/outcomes/", body, content_type="application/json", **bearer(acme[1])
    )
    assert own.status_code == 201


def test_idempotency_keys_do_not_reveal_another_partners_response(client, acme, initech, records):
    replay = client.post(
        "/api/v1/batches/",
        {"applications": [application_body()]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="batch-acme",
        **bearer(initech[1]),
    )

    assert replay.status_code == 202
    assert replay.json()["id"] != records["acme"]["batch"]
