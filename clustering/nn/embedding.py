"""Embedding heads: from an encoder's output to the latent vector that is clustered."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Embedding(NamedTuple):
    """`z` feeds the decoder; `mean` is what gets clustered (equal to `z` for a plain vector)."""

    z: torch.Tensor
    mean: torch.Tensor
    log_variance: torch.Tensor | None


class VectorEmbedding(nn.Module):
    """A plain linear projection to the latent dimension."""

    def __init__(self, *, input_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.projection = nn.Linear(input_dim, latent_dim)

    def forward(self, h: torch.Tensor) -> Embedding:
        z = self.projection(h)
        return Embedding(z=z, mean=z, log_variance=None)


class VariationalEmbedding(nn.Module):
    """A Gaussian posterior per series: a sample while training (reparameterised), its mean otherwise.

    Clustering the mean rather than a sample keeps assignments deterministic for a given model.
    """

    def __init__(self, *, input_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.mean = nn.Linear(input_dim, latent_dim)
        self.log_variance = nn.Linear(input_dim, latent_dim)

    def forward(self, h: torch.Tensor) -> Embedding:
        mean, log_variance = self.mean(h), self.log_variance(h)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance) if self.training else mean
        return Embedding(z=z, mean=mean, log_variance=log_variance)
