"""Benchmark: synthetic applications through the partner batch path, beside Postgres COPY of decision rows.

End to end: `POST /api/v1/batches/` (up to 10,000 rows a batch, as a partner sends them) until the last
decision is stored by a real Celery worker (`celery_worker_process`: the test suite's solo worker) on Postgres
and the run's Redis broker; every row becomes an applicant, an application, a decision and two audit events.
Beside it, the storage limit: decision rows shaped like the stored ones, loaded by COPY into a table shaped
like `lending_decision` (its indexes and constraints; logged, as the real table is). Target (issue 19): the
batch path at least 50% of the COPY rate. The batch path writes each chunk in bulk, hundreds of rows a second
on this 2-core machine, so it runs on `ROWS` rather than 10^6 to keep `make bench` to about a minute, and COPY
on `COPY_ROWS` (a rate that no longer depends on the count); the notes give the extrapolated 10^6 times.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from django.core.files.storage import storages
from django.db import connection
from django.db.models import Count, Max
from django.test import Client
from django.utils import timezone

from analytics.engine.dataset_schema import schema_load
from analytics.engine.families import family_get
from analytics.engine.families.base import training_data_from_file
from analytics.models import DataSnapshot, ModelVersion
from finai.artifacts import artifact_store
from finai.models import AuditEvent
from finai.services import audit_chain_verify
from lending.models import Batch, BatchItem, Decision, LoanApplication
from lending.services.batches import BATCH_MAX_ROWS
from lending.synthetic import reference_load

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROWS = 20_000
COPY_ROWS = 100_000
FULL_ROWS = 1_000_000
SHARE_TARGET_PERCENT = 50.0
STALL_SECONDS = 60
DECISION_COLUMNS = [
    "model_version_id",
    "is_shadow",
    "outcome",
    "probability_of_default",
    "score",
    "reasons",
    "feature_vector",
    "outside_training_range",
    "policy_version",
    "decided_at",
]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


@pytest.fixture
def champion(transactional_db) -> Iterator[ModelVersion]:
    """A German credit scorecard as champion, in the project's artifact storage so the worker can read it."""
    family = family_get("scorecard")
    fitted = family.fit(training_data_from_file(schema_load("german_credit")), family.resolve_params({}), seed=0)
    path, digest = artifact_store(
        name=f"models/consumer_loan/bench-{uuid.uuid4().hex}.finai", content=fitted.to_bytes()
    )
    snapshot = DataSnapshot.objects.create(dataset="german_credit", content_hash="2" * 64, row_count=1000)
    yield ModelVersion.objects.create(
        family="scorecard", status="champion", snapshot=snapshot, artifact_path=path, artifact_sha256=digest
    )
    storages["artifacts"].delete(path)


def _applications(rows: int, seed: int = 0) -> list[dict]:
    """Partner API bodies: German credit rows drawn with replacement, each applicant a new customer."""
    schema = schema_load("german_credit")
    reference = reference_load(schema)
    drawn = reference.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    mapped = {column.maps_to: column.name for column in schema.columns if column.role == "feature" and column.maps_to}
    features = [c.name for c in schema.columns if c.role == "feature" and not c.maps_to]
    feature_records = json.loads(drawn[features].to_json(orient="records"))
    return [
        {
            "applicant": {"reference": f"bench-{seed}-{number}", "full_name": f"Bench Applicant {number}"},
            "loan": {
                "amount": f"{float(drawn.at[number, mapped['amount']]):.2f}",
                "term_months": int(drawn.at[number, mapped["term_months"]]),
                "purpose": str(drawn.at[number, mapped["purpose"]]),
            },
            "features": feature_records[number],
        }
        for number in range(rows)
    ]


