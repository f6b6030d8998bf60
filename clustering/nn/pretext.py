"""Pretext losses: what the autoencoder learns before (and while) clustering.

- mse: reconstruct the series;
- multi_rec: reconstruct the series and every intermediate representation of the encoder from the
  decoder's mirror layer (multi-task reconstruction), so the latent keeps information at each depth;
- vae: the negative evidence lower bound of a variational autoencoder with a unit-variance Gaussian
  likelihood: squared error summed over the series plus the KL divergence of the posterior from N(0, I).

Each returns the embedding it computed too, so the clustering loss reuses it instead of running the
encoder a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch.nn import functional

from clustering.nn.autoencoder import Autoencoder
from clustering.nn.embedding import Embedding


class PretextResult(NamedTuple):
    loss: torch.Tensor
    embedding: Embedding


PretextLoss = Callable[[Autoencoder, torch.Tensor], PretextResult]


def mse_loss(model: Autoencoder, x: torch.Tensor) -> PretextResult:
    embedding = model.encode(x)
    return PretextResult(functional.mse_loss(model.decoder(embedding.z), x), embedding)


def multi_rec_loss(model: Autoencoder, x: torch.Tensor) -> PretextResult:
    encoded, h = model.encoder.layers(x)
    embedding = model.embedding(h)
    decoded = model.decoder.layers(embedding.z)
    loss = sum(functional.mse_loss(rebuilt, target) for rebuilt, target in zip(decoded, encoded, strict=True))
    return PretextResult(loss, embedding)


def vae_loss(model: Autoencoder, x: torch.Tensor) -> PretextResult:
    embedding = model.encode(x)
    if embedding.log_variance is None:
        raise TypeError("The vae pretext loss needs a variational embedding head.")
    reconstruction = 0.5 * (model.decoder(embedding.z) - x).pow(2).flatten(start_dim=1).sum(dim=1)
    kl_divergence = -0.5 * (1 + embedding.log_variance - embedding.mean.pow(2) - embedding.log_variance.exp()).sum(
        dim=1
    )
    return PretextResult((reconstruction + kl_divergence).mean(), embedding)


PRETEXT_LOSSES: dict[str, PretextLoss] = {"mse": mse_loss, "multi_rec": multi_rec_loss, "vae": vae_loss}
