"""Convolution helpers shared by the convolutional encoders and decoders."""

from __future__ import annotations

from torch import nn


def same_length_convolution(channels_in: int, channels_out: int, kernel: int, *, stride: int = 1) -> nn.Sequential:
    """A convolution whose output is as long as its input (divided by the stride, rounded up).

    An even kernel gets the extra step of padding on the right, as padding="same" would, without the
    copy of the input that PyTorch warns about.
    """
    return nn.Sequential(
        nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0),
        nn.Conv1d(channels_in, channels_out, kernel, stride=stride),
    )
