"""The hinge loss of SNGAN and the StyleGAN-family trainers (Lim & Ye 2017; Miyato et al. 2018).

L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))],   L_G = -E[D(G(z))].
The discriminator stops pushing a sample once it is classified with margin 1, so its scores stay
bounded without a penalty; it is usually paired with spectral normalisation of the
discriminator (`--spectral-norm`).
"""
from __future__ import annotations

import torch.nn.functional as F

from .base import ExperimentRow, LossContext, Variant, context
from .bce import dcgan_optimiser


class Hinge(Variant):
    name = "hinge"
    label = "hinge GAN"

    @classmethod
    def defaults(cls, net):
        # the DCGAN family's optimiser (Miyato et al.'s setting "C": Adam(2e-4, 0.5, 0.999),
        # one D step per G step); on points the family's measured 1e-3
        return dcgan_optimiser(net)

    @classmethod
    def experiment_rows(cls):
        return {"hinge": ExperimentRow("hinge GAN")}

    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None):
        reduce = context(ctx).reduce
        real_scores = critic(real, y_real)
        fake_scores = critic(fake, y_fake)
        loss = reduce(F.relu(1.0 - real_scores)) + reduce(F.relu(1.0 + fake_scores))
        return loss, {"d_loss": loss.detach(), "d_real": reduce(real_scores.detach()),
                      "d_fake": reduce(fake_scores.detach())}

    def generator_loss(self, critic, fake, y=None, ctx: LossContext | None = None):
        loss = -context(ctx).reduce(critic(fake, y))
        return loss, {"g_loss": loss.detach()}
