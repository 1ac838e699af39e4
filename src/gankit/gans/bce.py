"""The vanilla GAN and DCGAN: a discriminator trained as a classifier with binary cross-entropy.

Goodfellow et al. 2014, with the non-saturating generator loss -log D(G(z)) by default (or the
original minimax log(1 - D(G(z)))) and optional one-sided label smoothing of the real target
(Salimans et al. 2016). `DCGAN` is the same objective on the convolutional networks (Radford et
al. 2016). With several generators (`--generators N`) the vanilla GAN becomes MAD-GAN
(`gankit.gans.mad_gan`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GankitError
from .base import ExperimentRow, LossContext, Variant, context

GENERATOR_LOSSES = ("non-saturating", "minimax")


def dcgan_optimiser(net: str) -> dict:
    """Adam(2e-4, betas (0.5, 0.999)), one D step per G step (Radford et al. 2016); on
    standardised points 1e-3: measured on ring8 at 3000 steps (docs/benchmarks.md, "How the
    remedies' defaults were chosen"), Unrolled GAN reached 8/8 modes at 83% high quality with
    1e-3 against 56% with 2e-4, which is far too slow for a CPU budget."""
    lr = 1e-3 if net == "mlp" else 2e-4
    return {"lr_g": lr, "lr_d": lr, "betas_g": (0.5, 0.999), "betas_d": (0.5, 0.999), "n_critic": 1}


class VanillaGAN(Variant):
    name = "gan"
    label = "vanilla GAN"
    own_settings = ("generator_loss", "label_smoothing")

    def __init__(self, generator_loss: str = "non-saturating", label_smoothing: float = 1.0):
        if generator_loss not in GENERATOR_LOSSES:
            raise GankitError(f"unknown generator loss {generator_loss!r}; choose one of "
                              f"{', '.join(GENERATOR_LOSSES)}")
        if not 0.5 < label_smoothing <= 1.0:
            raise GankitError(f"label smoothing must be in (0.5, 1], got {label_smoothing} "
                              "(0.9 is the one-sided smoothing of Salimans et al. 2016)")
        self.generator_loss_kind = generator_loss
        self.real_target = float(label_smoothing)

    @classmethod
    def for_config(cls, config):
        if config.generators > 1:
            from .mad_gan import MADGAN
            return MADGAN
        return cls

    @classmethod
    def defaults(cls, net):
        return dcgan_optimiser(net)

    @classmethod
    def from_config(cls, config):
        return cls(config.generator_loss, config.label_smoothing)

    @classmethod
    def ensemble_settings(cls, config):
        return (config.generator_loss, config.label_smoothing)

    @classmethod
    def experiment_rows(cls):
        return {"gan": ExperimentRow("vanilla GAN"),
                # Metz et al. 2017, K = 5
                "unrolled-gan": ExperimentRow("Unrolled GAN", {"unroll": 5},
                                              owns=("unroll", "unroll_order"))}

    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None):
        reduce = context(ctx).reduce
        real_logits = critic(real, y_real)
        fake_logits = critic(fake, y_fake)
        target = torch.full_like(real_logits, self.real_target)
        loss = (reduce(F.binary_cross_entropy_with_logits(real_logits, target, reduction="none"))
                + reduce(F.softplus(fake_logits)))                 # BCE against label 0
        return loss, {"d_loss": loss.detach(), "d_real": reduce(torch.sigmoid(real_logits.detach())),
                      "d_fake": reduce(torch.sigmoid(fake_logits.detach()))}

    def generator_loss(self, critic, fake, y=None, ctx: LossContext | None = None):
        reduce = context(ctx).reduce
        logits = critic(fake, y)
        if self.generator_loss_kind == "non-saturating":
            loss = reduce(F.softplus(-logits))                     # -log D(G(z))
        else:
            loss = -reduce(F.softplus(logits))                     # log(1 - D(G(z)))
        return loss, {"g_loss": loss.detach()}


class DCGAN(VanillaGAN):
    name = "dcgan"
    label = "DCGAN"
    nets = ("conv",)

    @classmethod
    def check(cls, config):
        if config.net not in cls.nets:
            raise GankitError("dcgan is the convolutional GAN for images; use --model gan for "
                              "points and tables")
        super().check(config)

    @classmethod
    def experiment_rows(cls):
        return {}
