"""Reads of the clustering app: a data set's transactions as series ready for the engine, runs and segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Count, Sum

from clustering.datasets import dataset_get
from clustering.models import ClusteringExperiment, ClusteringRun
from clustering.series import amount_series_build, calendar_series_build
from finai.errors import ApplicationError


@dataclass(frozen=True)
class AccountSeries:
    """Engine input: one row of `values` per entry of `account_references`."""

    account_references: np.ndarray
    values: np.ndarray


def experiment_series(*, experiment: ClusteringExperiment) -> AccountSeries:
    """The series of every account with at least one transaction, in the experiment's representation."""
    dataset = dataset_get(experiment.dataset)
    frame = dataset.transactions()
    if frame.empty:
        raise ApplicationError(
            "No transactions to cluster.",
            details={"dataset": f"{experiment.dataset} holds no transactions ({dataset.load_hint})"},
        )
    columns = {
        "account_ids": frame["account_id"].to_numpy(),
        "dates": frame["date"].to_numpy(),
        "amounts": frame["amount"].to_numpy(),
    }
    if experiment.series == ClusteringExperiment.Series.AMOUNTS:
        series = amount_series_build(**columns, length=experiment.series_length)
        return AccountSeries(account_references=series.account_ids.astype(str), values=series.values)
    calendar = calendar_series_build(**columns, balances=frame["balance"].to_numpy(), frequency=experiment.series)
    return AccountSeries(account_references=calendar.account_ids.astype(str), values=calendar.stacked())


@dataclass(frozen=True)
class ConfigurationSummary:
    """One configuration across its seeds: mean scores of the non-degenerate runs, and how many degenerated."""

    label: str
    encoder: str
    pretext: str
    head: str
    k: int
    runs: int
    degenerate_share: float
    silhouette_test: float | None
    davies_bouldin_test: float | None
    training_seconds: float | None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def configuration_summaries_sorted(
    summaries: list[ConfigurationSummary], *, key: str, descending: bool
) -> list[ConfigurationSummary]:
    """Sorted by one field; configurations without a value for it come last, whichever the direction."""
    present = [summary for summary in summaries if getattr(summary, key) is not None]
    missing = [summary for summary in summaries if getattr(summary, key) is None]
    return sorted(present, key=lambda summary: getattr(summary, key), reverse=descending) + missing


def experiment_configuration_summaries(*, experiment: ClusteringExperiment) -> list[ConfigurationSummary]:
    """Finished runs grouped by configuration (all but the seed), best mean test silhouette first."""
    grouped: dict[str, list[ClusteringRun]] = {}
    for run in experiment.runs.filter(status=ClusteringRun.Status.FINISHED).order_by("pk"):
        grouped.setdefault(run.label, []).append(run)
    summaries = []
    for label, runs in grouped.items():
        scored = [run for run in runs if not run.degenerate]
        first = runs[0]
        summaries.append(
            ConfigurationSummary(
                label=label,
                encoder=first.encoder,
                pretext=first.pretext,
                head=first.head,
                k=first.k,
                runs=len(runs),
                degenerate_share=1 - len(scored) / len(runs),
                silhouette_test=_mean([run.silhouette_test for run in scored]),
                davies_bouldin_test=_mean([run.davies_bouldin_test for run in scored]),
                training_seconds=_mean([run.training_seconds for run in runs]),
            )
        )
    return sorted(summaries, key=lambda s: (s.silhouette_test is None, -(s.silhouette_test or 0.0), s.label))


