"""1-D ResNet encoder and decoder: stacked convolution blocks with shortcut connections.

Each block is Wang et al.'s (2017) time-series residual block used by the reference implementation
(three convolutions with kernels 8, 5 and 3, batch norm, a 1x1-convolution shortcut). Wang et al. keep
the full length in every block; here, as in He et al.'s ResNet, a block whose input is longer than
`HALVE_ABOVE` steps halves it with a stride-2 first convolution, so the cost of long series falls
geometrically with depth: at Berka's length (675 steps) one configuration trains about four times
faster on a CPU, which brings it within the issue's 60-second budget (benchmarks/test_bench_clustering.py).
Short series (a year of weekly flows) keep every step, where halving measurably lost the planted
groups (tests/clustering/nn/test_recovery.py). The encoder ends in average pooling to a fixed number of
steps, so its output size does not depend on the length.
"""

from __future__ import annotations

import torch
from torch import nn

from clustering.nn.convolution import same_length_convolution

KERNELS = (8, 5, 3)
DECODER_KERNELS = (3,)
HALVE_ABOVE = 64


class ResidualBlock(nn.Module):
    def __init__(self, *, channels_in: int, channels: int, stride: int = 1, kernels: tuple[int, ...] = KERNELS) -> None:
        super().__init__()
        sizes = (channels_in, *(channels for _ in kernels))
        self.convolutions = nn.ModuleList(
            same_length_convolution(size_in, size_out, kernel, stride=stride if position == 0 else 1)
            for position, (size_in, size_out, kernel) in enumerate(zip(sizes[:-1], sizes[1:], kernels, strict=True))
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(channels) for _ in kernels)
        self.shortcut = nn.Conv1d(channels_in, channels, kernel_size=1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = x
        last = len(self.convolutions) - 1
        for position, (convolution, norm) in enumerate(zip(self.convolutions, self.norms, strict=True)):
            hidden = norm(convolution(hidden))
            if position < last:
                hidden = torch.relu(hidden)
        return torch.relu(hidden + self.shortcut(x))


def block_strides(length: int, blocks: int) -> list[int]:
    """Each encoder block's stride: 2 while its input is longer than `HALVE_ABOVE`, else 1."""
    strides = []
    for _ in range(blocks):
        stride = 2 if length > HALVE_ABOVE else 1
        strides.append(stride)
        length = -(-length // stride)  # the padded convolution keeps a last, partial step
    return strides


def block_lengths(length: int, blocks: int) -> list[int]:
    """The length after each encoder block."""
    lengths = []
    for stride in block_strides(length, blocks):
        length = -(-length // stride)
        lengths.append(length)
    return lengths


class ResNetEncoder(nn.Module):
    def __init__(
        self, *, channels: int, length: int, width: int = 32, blocks: int = 3, pooled_length: int = 16
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            ResidualBlock(channels_in=channels if position == 0 else width, channels=width, stride=stride)
            for position, stride in enumerate(block_strides(length, blocks))
        )
        self.pooled_length = min(pooled_length, block_lengths(length, blocks)[-1])
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
    """The encoder in mirror: a dense layer to the pooled shape, then upsampling by two with a residual
    block at each encoder length, and a 1x1 convolution back to the input channels at full length."""

    def __init__(
        self, *, channels: int, length: int, latent_dim: int, width: int = 32, blocks: int = 3, pooled_length: int = 16
    ) -> None:
        super().__init__()
        self.width = width
        lengths = block_lengths(length, blocks)
        self.pooled_length = min(pooled_length, lengths[-1])
        self.expand = nn.Linear(latent_dim, width * self.pooled_length)
        # Target lengths from the deepest block's to the input's.
        targets = [*lengths[::-1], length]
        self.upsamples = nn.ModuleList(nn.Upsample(size=size, mode="nearest") for size in targets)
        self.blocks = nn.ModuleList(
            ResidualBlock(channels_in=width, channels=width, kernels=DECODER_KERNELS) for _ in range(blocks - 1)
        )
        self.output = nn.Conv1d(width, channels, kernel_size=1)

    def layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions aligned with `ResNetEncoder.layers`: the input first, the last block's output last."""
        hidden = self.upsamples[0](torch.relu(self.expand(z)).reshape(-1, self.width, self.pooled_length))
        outputs = [hidden]
        for block, upsample in zip(self.blocks, self.upsamples[1:-1], strict=True):
            outputs.append(upsample(block(outputs[-1])))
        # The 1x1 output convolution commutes with nearest upsampling: applying it first, on one channel
        # less upsampled, gives the same numbers for a fraction of the work at full length.
        outputs.append(self.upsamples[-1](self.output(outputs[-1])))
        return outputs[::-1]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)[0]
