"""Searches for a less discriminatory alternative to a model version, as Celery jobs with recorded progress.

Each alternative is trained from the base's snapshot with the base's seed, so every model is measured on
the very same holdout rows, and registered as a candidate version (lineage in its params) that can go
through promotion like any other. The search stores the accuracy-fairness frontier against the base.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from analytics.engine.fairness import FairnessAudit
from analytics.engine.families import family_get
from analytics.engine.families.base import TrainingData
from analytics.engine.lda_plans import (
    DEFAULT_TOLERANCE,
    LdaPlan,
    Point,
    feature_association,
    lda_plans,
    less_discriminatory,
    pareto_frontier,
)
from analytics.engine.mitigation import DEFAULT_ATTRIBUTE
from analytics.fairness_reports.services import fairness_config, version_holdout_audit, version_split
from analytics.models import ALTERNATIVE_DATA_PARAM, LINEAGE_PARAM, LdaSearch, ModelVersion
from analytics.services.training_jobs import model_version_create, model_version_train, snapshot_training_data
from finai.errors import ApplicationError
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record

logger = logging.getLogger(__name__)

MAX_TOLERANCE = 0.2
TRAINED = (
    ModelVersion.Status.CANDIDATE,
    ModelVersion.Status.CHALLENGER,
    ModelVersion.Status.CHAMPION,
    ModelVersion.Status.RETIRED,
)


def lda_search_request(
    *, base_version: ModelVersion, requested_by: Any, tolerance: float = DEFAULT_TOLERANCE
) -> LdaSearch:
    """Record a search and queue it on the `training` queue (it trains models)."""
    if requested_by is not None:
        ensure_role(requested_by, *MANAGER_ROLES)
    problems = {}
    if base_version.status not in TRAINED or base_version.snapshot_id is None:
        problems["version"] = f"v{base_version.pk} is {base_version.get_status_display().lower()}, not trained"
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance <= MAX_TOLERANCE:
        problems["tolerance"] = f"must be an AUC difference from 0 to {MAX_TOLERANCE:g}"
    if problems:
        raise ApplicationError("The search cannot start.", details=problems, code="invalid_search")
    with transaction.atomic():
        search = LdaSearch.objects.create(
            base_version=base_version,
            requested_by=requested_by,
            parameters={"tolerance": float(tolerance)},
            progress_message="queued",
        )
        audit_event_record(
            action="model.alternative_search_requested",
            actor=requested_by,
            object_type="alternative_search",
            object_id=search.pk,
            payload={"base_version": base_version.pk, "tolerance": float(tolerance)},
        )
        from analytics.tasks import train_lda_search

        transaction.on_commit(lambda: train_lda_search.delay(search.pk))
    return search


def _progress(search: LdaSearch, percent: int, message: str) -> None:
    LdaSearch.objects.filter(pk=search.pk).update(progress=max(0, min(100, percent)), progress_message=message)


def _claim(search_id: int) -> bool:
    """Queued -> running, once: a redelivered task finds the search running or finished and leaves it."""
    return bool(
        LdaSearch.objects.filter(pk=search_id, status=LdaSearch.Status.QUEUED).update(status=LdaSearch.Status.RUNNING)
    )


def lowest_monitored_ratio(audit: FairnessAudit, version: ModelVersion) -> dict[str, Any] | None:
    """The audit's headline over the version's monitored attributes, with its interval and group, as stored."""
    lowest = audit.report.lowest_adverse_impact_ratio(attributes=version.monitored_attributes)
    if lowest is None:
        return None
    return {
        "value": lowest.ratio.value,
        "ci": [lowest.ratio.low, lowest.ratio.high],
        "attribute": lowest.attribute,
        "group": lowest.group,
    }


def _point(version: ModelVersion, data: TrainingData) -> dict[str, Any]:
    audit = version_holdout_audit(version=version, data=data, config=fairness_config())
    return {
        "version_id": version.pk,
        "family": version.family,
        "mitigation": version.mitigation,
        "status": version.status,
        "auc": version.metrics.get("auc"),
        "lowest_ratio": lowest_monitored_ratio(audit, version),
    }


def _plans(base: ModelVersion, data: TrainingData, attribute: str) -> list[LdaPlan]:
    train, _ = version_split(base, data)
    association = {}
    if attribute in train.protected.columns:
        association = feature_association(features=train.features, spec=train.spec, groups=train.protected[attribute])
    mitigation = base.mitigation_settings
    return lda_plans(
        family=base.family,
        params=family_get(base.family).resolve_params(base.family_params),
        spec=train.spec,
        attribute=attribute,
        association=association,
        mitigation=base.mitigation,
        mitigation_params=mitigation.as_params(),
    )


def _alternative_train(search: LdaSearch, base: ModelVersion, plan: LdaPlan, data: TrainingData) -> dict[str, Any]:
    lineage = {"alternative_of": base.pk, "search": search.pk, "change": plan.change, "name": plan.name}
    # A base that reads alternative data (the transaction segment) passes its source on, so every candidate
    # reads the same inputs from the same segmentation.
    alternative = base.alternative_data
    try:
        version = model_version_create(
            snapshot=base.snapshot,
            family=plan.family,
            requested_by=search.requested_by,
            mitigation=plan.mitigation,
            params={
                **plan.params,
                **plan.mitigation_params,
                LINEAGE_PARAM: lineage,
                **({ALTERNATIVE_DATA_PARAM: alternative} if alternative else {}),
            },
            seed=base.seed,
        )
    except ApplicationError as error:
        return {"name": plan.name, "change": plan.change, "status": "refused", "failure": str(error)}
    search.alternatives.add(version)
    version = model_version_train(version_id=version.pk)
    if version.status == ModelVersion.Status.FAILED:
        return {
            "name": plan.name,
            "change": plan.change,
            "version_id": version.pk,
            "status": "failed",
            "failure": version.failure[:500],
        }
    return {"name": plan.name, "change": plan.change, **_point(version, data)}


def _frontier(base_point: dict[str, Any], alternatives: list[dict[str, Any]], tolerance: float) -> None:
    """Mark, in place, the Pareto frontier over base and alternatives, and the less discriminatory ones."""
    measured = [e for e in (base_point, *alternatives) if e.get("auc") is not None and e.get("lowest_ratio")]
    points = [Point(entry["auc"], entry["lowest_ratio"]["value"]) for entry in measured]
    for entry, on_frontier in zip(measured, pareto_frontier(points), strict=True):
        entry["pareto"] = on_frontier
    if not any(entry is base_point for entry in measured):
        return
    base = points[0]
    for entry, point in zip(measured[1:], points[1:], strict=True):
        entry["less_discriminatory"] = less_discriminatory(alternative=point, base=base, tolerance=tolerance)


def lda_search_run(*, search_id: int) -> LdaSearch:
    """Train every planned alternative, measure each on the shared holdout, store the frontier.

    Idempotent: only a queued search runs, so a redelivered task leaves a running or finished one alone.
    """
    search = LdaSearch.objects.select_related("base_version__snapshot", "requested_by").get(pk=search_id)
    if not _claim(search.pk):
        return search
    base = search.base_version
    tolerance = float(search.parameters.get("tolerance", DEFAULT_TOLERANCE))
    try:
        _progress(search, 2, "measuring the base version")
        data = snapshot_training_data(snapshot=base.snapshot, alternative_data=tuple(base.alternative_data))
        base_point = {"name": f"base v{base.pk}", "change": "base", **_point(base, data)}
        lowest = base_point["lowest_ratio"]
        attribute = lowest["attribute"] if lowest else DEFAULT_ATTRIBUTE
        plans = _plans(base, data, attribute)
        results: dict[str, Any] = {"tolerance": tolerance, "attribute": attribute, "base": base_point}
        alternatives: list[dict[str, Any]] = []
        for index, plan in enumerate(plans):
            _progress(
                search, 5 + 90 * index // len(plans), f"training alternative {index + 1} of {len(plans)}: {plan.name}"
            )
            alternatives.append(_alternative_train(search, base, plan, data))
        _frontier(base_point, alternatives, tolerance)
        results["alternatives"] = alternatives
    except Exception as exc:
        logger.exception("alternative search %s failed", search.pk)
        message = str(exc) or type(exc).__name__
        with transaction.atomic():
            LdaSearch.objects.filter(pk=search.pk).update(
                status=LdaSearch.Status.FAILED,
                failure=message[:2000],
                progress_message="failed",
                finished_at=timezone.now(),
            )
            audit_event_record(
                action="model.alternative_search_failed",
                object_type="alternative_search",
                object_id=search.pk,
                payload={"error": message[:500]},
            )
        search.refresh_from_db()
        return search
    flagged = [entry["version_id"] for entry in alternatives if entry.get("less_discriminatory")]
    with transaction.atomic():
        LdaSearch.objects.filter(pk=search.pk).update(
            status=LdaSearch.Status.DONE,
            results=results,
            progress=100,
            progress_message="done",
            finished_at=timezone.now(),
        )
        audit_event_record(
            action="model.alternative_search_finished",
            actor=search.requested_by,
            object_type="alternative_search",
            object_id=search.pk,
            payload={
                "base_version": base.pk,
                "alternatives": [entry.get("version_id") for entry in alternatives],
                "less_discriminatory": flagged,
                "tolerance": tolerance,
            },
        )
    search.refresh_from_db()
    return search
