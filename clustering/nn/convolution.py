"""Convolution helpers shared by the convolutional encoders and decoders."""

from __future__ import annotations

from torch import nn


def same_length_convolution(channels_in: int, channels_out: int, kernel: int, *, stride: int = 1) -> nn.Sequential:
    """A convolution whose output is as long as its input (divided by the stride, rounded up).

    An odd kernel pads both sides equally inside the convolution, which copies nothing. An even kernel
    needs one step more on the right, as padding="same" would give; a padding layer adds it, without the
    copy of the input that PyTorch warns about for an uneven "same". The padding slot stays (as an
    identity) for odd kernels, so a trained model's parameter names do not depend on the kernel.
    """
    if kernel % 2:
        return nn.Sequential(
            nn.Identity(), nn.Conv1d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2)
        )
    return nn.Sequential(
        nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0),
        nn.Conv1d(channels_in, channels_out, kernel, stride=stride),
    )
