"""Partner API fixtures: a champion scorecard, an isolated cache, eager Celery (the partners are root personas)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(settings) -> None:
    """Rate-limit counters of one test never reach another (nor another run sharing Redis)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run inline where they are queued (unit tests; the integration tests use a real worker)."""
    from finai.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(scope="session")
def scorecard_artifact() -> bytes:
    """A scorecard fitted once per session on the shipped German credit data (about a second)."""
    from analytics.engine.dataset_schema import schema_load
    from analytics.engine.families import family_get
    from analytics.engine.families.base import training_data_from_file

    family = family_get("scorecard")
    data = training_data_from_file(schema_load("german_credit"))
    return family.fit(data, family.resolve_params({}), seed=0).to_bytes()


@pytest.fixture
def champion(db, settings, tmp_path, scorecard_artifact):
    """A champion scorecard for consumer loans, registered as training would leave it."""
    from analytics.models import DataSnapshot, ModelVersion
    from finai.artifacts import artifact_store

    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {**settings.STORAGES["artifacts"], "OPTIONS": {"location": str(tmp_path / "artifacts")}},
    }
    path, digest = artifact_store(name="models/consumer_loan/api-test.finai", content=scorecard_artifact)
    snapshot = DataSnapshot.objects.create(dataset="german_credit", content_hash="0" * 64, row_count=1000)
    return ModelVersion.objects.create(
        product="consumer_loan",
        family="scorecard",
        status=ModelVersion.Status.CHAMPION,
        snapshot=snapshot,
        artifact_path=path,
        artifact_sha256=digest,
        progress=100,
    )
