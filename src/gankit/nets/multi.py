"""Several generators behind one interface (MAD-GAN, Ghosh et al. 2018).

`MultiGenerator` looks like any generator to the loop and to sampling: `(z, y) -> x`. Row r of
a batch is made by generator r mod N, so every batch draws from the generators evenly and
whoever needs to know which generator made a sample (the discriminator's targets, the pictures)
computes it from the row index with `generator_of_rows`.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def generator_of_rows(n: int, generators: int, device=None) -> torch.Tensor:
    """The index of the generator that makes each of n rows of a batch."""
    return torch.arange(n, device=device) % generators


class MultiGenerator(nn.Module):
    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if len(members) < 2:
            raise ValueError("a MultiGenerator needs at least two generators")
        self.members = nn.ModuleList(members)
        first = members[0]
        self.latent_dim, self.num_classes = first.latent_dim, first.num_classes
        self.sample_shape = first.sample_shape

    @property
    def generators(self) -> int:
        return len(self.members)

    def forward(self, z, y=None):
        count = len(self.members)
        parts = [member(z[i::count], None if y is None else y[i::count])
                 for i, member in enumerate(self.members)]
        out = parts[0].new_empty((z.shape[0],) + tuple(parts[0].shape[1:]))
        for i, part in enumerate(parts):
            out[i::count] = part
        return out
