"""Use cases of the clustering app: import the Berka data, create experiments, run them, store segments."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from clustering import berka
from clustering.experiments import ExperimentConfig, experiment_assign, experiment_run, latent_projection
from clustering.models import (
    BerkaAccount,
    BerkaCard,
    BerkaClient,
    BerkaClientProtectedAttributes,
    BerkaDisposition,
    BerkaDistrict,
    BerkaLoan,
    BerkaOrder,
    BerkaTransaction,
    ClusteringExperiment,
    ClusteringRun,
    SegmentAssignment,
)
from clustering.selectors import experiment_series, segmentation_choice_problems
from clustering.series import amount_series_build
from finai.artifacts import artifact_load, artifact_store
from finai.bulk import frame_copy, frame_executemany
from finai.errors import ApplicationError
from finai.roles import MANAGER_ROLES, ensure_role
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
            BerkaClient(client_id=client_id, district_id=district_id)
            for client_id, district_id in zip(frame["client_id"], frame["district_id"], strict=True)
        ]
    if table == "client_protected":
        decoded = berka.berka_birth_numbers_decode(frame["birth_number"])
        return [
            BerkaClientProtectedAttributes(client_id=client_id, sex=sex, birth_date=birth_date)
            for client_id, sex, birth_date in zip(
                frame["client_id"], decoded["sex"], decoded["birth_date"].astype(object), strict=True
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
    raise ValueError(f"no instances for table {table!r}")


def _transaction_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The transaction file as rows of the BerkaTransaction table, column for column."""
    text = {
        column: frame[source].map(_text)
        for column, source in (
            ("operation", "operation"),
            ("k_symbol", "k_symbol"),
            ("bank", "bank"),
            ("partner_account", "account"),
        )
    }
    return pd.DataFrame(
        {
            "trans_id": frame["trans_id"].astype("int64"),
            "account_id": frame["account_id"].astype("int64"),
            "booked_on": np.datetime_as_string(frame["date"].to_numpy().astype("datetime64[D]"), unit="D"),
            "type": frame["type"],
            "amount": frame["amount"].round(2).map("{:.2f}".format),
            "balance": frame["balance"].round(2).map("{:.2f}".format),
            **text,
        }
    )


def _transactions_load(frame: pd.DataFrame) -> None:
    """Bulk-load the transaction table, skipping rows already stored.

    On Postgres, COPY into a temporary table and one INSERT ... ON CONFLICT DO NOTHING: a whole import
    with 1,031,142 transactions took 44 s on the 2-core development machine, reading and checking the
    files included. Elsewhere (the SQLite demo), executemany with INSERT OR IGNORE.
    """
    rows = _transaction_rows(frame)
    table = BerkaTransaction._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            frame_executemany(cursor=cursor, table=table, frame=rows, ignore_conflicts=True)
            return
        # Dropped on commit; dropped first too, for a second import inside one outer transaction.
        cursor.execute("DROP TABLE IF EXISTS berka_trans_staging")
        cursor.execute(
            f"CREATE TEMPORARY TABLE berka_trans_staging (LIKE {connection.ops.quote_name(table)}) ON COMMIT DROP"
        )
        frame_copy(cursor=cursor, table="berka_trans_staging", frame=rows)
        columns = ", ".join(connection.ops.quote_name(column) for column in rows.columns)
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) "  # noqa: S608
            f"SELECT {columns} FROM berka_trans_staging ON CONFLICT (trans_id) DO NOTHING"
        )


