"""The exponential moving average of the generator's weights (`--ema DECAY`).

After every generator step the average moves towards the generator:
`average = d_t * average + (1 - d_t) * generator`, with the warm-up decay
`d_t = min(DECAY, (1 + t) / (10 + t))` at step t, so the first steps do not tie the average to
the random initial weights (with 0.999 and no warm-up, a 1,000-step run's average still sat
near its initial weights and lost most modes; docs/mode_collapse_recipe.md). Buffers (BatchNorm
statistics) are copied, not averaged. The average is a submodule of the GANModule
(`generator_ema`), so checkpoints carry it and sampling, evaluation and the experiments use it.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def average_of(generator: nn.Module) -> nn.Module:
    """A frozen copy of `generator` to hold its weight average (equal to it at step 0)."""
    average = copy.deepcopy(generator)
    average.requires_grad_(False)
    return average


def ema_decay(decay: float, step: int) -> float:
    """The decay used after generator step `step` (1-based): DECAY with a warm-up."""
    return min(float(decay), (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_average(average: nn.Module, generator: nn.Module, decay: float, step: int) -> None:
    """Move `average` towards `generator` after generator step `step`."""
    weight = 1.0 - ema_decay(decay, step)
    for mean, current in zip(average.parameters(), generator.parameters()):
        mean.lerp_(current.detach(), weight)
    for mean, current in zip(average.buffers(), generator.buffers()):
        mean.copy_(current)
