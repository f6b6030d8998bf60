"""Use cases of the clustering app: import the Berka data, create experiments, run them, store segments."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from clustering import berka
from clustering.experiments import ExperimentConfig, experiment_run
from clustering.models import (
    BerkaAccount,
    BerkaCard,
    BerkaClient,
    BerkaDisposition,
    BerkaDistrict,
    BerkaLoan,
    BerkaOrder,
    BerkaTransaction,
    ClusteringExperiment,
    ClusteringRun,
    SegmentAssignment,
)
from clustering.selectors import experiment_series
from finai.errors import ApplicationError
from finai.services import audit_event_record

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000
# (child table, column, parent table, parent column): checked before anything is written, so a bad
# file is refused with every broken reference named instead of failing half-way on a constraint.
_REFERENCES = (
    ("account", "district_id", "district", "district_id"),
    ("client", "district_id", "district", "district_id"),
    ("disp", "client_id", "client", "client_id"),
    ("disp", "account_id", "account", "account_id"),
    ("card", "disp_id", "disp", "disp_id"),
    ("loan", "account_id", "account", "account_id"),
    ("order", "account_id", "account", "account_id"),
    ("trans", "account_id", "account", "account_id"),
)


@dataclass(frozen=True)
class BerkaImportResult:
    rows: dict[str, int]
    created: dict[str, int]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _dates(frame: pd.DataFrame, column: str) -> list[dt.date]:
    return list(berka.berka_dates(frame[column]).astype(object))


def _instances(table: str, frame: pd.DataFrame) -> list[models.Model]:
    """Model instances for one table's rows, in file order."""
    if table == "district":
        return [
            BerkaDistrict(**{name: None if pd.isna(value) else value for name, value in row.items()})
            for row in frame.to_dict("records")
        ]
    if table == "account":
        return [
            BerkaAccount(
                account_id=account_id, district_id=district_id, frequency=_text(frequency), opened_on=opened_on
            )
            for account_id, district_id, frequency, opened_on in zip(
                frame["account_id"], frame["district_id"], frame["frequency"], _dates(frame, "date"), strict=True
            )
        ]
    if table == "client":
        return [
            BerkaClient(client_id=client_id, birth_number=_text(birth).zfill(6), district_id=district_id)
            for client_id, birth, district_id in zip(
                frame["client_id"], frame["birth_number"], frame["district_id"], strict=True
            )
        ]
    if table == "disp":
        return [
            BerkaDisposition(disp_id=disp_id, client_id=client_id, account_id=account_id, type=_text(kind))
            for disp_id, client_id, account_id, kind in zip(
                frame["disp_id"], frame["client_id"], frame["account_id"], frame["type"], strict=True
            )
        ]
    if table == "card":
        return [
            BerkaCard(card_id=card_id, disposition_id=disp_id, type=_text(kind), issued_on=issued_on)
            for card_id, disp_id, kind, issued_on in zip(
                frame["card_id"], frame["disp_id"], frame["type"], _dates(frame, "issued"), strict=True
            )
        ]
    if table == "loan":
        return [
            BerkaLoan(
                loan_id=row["loan_id"],
                account_id=row["account_id"],
                granted_on=granted_on,
                amount=_money(row["amount"]),
                duration_months=row["duration"],
                monthly_payment=_money(row["payments"]),
                status=_text(row["status"]),
            )
            for row, granted_on in zip(frame.to_dict("records"), _dates(frame, "date"), strict=True)
        ]
    if table == "order":
        return [
            BerkaOrder(
                order_id=row["order_id"],
                account_id=row["account_id"],
                bank_to=_text(row["bank_to"]),
                account_to=_text(row["account_to"]),
                amount=_money(row["amount"]),
                k_symbol=_text(row["k_symbol"]),
            )
            for row in frame.to_dict("records")
        ]
    return [
        BerkaTransaction(
            trans_id=trans_id,
            account_id=account_id,
            booked_on=booked_on,
            type=kind,
            operation=_text(operation),
            amount=_money(amount),
            balance=_money(balance),
            k_symbol=_text(k_symbol),
            bank=_text(bank),
            partner_account=_text(partner),
        )
        for trans_id, account_id, booked_on, kind, operation, amount, balance, k_symbol, bank, partner in zip(
            frame["trans_id"],
            frame["account_id"],
            frame["date"].astype(object),
            frame["type"],
            frame["operation"],
            frame["amount"],
            frame["balance"],
            frame["k_symbol"],
            frame["bank"],
            frame["account"],
            strict=True,
        )
    ]


