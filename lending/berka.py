"""Readers for the PKDD'99 (Berka) financial data set in its original layout.

Eight `;`-separated tables, as `.asc` (the published files) or `.csv`; strings double-quoted, dates
as YYMMDD integers of 1993 to 1998. The transaction table may be partial: any file whose name starts
with "trans" is taken as it (the shipped extract is `trans_first_49102.asc`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from finai.errors import ApplicationError

TABLES: tuple[str, ...] = ("account", "client", "disp", "order", "loan", "card", "district", "trans")
EXTENSIONS = (".asc", ".csv")
# Transaction types: PRIJEM credit, VYDAJ debit, VYBER withdrawal in cash.
SIGNS = {"PRIJEM": 1.0, "VYDAJ": -1.0, "VYBER": -1.0}
DISTRICT_COLUMNS = (
    "district_id",
    "name",
    "region",
    "inhabitants",
    "municipalities_under_500",
    "municipalities_500_1999",
    "municipalities_2000_9999",
    "municipalities_over_10000",
    "cities",
    "urban_ratio",
    "average_salary",
    "unemployment_1995",
    "unemployment_1996",
    "entrepreneurs_per_1000",
    "crimes_1995",
    "crimes_1996",
)


def berka_files_find(*, path: Path) -> dict[str, Path]:
    """The file of each of the eight tables in a folder; every missing table is named in the error."""
    if not path.is_dir():
        raise ApplicationError("Not a folder.", details={"path": f"{path} is not a directory"})
    found: dict[str, Path] = {}
    for candidate in sorted(path.iterdir()):
        if candidate.suffix.lower() not in EXTENSIONS:
            continue
        stem = candidate.stem.lower()
        table = "trans" if stem.startswith("trans") else stem
        if table in TABLES and table not in found:
            found[table] = candidate
    missing = [table for table in TABLES if table not in found]
    if missing:
        raise ApplicationError(
            "Berka tables missing from the folder.",
            details={table: f"no {table}.asc or {table}.csv in {path}" for table in missing},
        )
    return found


def berka_table_read(*, file: Path, table: str) -> pd.DataFrame:
    """One table as a DataFrame with the original column names (district's A1..A16 renamed to words)."""
    frame = pd.read_csv(file, sep=";", quotechar='"', low_memory=False, na_values=["?", ""], keep_default_na=False)
    frame.columns = [column.strip().strip('"') for column in frame.columns]
    if table == "district":
        if len(frame.columns) != len(DISTRICT_COLUMNS):
            raise ApplicationError(
                "Unexpected district table.", details={"district": f"{len(frame.columns)} columns, not 16"}
            )
        frame.columns = list(DISTRICT_COLUMNS)
    return frame


def berka_dates(values: pd.Series) -> np.ndarray:
    """YYMMDD integers (or "YYMMDD hh:mm:ss" strings, as card.issued) of the 1990s as datetime64[D]."""
    text = values.astype(str).str.slice(0, 6)
    parsed = pd.to_datetime("19" + text, format="%Y%m%d", errors="coerce")
    if parsed.isna().any():
        bad = values[parsed.isna()].head(3).tolist()
        raise ApplicationError("Dates not in YYMMDD form.", details={"date": f"e.g. {bad}"})
    return parsed.to_numpy().astype("datetime64[D]")


def berka_transactions_read(*, file: Path) -> pd.DataFrame:
    """The transaction table with dates parsed and amounts signed by type (credits positive)."""
    frame = berka_table_read(file=file, table="trans")
    unknown = sorted(set(frame["type"].dropna()) - set(SIGNS))
    if unknown or frame["type"].isna().any():
        raise ApplicationError(
            "Unknown transaction types.", details={"type": f"{unknown or ['(empty)']} not in {sorted(SIGNS)}"}
        )
    frame["date"] = berka_dates(frame["date"])
    frame["signed_amount"] = frame["amount"] * frame["type"].map(SIGNS)
    return frame


def berka_birth_numbers_decode(values: pd.Series) -> pd.DataFrame:
    """Sex and birth date from birth numbers: YYMMDD for men, YY(MM+50)DD for women (19YY).

    Every value that is not such a date is named in the error.
    """
    text = values.astype(str).str.strip().str.zfill(6)
    month = pd.to_numeric(text.str.slice(2, 4), errors="coerce")
    female = month > 50
    real_month = (month - 50 * female).astype("Int64").astype(str).str.zfill(2)
    birth_date = pd.to_datetime(
        "19" + text.str.slice(0, 2) + real_month + text.str.slice(4, 6), format="%Y%m%d", errors="coerce"
    )
    if birth_date.isna().any():
        bad = values[birth_date.isna()].head(3).tolist()
        raise ApplicationError(
            "Birth numbers not in YYMMDD or YY(MM+50)DD form.", details={"client.birth_number": f"e.g. {bad}"}
        )
    return pd.DataFrame(
        {"sex": np.where(female, "female", "male"), "birth_date": birth_date.to_numpy().astype("datetime64[D]")}
    )
