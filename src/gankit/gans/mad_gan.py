"""MAD-GAN (Ghosh et al. 2018): N generators sharing one discriminator with N + 1 outputs.

The discriminator tells real (the last class) from each generator; every generator is trained
to be called real (the non-saturating form, -log D_real(G_i(z))). Row r of a batch comes from
generator r mod N (`gankit.nets.multi`), which fixes its target class. It is the vanilla GAN
trained with `--generators N` (N > 1), on the MLP networks.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GankitError
from ..nets.multi import MultiGenerator, generator_of_rows
from .base import ExperimentRow, LossContext, Variant, context
from .bce import dcgan_optimiser


class MADGAN(Variant):
    name = "mad-gan"
    model = "gan"
    label = "MAD-GAN"
    vectorisable = False
    unrollable = False
    several_generators = True

    @classmethod
    def defaults(cls, net):
        return dcgan_optimiser(net)

    @classmethod
    def check(cls, config):
        if config.net not in ("mlp", "tabular"):
            raise GankitError("--generators is available for the MLP networks (points and tables)")
        if config.remedy == "pac":
            raise GankitError("--generators cannot be combined with PacGAN packing: a pack would "
                              "mix samples of different generators; drop --remedy pac")
        if config.label_smoothing != 1.0:
            raise GankitError("label smoothing is not defined for the multi-generator "
                              "discriminator; leave it at 1")

    @classmethod
    def experiment_rows(cls):
        # 8 generators measured on ring8 (3000 steps, seed 0): 7/8 modes at 91% high quality,
        # one generator per mode; 4 generators: 4/8 modes (docs/benchmarks.md, "How the
        # remedies' defaults were chosen")
        return {"mad-gan": ExperimentRow("MAD-GAN", {"generators": 8}, owns=("generators",))}

    @classmethod
    def build_generators(cls, config, make):
        return MultiGenerator([make() for _ in range(config.generators)])

    @classmethod
    def build_discriminator(cls, config, spec, classes):
        from ..nets.build import scoring_discriminator
        return scoring_discriminator(config, spec, classes, norm=cls.conv_norm,
                                     outputs=config.generators + 1)

    @staticmethod
    def realness(discriminator, x, labels=None):
        # the logit of "real" against every generator: log p_real - log(1 - p_real)
        logits = discriminator(x, labels)
        return logits[:, -1] - torch.logsumexp(logits[:, :-1], dim=1)

    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None):
        reduce = context(ctx).reduce
        real_logits = critic(real, y_real)
        fake_logits = critic(fake, y_fake)
        generators = real_logits.shape[1] - 1
        real_class = torch.full((real_logits.shape[0],), generators, device=real.device)
        loss = F.cross_entropy(real_logits, real_class) + F.cross_entropy(
            fake_logits, generator_of_rows(fake_logits.shape[0], generators, fake.device))
        return loss, {"d_loss": loss.detach(),
                      "d_real": reduce(real_logits.detach().softmax(1)[:, -1]),
                      "d_fake": reduce(fake_logits.detach().softmax(1)[:, -1])}

    def generator_loss(self, critic, fake, y=None, ctx: LossContext | None = None):
        loss = -context(ctx).reduce(critic(fake, y).log_softmax(1)[:, -1])
        return loss, {"g_loss": loss.detach()}