_MODELS: dict[str, type[models.Model]] = {
    "district": BerkaDistrict,
    "account": BerkaAccount,
    "client": BerkaClient,
    "disp": BerkaDisposition,
    "card": BerkaCard,
    "loan": BerkaLoan,
    "order": BerkaOrder,
    "trans": BerkaTransaction,
}


def _broken_references(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    problems = {}
    for child, column, parent, parent_column in _REFERENCES:
        missing = frames[child].loc[~frames[child][column].isin(frames[parent][parent_column]), column]
        if not missing.empty:
            examples = ", ".join(str(value) for value in missing.unique()[:3])
            problems[f"{child}.{column}"] = f"{missing.size} rows refer to no row of {parent} (e.g. {examples})"
    return problems


def berka_import(*, path: Path, imported_by: Any = None) -> BerkaImportResult:
    """Load all eight PKDD'99 tables from a folder, all or nothing; rows already stored are skipped.

    Skipping by original identifier makes a second run a no-op and lets the full transaction table
    be loaded over the partial one. Every import is an audit event naming the files and their hashes.
    """
    files = berka.berka_files_find(path=path)
    frames = {
        table: berka.berka_transactions_read(file=file)
        if table == "trans"
        else berka.berka_table_read(file=file, table=table)
        for table, file in files.items()
    }
    problems = _broken_references(frames)
    if problems:
        raise ApplicationError("The Berka files contradict each other.", details=problems)
    created = {}
    with transaction.atomic():
        for table, model in _MODELS.items():
            before = model.objects.count()
            model.objects.bulk_create(_instances(table, frames[table]), batch_size=BATCH_SIZE, ignore_conflicts=True)
            created[table] = model.objects.count() - before
        audit_event_record(
            action="clustering.berka_imported",
            actor=imported_by,
            object_type="dataset",
            object_id="berka",
            payload={
                "files": {table: file.name for table, file in files.items()},
                "sha256": {table: hashlib.sha256(file.read_bytes()).hexdigest() for table, file in files.items()},
                "rows": {table: len(frame) for table, frame in frames.items()},
                "created": created,
            },
        )
    return BerkaImportResult(rows={table: len(frame) for table, frame in frames.items()}, created=created)


def _config_key(config: ExperimentConfig) -> str:
    canonical = json.dumps(config.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def clustering_experiment_create(
    *,
    name: str,
    configs: list[ExperimentConfig],
    series: str = ClusteringExperiment.Series.AMOUNTS,
    series_length: int | None = None,
    dataset: str = "berka",
    created_by: Any = None,
    enqueue: bool = True,
) -> ClusteringExperiment:
    """Record an experiment and one queued run per distinct configuration; queue them on commit."""
    problems = {}
    if not name.strip():
        problems["name"] = "must not be empty"
    if series not in ClusteringExperiment.Series.values:
        problems["series"] = f"{series!r} is not one of {', '.join(ClusteringExperiment.Series.values)}"
    if series_length is not None and series_length < 2:
        problems["series_length"] = f"{series_length} is not >= 2"
    if not configs:
        problems["configs"] = "at least one configuration is needed"
    if problems:
        raise ApplicationError("Cannot create the clustering experiment.", details=problems)
    distinct = {_config_key(config): config for config in configs}
    with transaction.atomic():
        experiment = ClusteringExperiment.objects.create(
            name=name, dataset=dataset, series=series, series_length=series_length, created_by=created_by
        )
        runs = ClusteringRun.objects.bulk_create(
            ClusteringRun(
                experiment=experiment,
                config=config.as_dict(),
                config_key=key,
                encoder=config.encoder,
                pretext=config.pretext,
                head=config.head,
                distance=config.distance,
                k=config.k,
                reduction=config.reduction,
                seed=config.seed,
            )
            for key, config in distinct.items()
        )
        audit_event_record(
            action="clustering.experiment_created",
            actor=created_by,
            object_type="clustering_experiment",
            object_id=experiment.pk,
            payload={"name": name, "dataset": dataset, "series": series, "runs": len(runs)},
        )
        if enqueue:
            run_ids = list(experiment.runs.values_list("pk", flat=True))
            transaction.on_commit(lambda: clustering_runs_enqueue(run_ids=run_ids))
    return experiment


def clustering_runs_enqueue(*, run_ids: list[int]) -> None:
    """Send each run to the analytics queue (a run that is already finished returns at once there)."""
    from clustering.tasks import run_clustering

    for run_id in run_ids:
        run_clustering.delay(run_id)


class RunInProgressError(ApplicationError):
    """Another worker holds the run's lease."""

    def __init__(self, run_id: int, retry_in_seconds: float) -> None:
        super().__init__(f"Clustering run {run_id} is being executed by another worker.", code="in_progress")
        self.retry_in_seconds = retry_in_seconds


def _run_claim(run_id: int) -> bool:
    """Take the run's lease: queued and failed runs may start; a running one only when its lease (the
    task's hard time limit) has expired, since its worker then died."""
    now = timezone.now()
    expired = now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = Q(status__in=[ClusteringRun.Status.QUEUED, ClusteringRun.Status.FAILED]) | Q(
        status=ClusteringRun.Status.RUNNING, started_at__lt=expired
    )
    return bool(
        ClusteringRun.objects.filter(claimable, pk=run_id).update(
            status=ClusteringRun.Status.RUNNING, started_at=now, attempts=models.F("attempts") + 1, failure=""
        )
    )


def clustering_run_execute(*, run_id: int) -> ClusteringRun:
    """Train, cluster and score one run; store its metrics, model artifact and segment assignments.

    Idempotent: a finished run is returned untouched, so a grid can be resumed by queueing it again.
    """
    run = ClusteringRun.objects.select_related("experiment").get(pk=run_id)
    if run.status == ClusteringRun.Status.FINISHED:
        return run
    if not _run_claim(run_id):
        started = run.started_at or timezone.now()
        remaining = settings.CELERY_TASK_TIME_LIMIT - (timezone.now() - started).total_seconds()
        raise RunInProgressError(run_id, retry_in_seconds=max(60.0, remaining))
    try:
        series = experiment_series(experiment=run.experiment)
        result = experiment_run(series=series.values, config=ExperimentConfig.from_dict(run.config))
    except Exception as exc:
        logger.exception("clustering run %s failed", run_id)
        ClusteringRun.objects.filter(pk=run_id).update(status=ClusteringRun.Status.FAILED, failure=str(exc)[:2000])
        raise
    storage = storages["artifacts"]
    artifact_path = storage.save(f"clustering/run-{run_id}.pt", ContentFile(result.model_state))
    metrics = result.metrics()
    with transaction.atomic():
        run = ClusteringRun.objects.select_for_update().get(pk=run_id)
        SegmentAssignment.objects.filter(run=run).delete()
        SegmentAssignment.objects.bulk_create(
            (
                SegmentAssignment(run=run, account_reference=reference, segment=int(segment), in_train=bool(in_train))
                for reference, segment, in_train in zip(
                    series.account_references, result.assignments, result.in_train, strict=True
                )
            ),
            batch_size=BATCH_SIZE,
        )
        run.status = ClusteringRun.Status.FINISHED
        run.finished_at = timezone.now()
        run.account_count = len(series.account_references)
        run.metrics = metrics
        run.silhouette_test = result.silhouette_test
        run.davies_bouldin_test = result.davies_bouldin_test
        run.degenerate = result.degenerate
        run.training_seconds = result.training_seconds
        run.artifact_path = artifact_path
        run.artifact_sha256 = hashlib.sha256(result.model_state).hexdigest()
        run.save()
        audit_event_record(
            action="clustering.run_finished",
            object_type="clustering_run",
            object_id=run.pk,
            payload={"config": run.config, "metrics": {key: metrics[key] for key in metrics if "losses" not in key}},
        )
    return run
