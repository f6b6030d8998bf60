"""The temporal autoencoder of Deep Temporal Clustering (Madiraju et al. 2018).

A convolution picks out short-term patterns, max pooling shortens the series to about LATENT_STEPS
steps, and two bidirectional LSTM layers summarise it into a latent sequence of that length (the two
directions summed, as in the paper). The decoder mirrors it and deconvolves back to full length.
Pooling to a fixed number of steps, rather than by a fixed factor, keeps the network as cheap for
Berka's 675-transaction series as for a year of weeks.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from clustering.nn.convolution import same_length_convolution

KERNEL = 10
LATENT_STEPS = 24


class DtcEncoder(nn.Module):
    def __init__(self, *, channels: int, length: int, filters: int = 50, hidden: int = 50) -> None:
        super().__init__()
        self.pool, self.padded_length = pooling(length)
        self.convolution = same_length_convolution(channels, filters, KERNEL)
        self.first = nn.LSTM(filters, hidden, batch_first=True, bidirectional=True)
        self.second = nn.LSTM(2 * hidden, 1, batch_first=True, bidirectional=True)
        self.output_dim = self.padded_length // self.pool

    def layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The input, the pooled convolution output and the first LSTM's sequence, and the latent sequence.

        The series is left-padded to whole pooling windows, so its most recent steps are never dropped.
        """
        padded = functional.pad(x, (self.padded_length - x.shape[2], 0))
        pooled = functional.max_pool1d(functional.leaky_relu(self.convolution(padded)), self.pool)
        first, _ = self.first(pooled.transpose(1, 2))
        second, _ = self.second(first)
        return [x, pooled, first], second.sum(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[1]


class DtcDecoder(nn.Module):
    """Latent vector -> latent sequence -> bidirectional LSTM -> filters per step -> deconvolution.

    The deconvolution (a transposed convolution whose stride is the pooling window) turns each latent
    step back into the window of steps it was pooled from.
    """

    def __init__(self, *, channels: int, length: int, latent_dim: int, filters: int = 50, hidden: int = 50) -> None:
        super().__init__()
        self.length = length
        pool, self.padded_length = pooling(length)
        self.expand = nn.Linear(latent_dim, self.padded_length // pool)
        self.recurrent = nn.LSTM(1, hidden, batch_first=True, bidirectional=True)
        self.to_filters = nn.Linear(2 * hidden, filters)
        self.deconvolution = nn.ConvTranspose1d(filters, channels, kernel_size=pool, stride=pool)

    def layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions aligned with `DtcEncoder.layers`: input, pooled convolution output, first LSTM."""
        sequence, _ = self.recurrent(self.expand(z).unsqueeze(2))
        filters = functional.leaky_relu(self.to_filters(sequence)).transpose(1, 2)
        reconstructed = self.deconvolution(filters)[:, :, self.padded_length - self.length :]
        return [reconstructed, filters, sequence]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)[0]


def pooling(length: int) -> tuple[int, int]:
    """The pooling window that leaves about LATENT_STEPS steps, and the length padded to whole windows."""
    pool = math.ceil(length / LATENT_STEPS)
    return pool, math.ceil(length / pool) * pool
