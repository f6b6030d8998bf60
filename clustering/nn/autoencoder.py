"""The autoencoder: an encoder, an embedding head and a decoder, trained by a pretext loss.

Encoders expose `layers(x) -> (representations, output)` and `output_dim`; decoders expose
`layers(z) -> reconstructions` aligned with the encoder's representations (input first), which is
what the multi-task reconstruction loss pairs up.
"""

from __future__ import annotations

import torch
from torch import nn

from clustering.nn.embedding import Embedding


class Autoencoder(nn.Module):
    def __init__(self, *, encoder: nn.Module, embedding: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.embedding = embedding
        self.decoder = decoder

    def encode(self, x: torch.Tensor) -> Embedding:
        return self.embedding(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x).z)

    @torch.no_grad()
    def latents(self, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
        """The clustered representation of every series, in evaluation mode (no sampling, fixed batch norm)."""
        was_training = self.training
        self.eval()
        try:
            return torch.cat(
                [self.encode(x[start : start + batch_size]).mean for start in range(0, len(x), batch_size)]
            )
        finally:
            self.train(was_training)
