"""WGAN-GP (Gulrajani et al. 2017): a critic estimating the Wasserstein-1 distance, kept
1-Lipschitz by a gradient penalty on interpolates of real and generated samples."""
from __future__ import annotations

import contextlib

import torch

from ..errors import GankitError
from .base import ExperimentRow, LossContext, Variant, context, mean_all


def penalty_weights(real: torch.Tensor, rng: torch.Generator | None = None,
                    shard: tuple[int, int] | None = None) -> torch.Tensor:
    """Interpolation weights, one per sample, drawn for the global batch and sliced to this
    rank's rows (so W ranks use exactly the weights of one process with the global batch)."""
    world = 1 if shard is None else int(shard[1])
    shape = (real.shape[0] * world,) + (1,) * (real.dim() - 1)
    autocast = torch.is_autocast_enabled(real.device.type)
    dtype = torch.float32 if autocast else real.dtype
    alpha = torch.rand(shape, generator=rng, device=real.device, dtype=dtype)
    if world > 1:
        rank = int(shard[0])
        alpha = alpha[rank * real.shape[0]:(rank + 1) * real.shape[0]]
    return alpha


def gradient_penalty(critic, real, fake, y=None, rng: torch.Generator | None = None,
                     target: float = 1.0, shard: tuple[int, int] | None = None, *,
                     weights: torch.Tensor | None = None, reduce=mean_all) -> torch.Tensor:
    """Mean of (||grad_x D(x_hat)|| - target)^2 on random interpolates x_hat of real and fake.

    The norm is taken per discriminator output, so a PacGAN discriminator, which scores pac
    samples at once, is penalised on the gradient over its whole packed input (as CTGAN does).
    shard=(rank, world_size): see `penalty_weights`. weights: interpolation weights drawn by the
    caller (ensembles: per member); reduce: the batch mean. Under autocast the penalty (its
    forward and its input gradient) is computed in float32.
    """
    alpha = weights if weights is not None else penalty_weights(real, rng, shard)
    autocast = torch.is_autocast_enabled(real.device.type)
    if autocast:
        real, fake = real.float(), fake.float()
    with torch.autocast(real.device.type, enabled=False) if autocast else contextlib.nullcontext():
        interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        scores = critic(interpolates, y).float() if autocast else critic(interpolates, y)
        (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norms = grads.reshape(*scores.shape[:-1], -1).norm(2, dim=-1)
        return reduce((norms - target) ** 2)


# The conditional points recipe, the default of conditional WGAN-GP on points
# (docs/mode_collapse_recipe.md, measured in docs/benchmarks.md, "Conditional points recipe"):
# fixed one-hot labels so the critic is not planar inside a mode, a zero-centred penalty, a lower
# learning rate and the generator's weight average.
POINTS_RECIPE = {"label_input": "onehot", "gp_center": 0.0, "lr_g": 3e-4, "lr_d": 3e-4,
                 "ema": 0.99}
# Its budget without class scaling (`--no-class-scaling`), over which the learning rate decays
# to 0. Measured on blobs4-64 (3 seeds; the sweep in docs/mode_collapse_recipe.md): 1,000 steps
# leave 32 and 64 modes over-spread (80% and 62% high quality), 2,000 still 64 (92%); at
# 4,000-8,000 the classes shrink again (32 and 64 modes: spread 0.83-0.86, then 0.70). At 3,000
# every mixture has every mode at >= 97% high quality and spread 0.86-0.95.
POINTS_RECIPE_STEPS = 3000
# The recipe's budget when each class (`--class-scaling`, on by default) or k-means cluster
# (`--clusters`) is learnt at its own unit scale. Measured (docs/benchmarks.md, "Cluster
# conditioning" and "Conditional WGAN-GP's default on points"; 3 seeds on ring8, grid25,
# blobs8-64, grid100): 500, 1,000 and 3,000 steps all put >= 98.4% of samples within 3 std of a
# mode, but 500 left blobs64's classes narrow (spread down to 0.86); 1,000 fits them
# (0.97-1.01) at a third of 3,000's cost.
SCALED_POINTS_STEPS = 1000
# The conditional points settings before the recipe (the material's learned label embedding,
# the paper's penalty centre, the unconditional learning rate, no weight average): the
# experiment's "cwgan-gp-material" row, to show what the recipe fixes.
MATERIAL_POINTS = {"label_input": "embedding", "gp_center": 1.0, "lr_g": 1e-3, "lr_d": 1e-3,
                   "ema": 0.0, "class_scaling": False}


class WGANGP(Variant):
    name = "wgan-gp"
    label = "WGAN-GP"
    critic_passes = 3                  # real, fake and the penalty's interpolates
    # no BatchNorm in the critic: batch statistics would couple the samples of the per-sample
    # penalty; GroupNorm with one group is a per-sample layer norm
    conv_norm = "layer"
    # the conditional critic passes 97% judged accuracy on digits after 350-450 steps
    # (docs/benchmarks.md, "Figures behind the defaults")
    image_steps = 500
    own_settings = ("gp_lambda", "gp_center")

    def __init__(self, gp_lambda: float = 10.0, gp_center: float = 1.0):
        if not gp_lambda >= 0:
            raise GankitError(f"gradient penalty weight must be >= 0, got {gp_lambda}")
        if isinstance(gp_center, bool) or not 0 <= gp_center < float("inf"):
            raise GankitError(f"gp-center is the gradient norm the penalty pulls towards, a finite "
                              f"number >= 0 (1: Gulrajani et al.; 0: zero-centred), got {gp_center}")
        self.gp_lambda = float(gp_lambda)
        # 1 is the paper's two-sided penalty. 0 penalises any slope between real and generated
        # points: on conditional points it keeps samples spread inside each mode
        # (docs/mode_collapse_recipe.md)
        self.gp_center = float(gp_center)

    @classmethod
    def defaults(cls, net):
        if net == "mlp":
            # Measured on ring8/grid25 (docs/benchmarks.md): on standardised points a larger
            # step with linear decay, a softer penalty and 2 critic steps reach the modes' 3-std
            # discs far sooner than the paper's recipe.
            return {"lr_g": 1e-3, "lr_d": 1e-3, "betas_g": (0.5, 0.9), "betas_d": (0.5, 0.9),
                    "n_critic": 2, "gp_lambda": 1.0, "gp_center": 1.0}
        if net == "conv":
            # Measured on digits 32x32 (docs/benchmarks.md): with a layer-norm critic and a
            # projection discriminator, Adam(5e-4, betas (0, 0.9)) and 2 critic steps reach 97%
            # conditional accuracy several times sooner on a CPU than the paper's recipe.
            return {"lr_g": 5e-4, "lr_d": 5e-4, "betas_g": (0.0, 0.9), "betas_d": (0.0, 0.9),
                    "n_critic": 2, "gp_lambda": 10.0, "gp_center": 1.0}
        # Gulrajani et al. 2017: Adam(1e-4, betas (0.5, 0.9)), n_critic 5, lambda 10
        return {"lr_g": 1e-4, "lr_d": 1e-4, "betas_g": (0.5, 0.9), "betas_d": (0.5, 0.9),
                "n_critic": 5, "gp_lambda": 10.0, "gp_center": 1.0}

    @classmethod
    def conditional_defaults(cls, net):
        # the points recipe: with the material's learned embedding, whole classes wander beside
        # their modes and shrink to a third of their spread; with one scale for all classes,
        # the classes of 8-64 modes come out narrow on some seeds (docs/mode_collapse_recipe.md).
        # Class scaling brings `scaled_defaults`' budget.
        if net != "mlp":
            return {}
        return {**POINTS_RECIPE, "class_scaling": True, "steps": POINTS_RECIPE_STEPS}

    @classmethod
    def scaled_defaults(cls, net):
        return {**POINTS_RECIPE, "steps": SCALED_POINTS_STEPS} if net == "mlp" else {}

    @classmethod
    def from_config(cls, config):
        return cls(config.gp_lambda, config.gp_center)

    @classmethod
    def ensemble_settings(cls, config):
        return (config.gp_lambda, config.gp_center)

    @classmethod
    def experiment_rows(cls):
        return {"wgan-gp": ExperimentRow("WGAN-GP"),
                # conditioned on each point's mode label, each class at its own scale
                "cwgan-gp": ExperimentRow("conditional WGAN-GP", {"conditional": True},
                                          steps=SCALED_POINTS_STEPS),
                "cwgan-gp-unscaled": ExperimentRow("conditional WGAN-GP, one scale for all classes",
                                                   {"conditional": True, "class_scaling": False},
                                                   steps=POINTS_RECIPE_STEPS),
                "cwgan-gp-material": ExperimentRow("conditional WGAN-GP, learned embedding",
                                                   {"conditional": True, **MATERIAL_POINTS}),
                # unconditional to its user: conditioned on 100 k-means clusters of its data
                "wgan-gp-clusters": ExperimentRow("WGAN-GP, cluster-conditioned", {"clusters": 100},
                                                  owns=("clusters",), steps=SCALED_POINTS_STEPS)}

    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None):
        ctx = context(ctx)
        real_scores = ctx.reduce(critic(real, y_real))
        fake_scores = ctx.reduce(critic(fake, y_fake))
        if self.gp_lambda:
            weights = ctx.penalty_weights(real) if ctx.penalty_weights is not None else None
            penalty = gradient_penalty(ctx.penalty_critic or critic, real, fake, y_real, ctx.rng,
                                       target=self.gp_center, shard=ctx.shard, weights=weights,
                                       reduce=ctx.reduce)
        else:
            penalty = torch.zeros_like(real_scores)
        loss = fake_scores - real_scores + self.gp_lambda * penalty
        return loss, {"d_loss": loss.detach(), "wasserstein": (real_scores - fake_scores).detach(),
                      "gradient_penalty": penalty.detach()}

    def generator_loss(self, critic, fake, y=None, ctx: LossContext | None = None):
        loss = -context(ctx).reduce(critic(fake, y))
        return loss, {"g_loss": loss.detach()}
