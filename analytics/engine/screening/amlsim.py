"""IBM AMLSim's sample as screening input: the transfers in the transactions contract, the labels apart.

AMLSim plants laundering patterns (cycles, fan-ins) in a simulated transfer network and labels the
accounts that took part, which makes it a yardstick for rules that real data cannot give. The labels
(`isFraud`) and `fraudStep` (when the account joined a pattern) are the answer: they are returned as
a separate table and never enter the transactions, so no rule or feature can read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from finai.errors import ApplicationError

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[3] / "data" / "amlsim"
START = pd.Timestamp("2020-01-01")
NODE_COLUMNS = ("nodeid", "isFraud")
TRANSFER_COLUMNS = ("sourceNodeId", "targetNodeId", "value", "time")
MISSING_FILE = "file not found"
MISSING_COLUMNS = "missing columns: {columns}"


@dataclass(frozen=True)
class AmlsimData:
    """`transactions` in the screening contract; `labels`: account, laundering (bool), one row per account."""

    transactions: pd.DataFrame
    labels: pd.DataFrame

    @property
    def laundering_accounts(self) -> set[int]:
        return set(self.labels.loc[self.labels["laundering"], "account"].tolist())


def _read(path: Path, columns: tuple[str, ...], details: dict[str, str]) -> pd.DataFrame | None:
    if not path.is_file():
        details[path.name] = MISSING_FILE
        return None
    frame = pd.read_csv(path)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        details[path.name] = MISSING_COLUMNS.format(columns=", ".join(missing))
        return None
    return frame


def amlsim_read(*, directory: Path | str = DEFAULT_DIRECTORY, start: pd.Timestamp = START) -> AmlsimData:
    """Each transfer booked twice (out on its source, in on its target), step t dated `start + t days`.

    Transaction ids are "<row>-out" and "<row>-in" for row `row` of transactions.csv, so an alert's
    evidence leads back to the file.
    """
    directory = Path(directory)
    details: dict[str, str] = {}
    nodes = _read(directory / "nodes.csv", NODE_COLUMNS, details)
    transfers = _read(directory / "transactions.csv", TRANSFER_COLUMNS, details)
    if nodes is None or transfers is None:
        raise ApplicationError("The AMLSim files cannot be read.", details=details, code="invalid_dataset")

    row = np.arange(len(transfers)).astype(str)
    booked_at = start + pd.to_timedelta(transfers["time"].to_numpy(), unit="D")
    legs = [
        pd.DataFrame(
            {
                "transaction_id": np.char.add(row, suffix),
                "account": transfers[account].to_numpy(),
                "counterparty": transfers[counterparty].to_numpy(),
                "amount": transfers["value"].to_numpy(dtype=float),
                "direction": direction,
                "kind": "transfer",
                "booked_at": booked_at,
            }
        )
        for account, counterparty, direction, suffix in (
            ("sourceNodeId", "targetNodeId", "out", "-out"),
            ("targetNodeId", "sourceNodeId", "in", "-in"),
        )
    ]
    transactions = pd.concat(legs, ignore_index=True)
    labels = pd.DataFrame({"account": nodes["nodeid"].to_numpy(), "laundering": nodes["isFraud"].to_numpy() == 1})
    return AmlsimData(transactions=transactions, labels=labels)
