"""Reads of the clustering app: stored transactions as frames, and series ready for the engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clustering.berka import SIGNS
from clustering.models import BerkaTransaction, ClusteringExperiment
from clustering.series import amount_series_build, calendar_series_build
from finai.errors import ApplicationError


@dataclass(frozen=True)
class AccountSeries:
    """Engine input: one row of `values` per entry of `account_references`."""

    account_references: np.ndarray
    values: np.ndarray


def berka_transaction_frame() -> pd.DataFrame:
    """Every imported Berka transaction with its signed amount, in trans_id order (the tie-break for a day)."""
    rows = BerkaTransaction.objects.order_by("trans_id").values_list(
        "account_id", "booked_on", "type", "amount", "balance"
    )
    frame = pd.DataFrame.from_records(
        rows.iterator(chunk_size=20_000), columns=["account_id", "date", "type", "amount", "balance"]
    )
    frame["date"] = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
    frame["amount"] = frame["amount"].astype(float) * frame["type"].map(SIGNS)
    frame["balance"] = frame["balance"].astype(float)
    return frame


def experiment_series(*, experiment: ClusteringExperiment) -> AccountSeries:
    """The series of every account with at least one transaction, in the experiment's representation."""
    if experiment.dataset != "berka":
        raise ApplicationError("Unknown data set.", details={"dataset": f"{experiment.dataset!r} is not berka"})
    frame = berka_transaction_frame()
    if frame.empty:
        raise ApplicationError(
            "No transactions to cluster.", details={"dataset": "no Berka transactions imported (run import_berka)"}
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
