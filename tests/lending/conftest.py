"""Fixtures of the lending tests: a small Berka folder cut from the real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lending.berka_files import berka_subset
from tests.lending.card_product import (  # noqa: F401  (fixtures: products that are not German credit)
    card_champion,
    instalment_champion,
)


@pytest.fixture
def berka_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "berka"
    berka_subset(folder, accounts=60)
    return folder
