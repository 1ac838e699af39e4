"""Building blocks shared by the network families: label conditioning, minibatch
discrimination (Salimans et al. 2016), PacGAN packing (Lin et al. 2018), the energy of an
autoencoder discriminator (EBGAN, BEGAN) and data scaling."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import GankitError


class LabelConcat(nn.Module):
    """Appends the label to flat inputs: a learned embedding, as the reference material does,
    or (onehot=True) a fixed one-hot vector.

    The embedding starts N(0, 1) in K dimensions, a vector of norm ~sqrt(K) beside 2-D points
    whose modes span a few hundredths of the scaled plane; one-hot labels have norm 1 and no
    weights, which keeps conditional WGAN-GP on points from collapsing inside each mode
    (docs/mode_collapse_recipe.md)."""

    def __init__(self, num_classes: int, embed_dim: int | None = None, onehot: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.onehot = bool(onehot)
        if self.onehot:
            if embed_dim and embed_dim != num_classes:
                raise GankitError(f"one-hot labels are {num_classes} wide (the classes); drop "
                                  f"--embed-dim {embed_dim} or use --label-input embedding")
            self.embed_dim = num_classes
        else:
            self.embed_dim = embed_dim or num_classes
            self.embedding = nn.Embedding(num_classes, self.embed_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise GankitError("this network is conditional: pass labels y (0..K-1)")
        if self.onehot:
            return torch.cat([x, nn.functional.one_hot(y, self.num_classes).to(x.dtype)], dim=1)
        return torch.cat([x, self.embedding(y)], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Appends, to each sample's features, how close it is to the other samples of its batch.

    A collapsed generator produces batches whose samples are all close; this gives the
    discriminator the statistic it needs to notice. out_features kernels of kernel_dim each.
    Samples are compared within groups of `group_size` (Salimans et al. used minibatches of 100):
    the pairwise tensor grows with the square of the group, and the gradient penalty
    differentiates it twice, so comparing a 256-sample batch as a whole costs 4x more than in
    groups of 64 for the same signal.
    """

    def __init__(self, in_features: int, out_features: int = 16, kernel_dim: int = 8,
                 group_size: int = 64):
        super().__init__()
        self.out_features = out_features
        self.kernel_dim = kernel_dim
        self.group_size = group_size
        self.T = nn.Parameter(torch.randn(in_features, out_features * kernel_dim) * 0.1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        batch = h.shape[0]
        group = self.group_size if self.group_size and batch % self.group_size == 0 else batch
        m = (h @ self.T).view(batch // group, group, self.out_features, self.kernel_dim)
        l1 = (m.unsqueeze(1) - m.unsqueeze(2)).abs().sum(dim=4)         # (groups, g, g, out)
        closeness = torch.exp(-l1).sum(dim=2) - 1.0                      # minus self-similarity
        return torch.cat([h, closeness.reshape(batch, self.out_features)], dim=1)


class AutoencoderEnergy(nn.Module):
    """Base of the autoencoder discriminators (EBGAN, Zhao et al. 2017; BEGAN, Berthelot et al.
    2017): the score of a sample is its reconstruction error, its energy, shape (B, 1).

    energy "l2": mean squared error over the sample's features or pixels (EBGAN); "l1": mean
    absolute error (BEGAN). Low energy means "looks real". Subclasses define `encode(x, y)` and
    `decode(code, y)`. The buffer `equilibrium_k` is BEGAN's k_t (k_0 = 0): training state that
    checkpoints must carry, kept here because the discriminator is what they save.
    """

    pac = 1

    def __init__(self, energy: str = "l2"):
        super().__init__()
        if energy not in ("l1", "l2"):
            raise GankitError(f"unknown energy {energy!r}; choose l1 (BEGAN) or l2 (EBGAN)")
        self.energy_kind = energy
        self.register_buffer("equilibrium_k", torch.zeros(()))

    def energy_and_code(self, x, y=None):
        code = self.encode(x, y)
        error = self.decode(code, y) - x
        energy = error.square() if self.energy_kind == "l2" else error.abs()
        return energy.flatten(1).mean(dim=1, keepdim=True), code

    def forward(self, x, y=None):
        return self.energy_and_code(x, y)[0]


def pack(x: torch.Tensor, pac: int) -> torch.Tensor:
    """(B, D) -> (B/pac, pac*D): the PacGAN discriminator judges pac samples at once."""
    if pac == 1:
        return x
    if x.shape[0] % pac:
        raise GankitError(f"batch size {x.shape[0]} is not a multiple of pac={pac}; "
                          "choose a batch size divisible by the packing degree")
    return x.reshape(x.shape[0] // pac, pac * x.shape[1])


class Standardizer(nn.Module):
    """Per-feature mean and std of the training data, kept with the model so that sampling
    returns data in its own units while training sees unit-scale inputs."""

    def __init__(self, num_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> "Standardizer":
        self.mean.copy_(x.mean(dim=0))
        self.std.copy_(x.std(dim=0).clamp_min(1e-8) if len(x) > 1 else torch.ones_like(self.std))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean
