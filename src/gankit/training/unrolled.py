"""Unrolled GAN (Metz et al. 2017): the generator's loss against a look-ahead discriminator.

Before each generator step, a functional copy of the discriminator takes K more steps of its own
optimizer on the current batch (real data and the generator's samples for this step's noise);
the generator's loss is taken against that copy, so the generator sees how the discriminator
would answer it and is discouraged from hopping between modes. The real discriminator keeps its
own, ordinary update: the copy is discarded after each generator step.

The look-ahead steps reproduce the discriminator's Adam (its moment estimates and step count,
learning rate, betas and eps) as differentiable tensor arithmetic. order="second" keeps the
graph of every look-ahead step, so the generator's gradient flows through the discriminator's
updates (second derivatives, `torch.autograd.grad(create_graph=True)` over the parameters of a
`torch.func.functional_call`); order="first" treats the look-ahead weights as constants, which
is cheaper and ignores how the generator moved them.

K = 0 is not special-cased here: the loop does not call this module at all, so it trains exactly
as without unrolling.

fuse_first (off by default): Metz et al.'s fusion, where the discriminator's own update (the one
the loop has just applied) serves as the first of the K look-ahead steps, so only K - 1 are
taken here. It saves a look-ahead step but computes something else: that first step was taken
on the critic's batches and noise rather than on this step's real batch and fakes, and in
second order nothing is differentiated through it (the loop's critic update does not keep the
generator's graph). docs/benchmarks.md, "Cost of the unrolled GAN's look-ahead", measures both.
"""
from __future__ import annotations

import dataclasses

import torch
from torch.func import functional_call

from ..gans import LossContext


def _flat_adam_state(optimizer: torch.optim.Optimizer, parameters: list[torch.nn.Parameter]):
    """(lr, betas, eps, exp_avg, exp_avg_sq, step) of the discriminator's Adam, as flat vectors."""
    group = optimizer.param_groups[0]
    averages, squares, steps = [], [], []
    for parameter in parameters:
        state = optimizer.state.get(parameter, {})
        if "exp_avg" in state:
            averages.append(state["exp_avg"].reshape(-1))
            squares.append(state["exp_avg_sq"].reshape(-1))
            steps.append(float(state["step"]))
        else:              # no discriminator step yet: Adam's initial state
            averages.append(torch.zeros_like(parameter).reshape(-1))
            squares.append(torch.zeros_like(parameter).reshape(-1))
            steps.append(0.0)
    if len(set(steps)) > 1:
        raise RuntimeError("the discriminator's Adam has parameters at different step counts")
    return (float(group["lr"]), tuple(group["betas"]), float(group["eps"]), torch.cat(averages),
            torch.cat(squares), steps[0] if steps else 0.0)


def unrolled_generator_loss(variant, discriminator: torch.nn.Module,
                            optimizer: torch.optim.Optimizer, fake: torch.Tensor, real: torch.Tensor,
                            labels: torch.Tensor | None, *, steps: int, order: str = "second",
                            ctx: LossContext | None = None, fuse_first: bool = False):
    """The generator's loss on `fake` against the discriminator advanced `steps` Adam steps.

    variant: whose losses (gankit.gans); fake: the generator's output for this step (with its
    graph); real: a data batch for the look-ahead steps; labels: the labels of both (conditional
    models). ctx: the loop's loss context (its stream draws the gradient penalty's interpolates).
    fuse_first: count the discriminator's own last update as the first look-ahead step (see the
    module's docstring); off by default.
    """
    if fuse_first:
        steps = max(0, int(steps) - 1)
    # the look-ahead critic is differentiated twice itself (no compiled stand-in for the penalty)
    ctx = dataclasses.replace(ctx, penalty_critic=None) if ctx is not None else None
    names, parameters = zip(*discriminator.named_parameters())
    shapes = [p.shape for p in parameters]
    sizes = [p.numel() for p in parameters]
    buffers = dict(discriminator.named_buffers())
    lr, (beta1, beta2), eps, m, v, step0 = _flat_adam_state(optimizer, list(parameters))
    second_order = order == "second"
    # all weights as one flat vector: the Adam arithmetic is a handful of operations on it, not
    # a handful per tensor, and each look-ahead step needs one gradient, not one per tensor
    flat = torch.cat([p.detach().reshape(-1) for p in parameters]).requires_grad_(True)
    look_ahead_fake = fake if second_order else fake.detach()

    def look_ahead(weights):
        current = {name: piece.view(shape) for name, piece, shape
                   in zip(names, torch.split(weights, sizes), shapes)}

        def score(x, y=None):
            return functional_call(discriminator, (current, buffers), (x, y))
        return score

    for k in range(steps):
        loss, _ = variant.discriminator_loss(look_ahead(flat), real, look_ahead_fake, labels,
                                             labels, ctx)
        (grad,) = torch.autograd.grad(loss, flat, create_graph=second_order)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        t = step0 + k + 1
        # the 1e-30 keeps sqrt differentiable where a gradient and its history are exactly 0
        update = (lr / (1 - beta1 ** t)) * m / ((v / (1 - beta2 ** t) + 1e-30).sqrt() + eps)
        flat = flat - update if second_order else (flat - update).detach().requires_grad_(True)
    return variant.generator_loss(look_ahead(flat), fake, labels, ctx)
