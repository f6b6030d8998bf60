"""Builds an autoencoder from the names used in experiment configurations."""

from __future__ import annotations

from torch import nn

from clustering.nn.autoencoder import Autoencoder
from clustering.nn.dtc import DtcDecoder, DtcEncoder
from clustering.nn.embedding import VariationalEmbedding, VectorEmbedding
from clustering.nn.fully_connected import FullyConnectedDecoder, FullyConnectedEncoder
from clustering.nn.lstm import LstmDecoder, LstmEncoder
from clustering.nn.resnet import ResNetDecoder, ResNetEncoder

ARCHITECTURES: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "fc": (FullyConnectedEncoder, FullyConnectedDecoder),
    "resnet": (ResNetEncoder, ResNetDecoder),
    "lstm": (LstmEncoder, LstmDecoder),
    "dtc": (DtcEncoder, DtcDecoder),
}


def autoencoder_build(*, encoder: str, pretext: str, channels: int, length: int, latent_dim: int) -> Autoencoder:
    """The vae pretext loss needs a variational embedding head; the others a plain vector."""
    encoder_class, decoder_class = ARCHITECTURES[encoder]
    encoder_module = encoder_class(channels=channels, length=length)
    head_class = VariationalEmbedding if pretext == "vae" else VectorEmbedding
    return Autoencoder(
        encoder=encoder_module,
        embedding=head_class(input_dim=encoder_module.output_dim, latent_dim=latent_dim),
        decoder=decoder_class(channels=channels, length=length, latent_dim=latent_dim),
    )
