"""The champion is cached per process and follows every change of the registry at once (no time-out)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from analytics.models import DataSnapshot, ModelVersion
from analytics.services.serving import scoring_versions, scoring_versions_pinned


@pytest.fixture
def snapshot(db) -> DataSnapshot:
    return DataSnapshot.objects.create(dataset="german_credit", content_hash="c" * 64, row_count=1000)


def _version(snapshot: DataSnapshot, status: str, sha256: str) -> ModelVersion:
    return ModelVersion.objects.create(
        product="consumer_loan", family="scorecard", status=status, snapshot=snapshot, artifact_sha256=sha256
    )


def test_an_unchanged_champion_is_checked_with_one_small_statement(snapshot):
    if connection.vendor != "postgresql":
        pytest.skip("the row version is Postgres's xmin; elsewhere the versions are read whole")
    champion = _version(snapshot, ModelVersion.Status.CHAMPION, "a" * 64)
    scoring_versions(product="consumer_loan")

    with CaptureQueriesContext(connection) as queries:
        found, challenger = scoring_versions(product="consumer_loan")

    assert (found.pk, challenger) == (champion.pk, None)
    assert found.snapshot.pk == snapshot.pk
    assert len(queries.captured_queries) == 1
    assert '"metrics"' not in queries.captured_queries[0]["sql"]


def test_a_promotion_is_seen_by_the_next_decision(snapshot):
    old = _version(snapshot, ModelVersion.Status.CHAMPION, "a" * 64)
    new = _version(snapshot, ModelVersion.Status.CHALLENGER, "b" * 64)
    assert [v.pk for v in scoring_versions(product="consumer_loan")] == [old.pk, new.pk]

    with transaction.atomic():
        ModelVersion.objects.filter(pk=old.pk).update(status=ModelVersion.Status.RETIRED)
        ModelVersion.objects.filter(pk=new.pk).update(status=ModelVersion.Status.CHAMPION)

    champion, challenger = scoring_versions(product="consumer_loan")
    assert (champion.pk, champion.status, challenger) == (new.pk, ModelVersion.Status.CHAMPION, None)


def test_a_version_changed_in_place_is_read_again(snapshot):
    """Any update gives the row a new version, even one that keeps its status and artifact."""
    champion = _version(snapshot, ModelVersion.Status.CHAMPION, "a" * 64)
    assert scoring_versions(product="consumer_loan")[0].metrics == {}

    ModelVersion.objects.filter(pk=champion.pk).update(metrics={"policy": {"version": "changed"}})

    assert scoring_versions(product="consumer_loan")[0].metrics == {"policy": {"version": "changed"}}


def test_pinned_versions_hold_for_the_block_and_are_read_again_after_it(snapshot):
    """A request reads its champion once: a promotion landing mid-request is seen by the next request."""
    old = _version(snapshot, ModelVersion.Status.CHAMPION, "a" * 64)
    new = _version(snapshot, ModelVersion.Status.CANDIDATE, "b" * 64)

    with scoring_versions_pinned():
        assert scoring_versions(product="consumer_loan")[0].pk == old.pk
        with transaction.atomic():
            ModelVersion.objects.filter(pk=old.pk).update(status=ModelVersion.Status.RETIRED)
            ModelVersion.objects.filter(pk=new.pk).update(status=ModelVersion.Status.CHAMPION)
        with CaptureQueriesContext(connection) as queries:
            assert scoring_versions(product="consumer_loan")[0].pk == old.pk
            with scoring_versions_pinned():  # a nested block joins the outer one
                assert scoring_versions(product="consumer_loan")[0].pk == old.pk
        assert queries.captured_queries == []
        assert scoring_versions(product="consumer_card") == (None, None)  # each product read on its own

    assert scoring_versions(product="consumer_loan")[0].pk == new.pk
