"""Screening models through the platform's registry: trained on the stored bookings, measured on a split that
keeps each laundering pattern whole, promoted with four eyes, and scoring the accounts of each live run.

A screening model is a `ModelVersion` of the product "transaction_screening" like any credit model: its
artifact is stored with its SHA-256 and checked before each load, its lineage (the label source, the
bookings' period and count and content hash, the features, the split, the code version) is in `params`,
and it becomes champion only through `analytics.services.registry` (a second model manager approves).
Its fairness gate has nothing to measure (no protected attribute is an input, and nobody is approved or
declined by it), so promoting one needs the written exception that the registry asks for.

Two families: a supervised classifier fitted on labelled accounts (a data set's labels, or a bank's closed
cases) and an isolation forest that needs no labels. Each alert names the model and its top reasons.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import time
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction

from analytics.engine.screening.account_features import account_features_compute
from analytics.engine.screening.account_scores import account_anomaly_fit, account_classifier_fit
from analytics.engine.screening.amlsim import AmlsimData
from analytics.engine.screening.evaluation import amlsim_patterns, detection_metrics, pattern_split
from analytics.models import SCREENING_PRODUCT, ModelVersion
from finai.artifacts import artifact_load, artifact_store
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.roles import COMPLIANCE_ROLES, MANAGER_ROLES, ensure_role
from finai.services import audit_event_record
from finai.version import code_version
from monitoring.models import AccountLabel, ScreenedTransaction, ScreeningAlert, ScreeningRun
from monitoring.services.screening import alert_into_case, screening_frame

SUPERVISED, ANOMALY = "screening_classifier", "screening_anomaly"
FAMILY_NAMES = {SUPERVISED: "Supervised model", ANOMALY: "Anomaly"}
FAMILIES = tuple(FAMILY_NAMES)
ALERT_RATE = 0.01  # the share of accounts a model alerts on: its threshold is set on the test side at training
TEST_SHARE = 0.3
MAX_EVIDENCE = 50
CANNOT_TRAIN = "The screening model cannot be trained."
EVER = (dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(2200, 1, 1, tzinfo=dt.UTC))


def screening_model_train_request(
    *, family: str, label_source: str, requested_by: Any, seed: int = 0, queue: bool = True
) -> ModelVersion:
    """Store a version in training and queue its fit. A supervised model needs labelled suspicious accounts."""
    ensure_role(requested_by, *MANAGER_ROLES, *COMPLIANCE_ROLES)
    details = {}
    if family not in FAMILIES:
        details["family"] = f"must be one of: {', '.join(FAMILIES)}"
    labels = AccountLabel.objects.filter(source=label_source)
    if family == SUPERVISED and not labels.filter(suspicious=True).exists():
        details["label_source"] = "holds no account labelled suspicious to learn from"
    if not ScreenedTransaction.objects.exists():
        details["bookings"] = "none stored yet"
    if details:
        raise ApplicationError(CANNOT_TRAIN, details=details, code="invalid_training")
    with transaction.atomic():
        version = ModelVersion.objects.create(
            product=SCREENING_PRODUCT,
            family=family,
            params={"label_source": label_source, "alert_rate": ALERT_RATE, "test_share": TEST_SHARE},
            seed=seed,
            trained_by=requested_by,
            code_version=code_version(),
            progress_message="Queued for a worker",
        )
        audit_event_record(
            action="model.training_requested",
            actor=requested_by,
            object_type="model_version",
            object_id=version.pk,
            payload={"product": SCREENING_PRODUCT, "family": family, "label_source": label_source},
        )
        if queue:
            from monitoring.tasks import train_screening_model

            transaction.on_commit(lambda: train_screening_model.delay(version.pk))
    return version


def _progress(version_id: int, percent: int, message: str) -> None:
    ModelVersion.objects.filter(pk=version_id).update(progress=percent, progress_message=message[:200])


def _metrics(scores: pd.Series, suspicious: pd.Series) -> dict[str, Any]:
    figures = detection_metrics(scores=scores, laundering=suspicious)
    return {
        "pr_auc": round(figures.pr_auc, 4),
        "recall_at_1pct": round(figures.recall_at[0.01], 4),
        "recall_at_5pct": round(figures.recall_at[0.05], 4),
        "positives": figures.positives,
        "negatives": figures.negatives,
    }


def screening_model_fit(*, version: ModelVersion, frame: pd.DataFrame) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The fitted scorer, its metrics on the held-out side, and its lineage."""
    features = account_features_compute(transactions=frame)
    features.index = features.index.astype(str)
    stored = dict(
        AccountLabel.objects.filter(source=version.params["label_source"]).values_list("account", "suspicious")
    )
    labels = pd.DataFrame({"account": list(stored), "laundering": list(stored.values())})
    labels = labels[labels["account"].isin(features.index)]
    # Accomplices stay on one side of the split (the engine's pattern recovery; each account alone where
    # no planted transfers join them), so a model is never measured on the partners of accounts it learned.
    groups = amlsim_patterns(data=AmlsimData(transactions=frame, labels=labels)).groups
    train, test = (
        pattern_split(labels=labels, groups=groups, test_share=TEST_SHARE, seed=version.seed)
        if not labels.empty
        else (features.index, pd.Index([]))
    )
    truth = labels.set_index("account")["laundering"]
    if version.family == SUPERVISED:
        scorer = account_classifier_fit(
            features=features.loc[train], labels=truth.loc[train], groups=groups, seed=version.seed
        )
    else:
        scorer = account_anomaly_fit(features=features, seed=version.seed)
    measured = features.loc[test] if len(test) else features
    test_scores = scorer.score(features=measured, reasons=0)["score"]
    metrics: dict[str, Any] = {"alert_threshold": float(np.quantile(test_scores, 1 - ALERT_RATE))}
    if labels["laundering"].any():
        suspicious = truth.reindex(test_scores.index).fillna(False).astype(bool)
        metrics |= _metrics(test_scores, suspicious)
        metrics["auc"] = _roc_auc(test_scores, suspicious)
    lineage = {
        "bookings": len(frame),
        "bookings_sha256": hashlib.sha256(
            pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        ).hexdigest(),
        "period": [str(frame["booked_at"].min()), str(frame["booked_at"].max())],
        "accounts": len(features),
        "features": list(features.columns),
        "train_accounts": len(train),
        "test_accounts": len(test),
        "suspicious_groups": int(groups.nunique()) if len(groups) else 0,
    }
    return scorer, metrics, lineage


