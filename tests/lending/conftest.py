"""Fixtures of the lending tests: a small Berka folder cut from the real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lending.berka_files import berka_subset
from tests.lending.card_product import card_champion  # noqa: F401  (a fixture: a product that is not German credit)


@pytest.fixture
def berka_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "berka"
    berka_subset(folder, accounts=60)
    return folder
