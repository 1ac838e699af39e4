"""What EBGAN and BEGAN share: a discriminator that is an autoencoder, whose reconstruction
error (its energy) is the score, and the settings of its bottleneck.

The energy is low for what looks real. Such a discriminator scores samples one at a time, so
PacGAN packing and minibatch features (which modify a scoring discriminator) do not apply, and it
runs in float32, eagerly (no --amp, no --compile).
"""
from __future__ import annotations

from ..errors import GankitError
from .base import Variant
from .bce import dcgan_optimiser


class AutoencoderVariant(Variant):
    scores_samples = False
    vectorisable = False
    unrollable = False
    energy = "l2"                       # EBGAN's mean squared error; BEGAN's "l1"

    @classmethod
    def defaults(cls, net):
        return dcgan_optimiser(net)

    @classmethod
    def check(cls, config):
        if config.code_dim is not None and int(config.code_dim) < 1:
            raise GankitError(f"code-dim must be at least 1, got {config.code_dim}")
        super().check(config)

    @staticmethod
    def realness(discriminator, x, labels=None):
        # low energy is what looks real
        return -discriminator(x, labels).reshape(-1)

    @classmethod
    def build_discriminator(cls, config, spec, classes):
        if config.net == "conv":
            from ..nets.conv import ConvAutoencoderDiscriminator
            channels, size, _ = spec.sample_shape
            # BEGAN's code size h = 64 (Berthelot et al. 2017)
            return ConvAutoencoderDiscriminator(size, channels, classes, config.width,
                                                code_dim=config.code_dim or 64, energy=cls.energy,
                                                embed_dim=config.embed_dim)
        from ..nets.build import onehot_labels
        from ..nets.mlp import MLPAutoencoderDiscriminator
        features = spec.sample_shape[0]
        # a bottleneck narrower than the data: an autoencoder that can reconstruct everything
        # gives no energy gap between real and fake (2-D points: a 1-D code); the pull-away
        # term compares code directions, which a 1-D code cannot have
        code_dim = config.code_dim or max(2 if config.pull_away else 1, features // 2)
        depth = config.depth if config.net == "mlp" else 2
        return MLPAutoencoderDiscriminator(features, config.hidden, depth, code_dim, classes,
                                           config.embed_dim, energy=cls.energy,
                                           onehot=onehot_labels(config))
