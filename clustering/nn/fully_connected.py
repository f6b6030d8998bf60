"""Fully connected encoder and decoder: the series flattened into one vector."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn


class FullyConnectedEncoder(nn.Module):
    """Dense layers over the whole flattened series; sees every time step at once but no order."""

    def __init__(self, *, channels: int, length: int, hidden: tuple[int, ...] = (256, 128)) -> None:
        super().__init__()
        sizes = (channels * length, *hidden)
        self.layers_ = nn.ModuleList(nn.Linear(size_in, size_out) for size_in, size_out in pairwise(sizes))
        self.output_dim = hidden[-1]

    def layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Every representation from the input to the output, for multi-task reconstruction, and the output."""
        activations = [x.flatten(start_dim=1)]
        for layer in self.layers_:
            activations.append(torch.relu(layer(activations[-1])))
        return activations, activations[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[1]


class FullyConnectedDecoder(nn.Module):
    """The encoder's mirror, from a latent vector back to (channels, length)."""

    def __init__(self, *, channels: int, length: int, latent_dim: int, hidden: tuple[int, ...] = (256, 128)) -> None:
        super().__init__()
        self.shape = (channels, length)
        sizes = (latent_dim, *reversed(hidden), channels * length)
        self.layers_ = nn.ModuleList(nn.Linear(size_in, size_out) for size_in, size_out in pairwise(sizes))

    def layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions aligned with `FullyConnectedEncoder.layers`: the flat input first, deepest last."""
        outputs = []
        hidden = z
        for position, layer in enumerate(self.layers_):
            hidden = layer(hidden)
            if position < len(self.layers_) - 1:
                hidden = torch.relu(hidden)
            outputs.append(hidden)
        return outputs[::-1]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)[0].reshape(-1, *self.shape)