def _batches_post(client: Client, key: str, bodies: list[dict]) -> list[int]:
    batch_ids = []
    for start in range(0, len(bodies), BATCH_MAX_ROWS):
        response = client.post(
            "/api/v1/batches/",
            json.dumps({"applications": bodies[start : start + BATCH_MAX_ROWS]}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 202, response.content[:500]
        batch_ids.append(response.json()["id"])
    return batch_ids


def _wait_until_completed(batch_ids: list[int]) -> None:
    """Until every batch is completed; a worker that stops making progress fails the bench instead of hanging it."""
    progress, progressed_at = -1, time.monotonic()
    while Batch.objects.filter(pk__in=batch_ids).exclude(status=Batch.Status.COMPLETED).exists():
        processed = BatchItem.objects.filter(batch_id__in=batch_ids).exclude(status=BatchItem.Status.PENDING).count()
        if processed != progress:
            progress, progressed_at = processed, time.monotonic()
        elif time.monotonic() - progressed_at > STALL_SECONDS:
            pytest.fail(f"no row processed for {STALL_SECONDS} s ({processed:,} done); see var/test-worker-*.log")
        time.sleep(0.5)


def _decision_rows_csv(rows: int) -> io.StringIO:
    """CSV of `rows` decision rows: the stored decisions' own values repeated, each for its own application."""
    stored = pd.DataFrame.from_records(Decision.objects.values_list(*DECISION_COLUMNS), columns=DECISION_COLUMNS)
    repeated = stored.iloc[np.arange(rows) % len(stored)].reset_index(drop=True)
    for column in ("reasons", "feature_vector", "outside_training_range"):
        repeated[column] = [json.dumps(value) for value in repeated[column]]
    repeated["decided_at"] = repeated["decided_at"].map(lambda stamp: stamp.isoformat())
    repeated.insert(0, "application_id", np.arange(1, rows + 1))
    buffer = io.StringIO()
    repeated.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    return buffer


def _copy_seconds(buffer: io.StringIO, rows: int) -> float:
    """COPY the rows into a logged table shaped like lending_decision (its defaults, indexes, constraints)."""
    columns = ", ".join(["application_id", *DECISION_COLUMNS])
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_copy_decision (LIKE lending_decision INCLUDING ALL)")
        try:
            started = time.perf_counter()
            cursor.copy_expert(f"COPY bench_copy_decision ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
            elapsed = time.perf_counter() - started
            cursor.execute("SELECT count(*), count(DISTINCT application_id) FROM bench_copy_decision")
            assert cursor.fetchone() == (rows, rows)
        finally:
            cursor.execute("DROP TABLE bench_copy_decision")
    return elapsed


def test_the_batch_path_decides_every_row_once_beside_copy_of_as_many_decisions(
    celery_worker_process, champion, acme, figure
):
    _, key = acme
    bodies = _applications(ROWS)

    submitted_at = timezone.now()
    started = time.perf_counter()
    batch_ids = _batches_post(Client(), key, bodies)
    posted = time.perf_counter() - started
    _wait_until_completed(batch_ids)
    last_decision_at = Decision.objects.aggregate(last=Max("decided_at"))["last"]
    end_to_end = (last_decision_at - submitted_at).total_seconds()

    # Every row decided exactly once, by the champion, with its application's audit events; the chain intact.
    items = BatchItem.objects.filter(batch_id__in=batch_ids)
    assert items.count() == ROWS
    assert items.filter(status=BatchItem.Status.DECIDED, application__isnull=False).count() == ROWS
    assert LoanApplication.objects.count() == ROWS
    decisions = Decision.objects.filter(is_shadow=False)
    assert decisions.count() == ROWS
    assert decisions.values("application_id").distinct().count() == ROWS
    assert set(decisions.values_list("model_version_id", flat=True)) == {champion.pk}
    assert not LoanApplication.objects.exclude(status=LoanApplication.Status.DECIDED).exists()
    actions = dict(AuditEvent.objects.values_list("action").annotate(Count("pk")))
    assert (actions["application.submitted"], actions["decision.made"]) == (ROWS, ROWS)
    assert actions["batch.submitted"] == len(batch_ids)
    verification = audit_chain_verify()
    assert verification.intact, verification.problem
    assert verification.events_checked == sum(actions.values())

    copy_seconds = _copy_seconds(_decision_rows_csv(COPY_ROWS), COPY_ROWS)
    batch_rate, copy_rate = ROWS / end_to_end, COPY_ROWS / copy_seconds
    share = 100 * batch_rate / copy_rate
    print(
        f"\nbatch path: {ROWS:,} rows in {len(batch_ids)} batches, posted in {posted:.1f} s, last decision stored "
        f"{end_to_end:.1f} s after submission: {batch_rate:,.0f} rows/s (10^6 extrapolated: "
        f"{FULL_ROWS / batch_rate / 60:.0f} min)\nCOPY of {COPY_ROWS:,} decision rows: {copy_seconds:.2f} s, "
        f"{copy_rate:,.0f} rows/s; batch path = {share:.2f}% of COPY ({_load()})"
    )
    figure(
        "batch_scoring_rows_per_s",
        batch_rate,
        "rows/s",
        note=f"{ROWS:,} rows end to end (10^6 would take {FULL_ROWS / batch_rate / 60:.0f} min); 1 solo worker",
    )
    figure(
        "copy_decision_rows_per_s",
        copy_rate,
        "rows/s",
        note=f"COPY of {COPY_ROWS:,} decision rows (10^6: {FULL_ROWS / copy_rate:.0f} s), logged table",
    )
    figure(
        "batch_scoring_share_of_copy",
        share,
        "%",
        limit=SHARE_TARGET_PERCENT,
        comparison=">=",
        note="the batch path's rate over COPY's",
    )
