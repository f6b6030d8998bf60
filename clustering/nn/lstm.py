"""LSTM encoder and decoder: recurrent layers that read the series patch by patch.

The series is cut into about PATCHES patches of consecutive steps (left-padded with zeros to a whole
number of patches), and each recurrent step reads one patch. Fewer, richer steps are the usual remedy
for LSTMs on long series: they train several times faster, and a pattern that repeats every month sits
a few steps apart instead of dozens. On short series (up to PATCHES steps) a patch is one step.
"""

from __future__ import annotations

import math

import torch
from torch import nn

PATCHES = 16


def patch_size(length: int) -> int:
    return math.ceil(length / PATCHES)


class LstmEncoder(nn.Module):
    """Two bidirectional LSTM layers; the output is the second layer's final state in both directions."""

    def __init__(self, *, channels: int, length: int, hidden: int = 64) -> None:
        super().__init__()
        self.patch = patch_size(length)
        self.padded_length = math.ceil(length / self.patch) * self.patch
        self.first = nn.LSTM(channels * self.patch, hidden, batch_first=True, bidirectional=True)
        self.second = nn.LSTM(2 * hidden, hidden, batch_first=True, bidirectional=True)
        self.output_dim = 2 * hidden

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, length) -> (batch, patches, channels x patch size)."""
        padded = nn.functional.pad(x, (self.padded_length - x.shape[2], 0))
        batch, channels, length = padded.shape
        steps = padded.reshape(batch, channels, length // self.patch, self.patch).permute(0, 2, 1, 3)
        return steps.reshape(batch, length // self.patch, channels * self.patch)

    def layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The input and the first layer's sequence (batch, features, patches), and the final state."""
        first, _ = self.first(self.patches(x))
        _, (final, _) = self.second(first)
        return [x, first.transpose(1, 2)], torch.cat([final[0], final[1]], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[1]


class LstmDecoder(nn.Module):
    """The latent vector repeated at every patch, a bidirectional LSTM, and a linear read-out per patch."""

    def __init__(self, *, channels: int, length: int, latent_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.channels = channels
        self.length = length
        self.patch = patch_size(length)
        self.padded_length = math.ceil(length / self.patch) * self.patch
        self.recurrent = nn.LSTM(latent_dim, hidden, batch_first=True, bidirectional=True)
        self.output = nn.Linear(2 * hidden, channels * self.patch)

    def layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions aligned with `LstmEncoder.layers`: the input, then the first layer's sequence."""
        steps = self.padded_length // self.patch
        sequence, _ = self.recurrent(z.unsqueeze(1).expand(-1, steps, -1))
        patches = self.output(sequence).reshape(-1, steps, self.channels, self.patch).permute(0, 2, 1, 3)
        reconstructed = patches.reshape(-1, self.channels, self.padded_length)[:, :, self.padded_length - self.length :]
        return [reconstructed, sequence.transpose(1, 2)]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)[0]