_MODELS: dict[str, type[models.Model]] = {
    "district": BerkaDistrict,
    "account": BerkaAccount,
    "client": BerkaClient,
    "client_protected": BerkaClientProtectedAttributes,
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
    frames["client_protected"] = frames["client"]
    created = {}
    with transaction.atomic():
        for table, model in _MODELS.items():
            before = model.objects.count()
            if table == "trans":
                _transactions_load(frames[table])
            else:
                model.objects.bulk_create(
                    _instances(table, frames[table]), batch_size=BATCH_SIZE, ignore_conflicts=True
                )
            created[table] = model.objects.count() - before
        audit_event_record(
            action="clustering.berka_imported",
            actor=imported_by,
            object_type="dataset",
            object_id="berka",
            payload={
                "files": {table: file.name for table, file in files.items()},
                "sha256": {table: hashlib.sha256(file.read_bytes()).hexdigest() for table, file in files.items()},
                "rows": {table: len(frames[table]) for table in files},
                "created": created,
            },
        )
    return BerkaImportResult(rows={table: len(frames[table]) for table in files}, created=created)


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
    distinct = {config.key: config for config in configs}
    with transaction.atomic():
        experiment = ClusteringExperiment.objects.create(
            name=name, dataset=dataset, series=series, series_length=series_length, created_by=created_by
        )
        runs = ClusteringRun.objects.bulk_create(
            ClusteringRun.for_config(experiment=experiment, config=config) for config in distinct.values()
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
    artifact_path, artifact_sha256 = artifact_store(name=f"clustering/run-{run_id}.pt", content=result.model_state)
    projection = latent_projection(result.latents)
    metrics = result.metrics()
    with transaction.atomic():
        run = ClusteringRun.objects.select_for_update().get(pk=run_id)
        SegmentAssignment.objects.filter(run=run).delete()
        SegmentAssignment.objects.bulk_create(
            (
                SegmentAssignment(
                    run=run,
                    account_reference=reference,
                    segment=int(segment),
                    in_train=bool(in_train),
                    projection_x=float(x),
                    projection_y=float(y),
                )
                for reference, segment, in_train, (x, y) in zip(
                    series.account_references, result.assignments, result.in_train, projection, strict=True
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
        run.artifact_sha256 = artifact_sha256
        run.save()
        audit_event_record(
            action="clustering.run_finished",
            object_type="clustering_run",
            object_id=run.pk,
            payload={"config": run.config, "metrics": {key: metrics[key] for key in metrics if "losses" not in key}},
        )
    return run


def segmentation_choose(*, run_id: int, chosen_by: Any) -> ClusteringRun:
    """Make a finished run the segmentation in use; the one chosen before steps down. Audited.

    Which runs qualify, and why, is `segmentation_choice_problems`.
    """
    ensure_role(chosen_by, *MANAGER_ROLES)
    with transaction.atomic():
        run = ClusteringRun.objects.select_for_update().select_related("experiment").get(pk=run_id)
        problems = segmentation_choice_problems(run)
        if problems:
            raise ApplicationError("This run cannot be the segmentation in use.", details=problems)
        previous = ClusteringRun.objects.filter(chosen=True).exclude(pk=run.pk).first()
        if previous is not None:
            ClusteringRun.objects.filter(pk=previous.pk).update(chosen=False)
        run.chosen, run.chosen_by, run.chosen_at = True, chosen_by, timezone.now()
        run.save(update_fields=["chosen", "chosen_by", "chosen_at"])
        audit_event_record(
            action="clustering.segmentation_chosen",
            actor=chosen_by,
            object_type="clustering_run",
            object_id=run.pk,
            payload={"previous": previous.pk if previous else None, "config": run.config},
        )
    return run


def segments_assign(
    *, run_id: int, artifact_sha256: str, account_ids: np.ndarray, dates: np.ndarray, amounts: np.ndarray
) -> dict[Any, int]:
    """The segment of each account under a run, from its transactions (amounts signed, credits positive).

    The series are built as the run's were (the reference protocol, the run's length); the model is
    loaded only if its artifact still has the hash the caller recorded, so a model version keeps
    reading the segmentation it was trained with.
    """
    run = ClusteringRun.objects.select_related("experiment").get(pk=run_id)
    if run.artifact_sha256 != artifact_sha256:
        raise ApplicationError(
            "The segmentation changed since it was recorded.",
            details={"clustering_run": f"run {run_id} no longer has artifact {artifact_sha256[:12]}"},
            code="artifact_tampered",
        )
    if len(account_ids) == 0:
        return {}
    series = amount_series_build(account_ids=account_ids, dates=dates, amounts=amounts, length=run.metrics["length"])
    segments, _ = experiment_assign(
        model_state=artifact_load(path=run.artifact_path, sha256=run.artifact_sha256),
        config=ExperimentConfig.from_dict(run.config),
        series=series.values,
    )
    return {account: int(segment) for account, segment in zip(series.account_ids.tolist(), segments, strict=True)}
