"""Scoring with registered model versions: the champion decides, a challenger scores in shadow.

Scorers are cached per process by version id and artifact hash: promotion makes another version the
champion, so the next decision loads it; the artifact is verified against its SHA-256 on every load.

The champion and challenger rows are cached per process too, under their row version: on Postgres each
lookup reads only (id, status, artifact hash, xmin and ctid) of the product's deciding versions, one small
indexed statement, and reuses the version it already holds unless the row changed. Promotion, rollback and
any other update write a new version of the row (a new xmin, and a new ctid even within one transaction),
so the next lookup loads the new state: a version counter kept by the database itself, never a time-out,
and no path that changes a version can forget to bump it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL
from prometheus_client import Histogram

from analytics.engine.families import model_from_bytes
from analytics.engine.policy import DEFAULT_POLICY, DecisionPolicy
from analytics.engine.scoring import ScoredDecision, Scorer
from analytics.models import ModelVersion
from finai.artifacts import artifact_load, artifact_signature
from finai.errors import ApplicationError

POLICIES: dict[str, DecisionPolicy] = {DEFAULT_POLICY.version: DEFAULT_POLICY}
# Scorers by (version, artifact hash, policy), with the artifact file's signature when it was verified.
_scorers: dict[tuple[int, str, str], tuple[Scorer, tuple[int, int, int] | None]] = {}
_lock = threading.Lock()
# Deciding versions (snapshot loaded) by (id, status, artifact hash, row version); read-only once cached.
_versions: dict[tuple[int, str, str, str], ModelVersion] = {}
_VERSIONS_KEPT = 64
_DECIDING = (ModelVersion.Status.CHAMPION, ModelVersion.Status.CHALLENGER)
# Per thread, inside `scoring_versions_pinned()`: the deciding versions each product was read at.
_pinned = threading.local()

SCORING_DURATION = Histogram(
    "finai_scoring_duration_seconds",
    "Time for a model version to score one application (its policy and reasons included), by model family.",
    ["family"],
)


def decision_policy_get(policy_version: str, model_version: ModelVersion | None = None) -> DecisionPolicy:
    """A decision policy by its version: the model version's own (its data set's cut-offs, recorded at
    training) or a built-in one. Decisions store the version, so replay uses the same cut-offs."""
    if model_version is not None and model_version.policy.version == policy_version:
        return model_version.policy
    try:
        return POLICIES[policy_version]
    except KeyError:
        raise ApplicationError(
            "Unknown decision policy.", details={"policy_version": policy_version}, code="invalid_policy"
        ) from None


def scorer_for_version(version: ModelVersion, policy: DecisionPolicy | None = None) -> Scorer:
    """The version's scorer under its own policy unless told otherwise, loaded once per process (the
    artifact hash is checked when it loads).

    Every use compares the artifact file's inode, size and modification time with those seen when it was
    verified: a file altered or replaced since is verified again (and refused if its hash differs), so every
    process stops deciding with a tampered model at once, not only those started after the change.
    """
    policy = policy or version.policy
    key = (version.pk, version.artifact_sha256, policy.version)
    cached = _scorers.get(key)
    if cached is not None and cached[1] == artifact_signature(version.artifact_path):
        return cached[0]
    with _lock:
        signature = artifact_signature(version.artifact_path)
        cached = _scorers.pop(key, None)
        if cached is not None and cached[1] == signature:  # another thread verified it meanwhile
            _scorers[key] = cached
            return cached[0]
        blob = artifact_load(path=version.artifact_path, sha256=version.artifact_sha256)
        scorer = Scorer(model_from_bytes(blob), policy)
        _scorers[key] = (scorer, signature)
    return scorer


@contextmanager
def scoring_versions_pinned() -> Iterator[None]:
    """Within the block, each product's champion and challenger are read once and then held: a request's
    rules, its validation and its decision come from the one champion, even if a promotion lands meanwhile,
    and the deciding versions cost one statement per request instead of one per look."""
    outer = getattr(_pinned, "versions", None)
    if outer is None:
        _pinned.versions = {}
    try:
        yield
    finally:
        if outer is None:
            _pinned.versions = None


def scoring_versions(*, product: str) -> tuple[ModelVersion | None, ModelVersion | None]:
    """(champion, challenger) of a product; one small query while they are unchanged (see the module's notes).

    The versions returned may be shared with other requests of the process: read them, never change them.
    """
    pinned = getattr(_pinned, "versions", None)
    if pinned is None:
        return _scoring_versions_read(product)
    if product not in pinned:
        pinned[product] = _scoring_versions_read(product)
    return pinned[product]


def _scoring_versions_read(product: str) -> tuple[ModelVersion | None, ModelVersion | None]:
    if connection.vendor != "postgresql":  # no row version to check a cached row against: read it whole
        deciding = ModelVersion.objects.filter(product=product, status__in=_DECIDING).select_related("snapshot")
        versions = {v.status: v for v in deciding}
    else:
        with connection.cursor() as cursor:  # written once: every decision runs it
            cursor.execute(_DECIDING_ROW_VERSIONS, [product, *(status.value for status in _DECIDING)])
            keys = cursor.fetchall()
        versions = {key[1]: _versions[key] for key in keys if key in _versions}
        if len(versions) < len(keys):
            versions = _versions_load(product)
    return versions.get(ModelVersion.Status.CHAMPION), versions.get(ModelVersion.Status.CHALLENGER)


# Constant system columns, nothing from a request: no injection. xmin names the transaction that wrote the row;
# ctid (where this version of the row lies) also tells apart two updates by one transaction.
_VERSIONS_TABLE = ModelVersion._meta.db_table
_ROW_VERSION = f'"{_VERSIONS_TABLE}"."xmin"::text || "{_VERSIONS_TABLE}"."ctid"::text'
_DECIDING_ROW_VERSIONS = (
    f'SELECT "id", "status", "artifact_sha256", {_ROW_VERSION} FROM "{_VERSIONS_TABLE}" '  # noqa: S608
    f'WHERE "product" = %s AND "status" IN ({", ".join(["%s"] * len(_DECIDING))})'
)


def _versions_load(product: str) -> dict[str, ModelVersion]:
    """Read the deciding versions whole and keep each under the row version it was read at."""
    deciding = ModelVersion.objects.filter(product=product, status__in=_DECIDING).select_related("snapshot")
    loaded = list(deciding.annotate(row_version=RawSQL(_ROW_VERSION, ())))  # noqa: S611 - constant system columns
    with _lock:
        if len(_versions) + len(loaded) > _VERSIONS_KEPT:
            _versions.clear()
        for version in loaded:
            _versions[(version.pk, version.status, version.artifact_sha256, version.row_version)] = version
    return {version.status: version for version in loaded}


def _plain_number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def application_model_inputs(
    *, version: ModelVersion, features: Mapping[str, Any], amount: Decimal, term_months: int | None, purpose: str
) -> dict[str, Any]:
    """An application's stored fields as the version's inputs: its characteristics plus the loan's amount,
    term and purpose under the column names of the data set the version learned from."""
    inputs = dict(features)
    if version.snapshot_id:
        for column in version.snapshot.dataset_schema.features:
            if column.maps_to == "amount":
                inputs[column.name] = _plain_number(amount)
            elif column.maps_to == "term_months" and term_months is not None:
                inputs[column.name] = term_months
            elif column.maps_to == "purpose" and purpose:
                inputs.setdefault(column.name, purpose)
    return inputs


def application_inputs_check(*, version: ModelVersion, inputs: Mapping[str, Any]) -> None:
    """Check inputs against the version's feature coding (FeatureValueError names each problem) without
    scoring them: a submission is validated at the door and decided once, by the decision service."""
    scorer_for_version(version).check(inputs)


def application_score(*, version: ModelVersion, features: Mapping[str, Any]) -> ScoredDecision:
    """Decide one application's features with a version under its policy; timed without the first load."""
    scorer = scorer_for_version(version)
    with SCORING_DURATION.labels(family=version.family).time():
        return scorer.decide(features)


def decision_replay(*, version: ModelVersion, feature_vector: Mapping[str, Any], policy_version: str) -> ScoredDecision:
    """Re-score a stored feature vector with the stored model version and policy (reproducibility)."""
    return scorer_for_version(version, decision_policy_get(policy_version, version)).decide(feature_vector)