def _roc_auc(scores: pd.Series, positives: pd.Series) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(positives, scores)), 4) if positives.nunique() == 2 else None


def screening_model_train(*, version_id: int) -> ModelVersion:
    """The worker's side: read the bookings, fit, measure, store the artifact; idempotent per version."""
    if not lease_take(
        ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.TRAINING), field="training_started_at"
    ):
        return ModelVersion.objects.get(pk=version_id)
    version = ModelVersion.objects.get(pk=version_id)
    started = time.perf_counter()
    try:
        _progress(version_id, 10, "Reading the bookings")
        frame = screening_frame(since=EVER[0], until=EVER[1])
        _progress(version_id, 30, f"Fitting on {len(frame):,} bookings")
        scorer, metrics, lineage = screening_model_fit(version=version, frame=frame)
        path, digest = artifact_store(name=f"screening/model-{version.pk}.pkl", content=pickle.dumps(scorer))
    except ApplicationError as error:
        return _finish(version, status=ModelVersion.Status.FAILED, failure=str(error))
    except Exception as error:
        _finish(version, status=ModelVersion.Status.FAILED, failure=f"Training stopped ({type(error).__name__}).")
        raise
    version.artifact_path, version.artifact_sha256, version.metrics = path, digest, metrics
    version.params = {**version.params, "training_data": lineage}
    version.training_seconds = round(time.perf_counter() - started, 2)
    return _finish(version, status=ModelVersion.Status.CANDIDATE)


def _finish(version: ModelVersion, *, status: str, failure: str = "") -> ModelVersion:
    with transaction.atomic():
        version.status, version.failure, version.progress = status, failure, 100
        version.progress_message = "Done" if status == ModelVersion.Status.CANDIDATE else "Failed"
        version.save()
        audit_event_record(
            action="model.trained" if status == ModelVersion.Status.CANDIDATE else "model.training_failed",
            actor=version.trained_by,
            object_type="model_version",
            object_id=version.pk,
            payload={
                "product": SCREENING_PRODUCT,
                "family": version.family,
                "artifact_sha256": version.artifact_sha256,
                "metrics": version.metrics,
                "failure": failure,
            },
        )
    return version


def screening_champion() -> ModelVersion | None:
    return ModelVersion.objects.filter(product=SCREENING_PRODUCT, status=ModelVersion.Status.CHAMPION).first()


def model_alerts_record(*, run: ScreeningRun, frame: pd.DataFrame, version: ModelVersion) -> list[ScreeningAlert]:
    """Score the accounts active in the run's period with the champion; alert those at or above the threshold
    it set at training (its top 1% there), each alert naming the model, its score and its reasons."""
    scorer = pickle.loads(artifact_load(path=version.artifact_path, sha256=version.artifact_sha256))  # noqa: S301
    features = account_features_compute(transactions=frame)
    features.index = features.index.astype(str)
    in_period = frame[frame["booked_at"] >= pd.Timestamp(run.period_start)]
    active = features.loc[features.index.isin(set(in_period["account"].astype(str)))]
    if active.empty:
        return []
    scores = scorer.score(features=active, reasons=3)
    threshold = version.metrics["alert_threshold"]
    flagged = scores[scores["score"] >= threshold]
    rule = f"model v{version.pk}"
    bookings = in_period.groupby(in_period["account"].astype(str))
    recorded = []
    for account, row in flagged.iterrows():
        mine = bookings.get_group(account).sort_values("booked_at")
        if ScreeningAlert.objects.filter(rule=rule, account=account, window_end=run.period_end).exists():
            continue
        recorded.append(
            alert_into_case(
                account=account,
                rule=rule,
                run=run,
                source=ScreeningAlert.Source.MODEL if version.family == SUPERVISED else ScreeningAlert.Source.ANOMALY,
                typology="model",
                window_start=run.period_start,
                window_end=run.period_end,
                transaction_ids=[int(identifier) for identifier in mine["transaction_id"].tail(MAX_EVIDENCE)],
                score=round(float(row["score"]) / threshold, 6) if threshold else 1.0,
                reason=f"{FAMILY_NAMES[version.family]} score {row['score']:.3f} (alerts from {threshold:.3f}): "
                + "; ".join(row["reasons"]),
            )
        )
    return recorded