def experiment_progress(*, experiment: ClusteringExperiment) -> dict[str, int]:
    """Runs per status, for the progress bar of a grid."""
    counts = dict(experiment.runs.values_list("status").annotate(count=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in ClusteringRun.Status.values} | {"total": sum(counts.values())}


@dataclass(frozen=True)
class ExperimentJob:
    """An experiment's runs as one job on the workers, in the shape its progress bar polls (finai.progress).

    `progress` is the percent of the grid's work done: a run that has ended (finished or failed) counts whole,
    a running one by its share of epochs trained.
    """

    status: str  # queued, running, done or failed
    progress: int
    progress_message: str
    failure: str
    finished: int
    failed: int
    total: int

    LABELS = {"queued": "Queued", "running": "Running", "done": "Done", "failed": "Ended with failures"}

    def get_status_display(self) -> str:
        return self.LABELS[self.status]

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


def experiment_job(*, experiment: ClusteringExperiment) -> ExperimentJob:
    """The experiment's status, percent done and a one-line account of its runs."""
    rows = experiment.runs.values_list("status").annotate(count=Count("pk"), progress=Sum("progress")).order_by()
    counts = {status: count for status, count, _ in rows}
    running_progress = sum(progress or 0 for status, _, progress in rows if status == ClusteringRun.Status.RUNNING)
    queued, running, finished, failed = (
        counts.get(status, 0)
        for status in (
            ClusteringRun.Status.QUEUED,
            ClusteringRun.Status.RUNNING,
            ClusteringRun.Status.FINISHED,
            ClusteringRun.Status.FAILED,
        )
    )
    total = queued + running + finished + failed
    if queued + running:
        status = "running" if running or finished or failed else "queued"
    else:
        status = "failed" if failed else "done"
    percent = (100 * (finished + failed) + running_progress) / total if total else 100
    parts = [f"{finished} of {total} run{'s' if total != 1 else ''} finished"]
    parts += [
        f"{count} {label}" for count, label in ((running, "running"), (queued, "queued"), (failed, "failed")) if count
    ]
    failure = ""
    if failed:
        first = experiment.runs.filter(status=ClusteringRun.Status.FAILED).order_by("pk").first()
        failure = f"{failed} run{'s' if failed != 1 else ''} failed; run {first.pk}: {first.failure}" if first else ""
    return ExperimentJob(
        status=status,
        progress=min(int(percent), 100 if status in ("done", "failed") else 99),
        progress_message=", ".join(parts),
        failure=failure,
        finished=finished,
        failed=failed,
        total=total,
    )


def segmentation_candidates(*, limit: int) -> list[ClusteringRun]:
    """The finished, scored runs by test silhouette, best first: the segmentations an analyst may choose from."""
    return list(
        ClusteringRun.objects.filter(status=ClusteringRun.Status.FINISHED, degenerate=False)
        .exclude(silhouette_test__isnull=True)
        .select_related("experiment")
        .order_by("-silhouette_test", "pk")[:limit]
    )


def run_projection(*, run: ClusteringRun) -> list[tuple[float, float, int, bool]]:
    """Each account's latent on its first two principal components: (x, y, segment, in train)."""
    return list(
        run.assignments.filter(projection_x__isnull=False)
        .order_by("pk")
        .values_list("projection_x", "projection_y", "segment", "in_train")
    )


def segmentation_chosen() -> ClusteringRun | None:
    return ClusteringRun.objects.filter(chosen=True).select_related("experiment", "chosen_by").first()


def segmentation_choice_problems(run: ClusteringRun) -> dict[str, str]:
    """Why a run cannot be the segmentation in use, by field; empty when it can.

    Only amount-series runs qualify: they depend on the order of transactions, not on their dates, so
    an applicant's statement from any period builds a series the run's model can read (a calendar
    series is tied to the weeks or days it was trained on). UMAP runs do not: a new applicant is placed
    by the fitted UMAP's approximate transform, and loading umap-learn (numba compilation, TensorFlow)
    took over 20 s in every fresh process that decides, against milliseconds for PCA or none.
    """
    problems = {}
    if run.status != ClusteringRun.Status.FINISHED:
        problems["run"] = f"run {run.pk} is {run.status}, not finished"
    elif run.degenerate:
        problems["run"] = f"run {run.pk} found fewer than {run.k} segments"
    if run.experiment.series != ClusteringExperiment.Series.AMOUNTS:
        problems["series"] = "only runs on amount series can segment new customers"
    if run.reduction == "umap":
        problems["reduction"] = "UMAP runs are for analysis; choose a run without reduction or with PCA"
    return problems


@dataclass(frozen=True)
class SegmentProfile:
    """What a segment's accounts look like, in the data set's currency per month (medians over accounts)."""

    segment: int
    accounts: int
    share: float
    inflow_per_month: float
    outflow_per_month: float
    transactions_per_month: float
    volatility: float
    balance_trend_per_month: float
    loans: int
    defaulted_loans: int

    @property
    def default_rate(self) -> float | None:
        return self.defaulted_loans / self.loans if self.loans else None


def segment_profiles(*, run: ClusteringRun) -> list[SegmentProfile]:
    """Size, typical inflow and outflow, volatility, balance trend and loan default rate per segment.

    Volatility is the standard deviation of an account's signed amounts; the balance trend is the
    least-squares slope of its balance over time. Which loans count as defaulted is the data set's call.
    """
    assignments = pd.DataFrame.from_records(
        run.assignments.values_list("account_reference", "segment"), columns=["account_id", "segment"]
    )
    if assignments.empty:
        return []
    assignments["account_id"] = pd.to_numeric(assignments["account_id"], errors="coerce")
    assignments = assignments.dropna(subset=["account_id"]).astype({"account_id": "int64"})
    dataset = dataset_get(run.experiment.dataset)
    frame = dataset.transactions()
    frame = frame[frame["account_id"].isin(assignments["account_id"])]
    if frame.empty:
        return []
    assignments = assignments[assignments["account_id"].isin(frame["account_id"])]
    per_account = _account_behaviour(frame)
    account_ids = assignments["account_id"].tolist()
    loans = dataset.loans(account_ids) if dataset.loans else pd.DataFrame(columns=["account_id", "defaulted"])
    loan_counts = loans.groupby("account_id").agg(loans=("defaulted", "size"), defaulted=("defaulted", "sum"))
    table = assignments.set_index("account_id").join(per_account).join(loan_counts).fillna({"loans": 0, "defaulted": 0})
    total = len(table)
    profiles = []
    for segment, members in table.groupby("segment"):
        profiles.append(
            SegmentProfile(
                segment=int(segment),
                accounts=len(members),
                share=len(members) / total,
                inflow_per_month=float(members["inflow"].median()),
                outflow_per_month=float(members["outflow"].median()),
                transactions_per_month=float(members["transactions"].median()),
                volatility=float(members["volatility"].median()),
                balance_trend_per_month=float(members["balance_trend"].median()),
                loans=int(members["loans"].sum()),
                defaulted_loans=int(members["defaulted"].sum()),
            )
        )
    return profiles


DAYS_PER_MONTH = 30.44


def _account_behaviour(frame: pd.DataFrame) -> pd.DataFrame:
    """Per account, vectorised: monthly inflow, outflow and transaction count, volatility, balance trend."""
    dates = pd.to_datetime(frame["date"])
    months = (dates - dates.min()) / pd.Timedelta(days=DAYS_PER_MONTH)  # from the first date: no cancellation
    work = pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "month": months.to_numpy(),
            "credit": frame["amount"].clip(lower=0).to_numpy(),
            "debit": (-frame["amount"]).clip(lower=0).to_numpy(),
            "amount": frame["amount"].to_numpy(),
            "balance": frame["balance"].to_numpy(),
        }
    )
    work["month_x_balance"] = work["month"] * work["balance"]
    work["month_squared"] = work["month"] ** 2
    grouped = work.groupby("account_id")
    sums = grouped[["credit", "debit", "month", "balance", "month_x_balance", "month_squared"]].sum()
    count = grouped.size()
    span = (grouped["month"].max() - grouped["month"].min()).clip(lower=1.0)
    covariance = sums["month_x_balance"] / count - (sums["month"] / count) * (sums["balance"] / count)
    variance = sums["month_squared"] / count - (sums["month"] / count) ** 2
    return pd.DataFrame(
        {
            "inflow": sums["credit"] / span,
            "outflow": sums["debit"] / span,
            "transactions": count / span,
            "volatility": grouped["amount"].std(ddof=0),
            "balance_trend": (covariance / variance.where(variance > 1e-12)).fillna(0.0),
        }
    )
