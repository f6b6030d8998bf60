"""Fixtures of the clustering tests: small Berka folders cut from the real files, private artifact storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lending.berka_files import berka_subset


@pytest.fixture
def berka_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "berka"
    berka_subset(folder, accounts=60)
    return folder


@pytest.fixture(autouse=True)
def private_artifacts(settings, tmp_path: Path) -> Path:
    """Model artifacts of these tests go to a temporary folder, not the shared var/artifacts."""
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {**settings.STORAGES["artifacts"], "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> None:
    """The test machine's cores are shared: networks built outside experiment_run train on one thread too."""
    import torch

    torch.set_num_threads(1)
