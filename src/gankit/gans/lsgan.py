"""LSGAN (Mao et al. 2017): least-squares losses in place of the cross-entropy, with the paper's
a/b/c = 0/1/1 coding (fake 0, real 1, the generator aims at 1).

L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2],   L_G = 1/2 E[(D(G(z)) - 1)^2].
The quadratic penalises samples by their distance to the decision boundary, also on the side
the discriminator already calls real, which Mao et al. found steadier than the sigmoid loss.
"""
from __future__ import annotations

from .base import ExperimentRow, LossContext, Variant, context
from .bce import dcgan_optimiser

REAL, FAKE, GENERATOR_TARGET = 1.0, 0.0, 1.0        # a, b, c of Mao et al., eq. 9 with b - c = 0


class LSGAN(Variant):
    name = "lsgan"
    label = "LSGAN"

    @classmethod
    def defaults(cls, net):
        # Mao et al. train with Adam(2e-4, beta1 0.5) as DCGAN does; on points the DCGAN family's
        # measured 1e-3 (gankit.gans.bce.dcgan_optimiser)
        return dcgan_optimiser(net)

    @classmethod
    def experiment_rows(cls):
        return {"lsgan": ExperimentRow("LSGAN")}

    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None):
        reduce = context(ctx).reduce
        real_scores = critic(real, y_real)
        fake_scores = critic(fake, y_fake)
        loss = 0.5 * reduce((real_scores - REAL) ** 2) + 0.5 * reduce((fake_scores - FAKE) ** 2)
        return loss, {"d_loss": loss.detach(), "d_real": reduce(real_scores.detach()),
                      "d_fake": reduce(fake_scores.detach())}

    def generator_loss(self, critic, fake, y=None, ctx: LossContext | None = None):
        loss = 0.5 * context(ctx).reduce((critic(fake, y) - GENERATOR_TARGET) ** 2)
        return loss, {"g_loss": loss.detach()}
