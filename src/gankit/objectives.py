"""Adversarial objectives: the losses of discriminator and generator, and the gradient penalty.

Each objective turns discriminator scores into the two losses; the training loop decides when
to call them. Defaults follow the papers: BCE with the non-saturating generator loss
(Goodfellow et al. 2014), WGAN-GP with lambda = 10 (Gulrajani et al. 2017), the multi-generator
BCE of MAD-GAN (Ghosh et al. 2018), and the energy-based objectives of EBGAN (Zhao et al. 2017)
and BEGAN (Berthelot et al. 2017), whose discriminators are autoencoders scoring reconstruction
error. An objective with state between steps (BEGAN's k_t) keeps it in a buffer of the
discriminator, so checkpoints carry it, and updates it in `end_step`, which the loop calls
after each generator step.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from .errors import GankitError
from .nets.multi import generator_of_rows

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


class MultiGeneratorBCE:
    """MAD-GAN: the discriminator tells real (the last of N + 1 classes) from each generator.

    Fake row r comes from generator r mod N (gankit.nets.multi), which fixes its target class;
    every generator is trained to be called real (the non-saturating form, -log D_real(G_i(z)))."""

    name = "mad-gan"

    def discriminator_loss(self, discriminator, real, fake, y_real=None, y_fake=None, rng=None, *,
                           shard=None, penalty_discriminator=None):
        real_logits = discriminator(real, y_real)
        fake_logits = discriminator(fake, y_fake)
        generators = real_logits.shape[1] - 1
        real_class = torch.full((real_logits.shape[0],), generators, device=real.device)
        loss_real = F.cross_entropy(real_logits, real_class)
        loss_fake = F.cross_entropy(fake_logits, generator_of_rows(fake_logits.shape[0], generators,
                                                                   fake.device))
        loss = loss_real + loss_fake
        return loss, {"d_loss": loss.detach(),
                      "d_real": real_logits.softmax(1)[:, -1].mean().detach(),
                      "d_fake": fake_logits.softmax(1)[:, -1].mean().detach()}

    def generator_loss(self, discriminator, fake, y=None):
        loss = -discriminator(fake, y).log_softmax(1)[:, -1].mean()
        return loss, {"g_loss": loss.detach()}


def pull_away_term(codes: torch.Tensor) -> torch.Tensor:
    """EBGAN's repelling regulariser: mean squared cosine similarity between distinct codes."""
    n = codes.shape[0]
    if n < 2:
        return codes.new_zeros(())
    unit = F.normalize(codes.flatten(1), dim=1)
    similarity = unit @ unit.T
    return (similarity.square().sum() - n) / (n * (n - 1))


class EnergyMargin:
    """EBGAN: push real energies down and fake energies up to a margin; the generator lowers them.

    L_D = D(x) + max(0, m - D(G(z))), L_G = D(G(z)) [+ pull_away * PT(codes of G(z))]."""

    name = "ebgan"

    def __init__(self, margin: float = 1.0, pull_away: float = 0.0):
        if not margin > 0:
            raise GankitError(f"the EBGAN margin must be positive, got {margin}")
        if pull_away < 0:
            raise GankitError(f"the pull-away weight must be >= 0, got {pull_away}")
        self.margin, self.pull_away = float(margin), float(pull_away)

    def discriminator_loss(self, discriminator, real, fake, y_real=None, y_fake=None, rng=None, *,
                           shard=None, penalty_discriminator=None):
        real_energy = discriminator(real, y_real).mean()
        fake_energy = discriminator(fake, y_fake)
        loss = real_energy + F.relu(self.margin - fake_energy).mean()
        return loss, {"d_loss": loss.detach(), "energy_real": real_energy.detach(),
                      "energy_fake": fake_energy.mean().detach()}

    def generator_loss(self, discriminator, fake, y=None):
        if self.pull_away:
            energy, codes = discriminator.energy_and_code(fake, y)
            pull_away = pull_away_term(codes)
            loss = energy.mean() + self.pull_away * pull_away
            return loss, {"g_loss": loss.detach(), "pull_away": pull_away.detach()}
        loss = discriminator(fake, y).mean()
        return loss, {"g_loss": loss.detach()}


class BoundaryEquilibrium:
    """BEGAN: L_D = L(x) - k_t L(G(z)), L_G = L(G(z)), with k_t steering E[L(G(z))] = gamma E[L(x)].

    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) after every generator step; the
    convergence measure M = L(x) + |gamma L(x) - L(G(z))| is logged. k_t lives in the
    autoencoder discriminator's `equilibrium_k` buffer (k_0 = 0), so checkpoints keep it."""

    name = "began"

    def __init__(self, gamma: float = 0.5, lambda_k: float = 0.001):
        if not 0 < gamma <= 1:
            raise GankitError(f"BEGAN's gamma must be in (0, 1], got {gamma}")
        if lambda_k < 0:
            raise GankitError(f"BEGAN's lambda_k must be >= 0, got {lambda_k}")
        self.gamma, self.lambda_k = float(gamma), float(lambda_k)

    @staticmethod
    def equilibrium_k(discriminator) -> torch.Tensor:
        if not hasattr(discriminator, "equilibrium_k"):
            raise GankitError("BEGAN needs its autoencoder discriminator (build it with --model began)")
        return discriminator.equilibrium_k

    def discriminator_loss(self, discriminator, real, fake, y_real=None, y_fake=None, rng=None, *,
                           shard=None, penalty_discriminator=None):
        k = self.equilibrium_k(discriminator)
        real_energy = discriminator(real, y_real).mean()
        fake_energy = discriminator(fake, y_fake).mean()
        loss = real_energy - k * fake_energy
        return loss, {"d_loss": loss.detach(), "energy_real": real_energy.detach(),
                      "energy_fake": fake_energy.detach(), "k": k.detach().clone()}

    def generator_loss(self, discriminator, fake, y=None):
        loss = discriminator(fake, y).mean()
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


def make_objective(config):
    """The objective a resolved TrainConfig asks for."""
    if config.model == "wgan-gp":
        return WassersteinGP(gp_lambda=config.gp_lambda)
    if config.model == "ebgan":
        return EnergyMargin(margin=config.margin, pull_away=config.pull_away)
    if config.model == "began":
        return BoundaryEquilibrium(gamma=config.gamma, lambda_k=config.lambda_k)
    if config.generators > 1:
        return MultiGeneratorBCE()
    return BCEObjective(generator_loss=config.generator_loss, label_smoothing=config.label_smoothing)
