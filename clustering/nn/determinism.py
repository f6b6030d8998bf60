"""Reproducible training: the same seed gives the same model and the same segments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def deterministic(*, seed: int, threads: int) -> Iterator[torch.Generator]:
    """Seed torch, force deterministic kernels and a fixed thread count; restore all three afterwards.

    The thread count matters too: floating-point sums split across threads round differently. Yields a
    generator for data shuffling that is independent of the global one used to initialise weights.
    """
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            torch.use_deterministic_algorithms(previous_deterministic)
            torch.set_num_threads(previous_threads)
