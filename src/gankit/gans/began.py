"""BEGAN (Berthelot et al. 2017): L_D = L(x) - k_t L(G(z)), L_G = L(G(z)), with k_t steering
E[L(G(z))] = gamma E[L(x)].

k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) after every generator step; the
convergence measure M = L(x) + |gamma L(x) - L(G(z))| is logged. k_t lives in the autoencoder
discriminator's `equilibrium_k` buffer (k_0 = 0), so checkpoints keep it and a resumed run
continues from it.
"""
from __future__ import annotations

import torch

from ..errors import GankitError
from .autoencoder import AutoencoderVariant
from .base import ExperimentRow, LossContext, context


class BEGAN(AutoencoderVariant):
    name = "began"
    label = "BEGAN"
    energy = "l1"
    own_settings = ("gamma", "lambda_k", "code_dim")

    def __init__(self, gamma: float = 0.5, lambda_k: float = 0.001):
        if not 0 < gamma <= 1:
            raise GankitError(f"BEGAN's gamma must be in (0, 1] (0.5 in the paper), got {gamma}")
        if not lambda_k >= 0:
            raise GankitError(f"BEGAN's lambda_k must be >= 0 (0.001 in the paper), got {lambda_k}")
        self.gamma, self.lambda_k = float(gamma), float(lambda_k)

    @classmethod
    def defaults(cls, net):
        if net == "conv":
            # Measured on digits at the 1000-step DCGAN budget (docs/benchmarks.md, "How the
            # remedies' defaults were chosen"): with the paper's 0.5 / 0.001, k_t sank to 0 and
            # the generator settled on grey images (FID 2908); with 1.0 / 0.01, k_t ends near 0.2
            # and the samples are digits (FID 708).
            return {**super().defaults(net), "gamma": 1.0, "lambda_k": 0.01}
        return {**super().defaults(net), "gamma": 0.5, "lambda_k": 0.001}   # the paper's

    @classmethod
    def from_config(cls, config):
        return cls(config.gamma, config.lambda_k)

    @classmethod
    def experiment_rows(cls):
        return {"began": ExperimentRow("BEGAN", owns=("gamma", "lambda_k", "code_dim"))}

    @staticmethod
    def equilibrium_k(discriminator) -> torch.Tensor:
        if not hasattr(discriminator, "equilibrium_k"):
            raise GankitError("BEGAN needs its autoencoder discriminator (build it with --model began)")
        return discriminator.equilibrium_k

    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None):
        reduce = context(ctx).reduce
        k = self.equilibrium_k(critic)
        real_energy = reduce(critic(real, y_real))
        fake_energy = reduce(critic(fake, y_fake))
        loss = real_energy - k * fake_energy
        return loss, {"d_loss": loss.detach(), "energy_real": real_energy.detach(),
                      "energy_fake": fake_energy.detach(), "k": k.detach().clone()}

    def generator_loss(self, critic, fake, y=None, ctx: LossContext | None = None):
        loss = context(ctx).reduce(critic(fake, y))
        return loss, {"g_loss": loss.detach()}

    @torch.no_grad()
    def end_step(self, discriminator, logs: dict, average=None) -> dict:
        """Update k_t from this step's L(x) (critic step) and L(G(z)) (generator step).

        average: a function averaging a tensor over data-parallel ranks, so that every rank
        takes the same k_t."""
        balance = torch.stack([logs["energy_real"], logs["g_loss"]])
        if average is not None:
            balance = average(balance)
        real_energy, fake_energy = balance[0], balance[1]
        gap = self.gamma * real_energy - fake_energy
        k = self.equilibrium_k(discriminator)
        k.copy_((k + self.lambda_k * gap).clamp(0.0, 1.0))
        return {"convergence": (real_energy + gap.abs()).detach()}
