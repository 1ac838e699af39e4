"""Adversarial objectives: the losses of discriminator and generator, and the gradient penalty.

Each objective turns discriminator scores into the two losses; the training loop decides when
to call them. Defaults follow the papers: BCE with the non-saturating generator loss
(Goodfellow et al. 2014) and WGAN-GP with lambda = 10 (Gulrajani et al. 2017).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from .errors import GankitError

GENERATOR_LOSSES = ("non-saturating", "minimax")


def gradient_penalty(discriminator, real, fake, y=None, rng: torch.Generator | None = None,
                     target: float = 1.0, shard: tuple[int, int] | None = None) -> torch.Tensor:
    """Mean of (||grad_x D(x_hat)|| - target)^2 on random interpolates x_hat of real and fake.

    The norm is taken per discriminator output, so a PacGAN discriminator, which scores pac
    samples at once, is penalised on the gradient over its whole packed input (as CTGAN does).

    shard=(rank, world_size): `real` and `fake` are this rank's slice of a global batch of
    world_size times their size; the interpolation weights are drawn for the global batch from
    `rng` (the same stream on every rank) and sliced, so the ranks together use exactly the
    weights of one process with the global batch. Under autocast the penalty (its forward and
    its input gradient) is computed in float32.
    """
    world = 1 if shard is None else int(shard[1])
    shape = (real.shape[0] * world,) + (1,) * (real.dim() - 1)
    autocast = torch.is_autocast_enabled(real.device.type)
    dtype = torch.float32 if autocast else real.dtype
    alpha = torch.rand(shape, generator=rng, device=real.device, dtype=dtype)
    if world > 1:
        rank = int(shard[0])
        alpha = alpha[rank * real.shape[0]:(rank + 1) * real.shape[0]]
    if autocast:
        real, fake = real.float(), fake.float()
    with torch.autocast(real.device.type, enabled=False) if autocast else contextlib.nullcontext():
        interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        scores = discriminator(interpolates, y).float() if autocast else discriminator(interpolates, y)
        (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norms = grads.reshape(scores.shape[0], -1).norm(2, dim=1)
        return ((norms - target) ** 2).mean()


class BCEObjective:
    """Vanilla GAN: the discriminator is a classifier trained with binary cross-entropy."""

    name = "gan"

    def __init__(self, generator_loss: str = "non-saturating", label_smoothing: float = 1.0):
        if generator_loss not in GENERATOR_LOSSES:
            raise GankitError(f"unknown generator loss {generator_loss!r}; choose one of "
                              f"{', '.join(GENERATOR_LOSSES)}")
        if not 0.5 < label_smoothing <= 1.0:
            raise GankitError(f"label smoothing must be in (0.5, 1], got {label_smoothing} "
                              "(0.9 is the one-sided smoothing of Salimans et al. 2016)")
        self.generator_loss_kind = generator_loss
        self.real_target = label_smoothing

    def discriminator_loss(self, discriminator, real, fake, y_real=None, y_fake=None, rng=None, *,
                           shard=None, penalty_discriminator=None):
        # shard and penalty_discriminator: the loop's data-parallel arguments; BCE draws nothing
        real_logits = discriminator(real, y_real)
        fake_logits = discriminator(fake, y_fake)
        target = torch.full_like(real_logits, self.real_target)
        loss_real = F.binary_cross_entropy_with_logits(real_logits, target)
        loss_fake = F.softplus(fake_logits).mean()          # BCE against label 0
        loss = loss_real + loss_fake
        return loss, {"d_loss": loss.detach(), "d_real": torch.sigmoid(real_logits).mean().detach(),
                      "d_fake": torch.sigmoid(fake_logits).mean().detach()}

    def generator_loss(self, discriminator, fake, y=None):
        logits = discriminator(fake, y)
        if self.generator_loss_kind == "non-saturating":
            loss = F.softplus(-logits).mean()               # -log D(G(z))
        else:
            loss = -F.softplus(logits).mean()               # log(1 - D(G(z)))
        return loss, {"g_loss": loss.detach()}


class WassersteinGP:
    """WGAN-GP: a critic estimating the Wasserstein-1 distance, kept 1-Lipschitz by a penalty."""

    name = "wgan-gp"

    def __init__(self, gp_lambda: float = 10.0):
        if gp_lambda < 0:
            raise GankitError(f"gradient penalty weight must be >= 0, got {gp_lambda}")
        self.gp_lambda = gp_lambda

    def discriminator_loss(self, discriminator, real, fake, y_real=None, y_fake=None, rng=None, *,
                           shard=None, penalty_discriminator=None):
        """shard=(rank, world_size): see `gradient_penalty`. penalty_discriminator: the network
        to differentiate twice, when `discriminator` cannot be (a torch.compile'd critic)."""
        real_scores = discriminator(real, y_real).mean()
        fake_scores = discriminator(fake, y_fake).mean()
        critic = discriminator if penalty_discriminator is None else penalty_discriminator
        penalty = gradient_penalty(critic, real, fake, y_real, rng, shard=shard) if self.gp_lambda \
            else real_scores.new_zeros(())
        loss = fake_scores - real_scores + self.gp_lambda * penalty
        return loss, {"d_loss": loss.detach(), "wasserstein": (real_scores - fake_scores).detach(),
                      "gradient_penalty": penalty.detach()}

    def generator_loss(self, discriminator, fake, y=None):
        loss = -discriminator(fake, y).mean()
        return loss, {"g_loss": loss.detach()}
