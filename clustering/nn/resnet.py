"""1-D ResNet encoder and decoder: stacked convolution blocks with shortcut connections.

The encoder follows the time-series ResNet of Wang et al. (2017) used by the reference implementation:
three blocks of three convolutions (kernels 8, 5, 3), each block adding a 1x1-convolution shortcut,
then average pooling to a fixed number of steps so the output size does not depend on the length.
"""

from __future__ import annotations

import torch
from torch import nn

from clustering.nn.convolution import same_length_convolution

KERNELS = (8, 5, 3)


class ResidualBlock(nn.Module):
    def __init__(self, *, channels_in: int, channels: int) -> None:
        super().__init__()
        sizes = (channels_in, channels, channels, channels)
        self.convolutions = nn.ModuleList(
            same_length_convolution(size_in, size_out, kernel)
            for size_in, size_out, kernel in zip(sizes[:-1], sizes[1:], KERNELS, strict=True)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(channels) for _ in KERNELS)
        self.shortcut = nn.Conv1d(channels_in, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = x
        for position, (convolution, norm) in enumerate(zip(self.convolutions, self.norms, strict=True)):
            hidden = norm(convolution(hidden))
            if position < len(KERNELS) - 1:
                hidden = torch.relu(hidden)
        return torch.relu(hidden + self.shortcut(x))


class ResNetEncoder(nn.Module):
    def __init__(
        self, *, channels: int, length: int, width: int = 32, blocks: int = 3, pooled_length: int = 16
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            ResidualBlock(channels_in=channels if position == 0 else width, channels=width)
            for position in range(blocks)
        )
        self.pooled_length = min(pooled_length, length)
        self.pool = nn.AdaptiveAvgPool1d(self.pooled_length)
        self.output_dim = width * self.pooled_length

    def layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The input and each block's output, for multi-task reconstruction, and the pooled output."""
        activations = [x]
        for block in self.blocks:
            activations.append(block(activations[-1]))
        return activations, self.pool(activations[-1]).flatten(start_dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[1]


class ResNetDecoder(nn.Module):
    """From a latent vector: a dense layer to the pooled shape, upsampling to the length, residual blocks."""

    def __init__(
        self, *, channels: int, length: int, latent_dim: int, width: int = 32, blocks: int = 3, pooled_length: int = 16
    ) -> None:
        super().__init__()
        self.width = width
        self.pooled_length = min(pooled_length, length)
        self.expand = nn.Linear(latent_dim, width * self.pooled_length)
        self.upsample = nn.Upsample(size=length, mode="nearest")
        self.blocks = nn.ModuleList(ResidualBlock(channels_in=width, channels=width) for _ in range(blocks - 1))
        self.output = nn.Conv1d(width, channels, kernel_size=1)

    def layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions aligned with `ResNetEncoder.layers`: the input first, the last block's output last."""
        hidden = self.upsample(torch.relu(self.expand(z)).reshape(-1, self.width, self.pooled_length))
        outputs = [hidden]
        for block in self.blocks:
            outputs.append(block(outputs[-1]))
        outputs.append(self.output(outputs[-1]))
        return outputs[::-1]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)[0]
