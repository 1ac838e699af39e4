"""The generator for tables: its output layer and network.

`TabularOutput` turns the generator's raw output into the layout `TabularEncoder` writes: tanh on
"tanh" spans (mode-specific alphas, min-max columns), identity on "identity" spans (quantile
normals), and Gumbel-softmax on "softmax" spans (one-hot modes and categories), as CTGAN's
`_apply_activate` does. `build_tabular_generator` builds the network around it with the
interface every gankit generator has: `forward(z, y=None) -> x`, `latent_dim`, `num_classes`,
`sample_shape`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from ..errors import GankitError
from .layers import LabelConcat

ACTIVATIONS = ("tanh", "identity", "softmax")


def _check_output_info(output_info: Iterable) -> list[tuple[int, int, str]]:
    spans, expected = [], 0
    for span in output_info:
        try:
            start, width, activation = span
        except (TypeError, ValueError):
            raise GankitError(f"output_info entries are (start, width, activation); got {span!r}") from None
        start, width = int(start), int(width)
        if activation not in ACTIVATIONS:
            raise GankitError(f"unknown activation {activation!r} in output_info; "
                              f"expected one of {ACTIVATIONS}")
        if start != expected or width < 1:
            raise GankitError(f"output_info span {span!r} does not follow the previous one (which "
                              f"ended at {expected}); pass the encoder's output_info_ unchanged")
        spans.append((start, width, activation))
        expected = start + width
    if not spans:
        raise GankitError("output_info is empty; fit the TabularEncoder first")
    return spans


def gumbel_softmax(logits: torch.Tensor, tau: float = 1.0, hard: bool = False,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """`torch.nn.functional.gumbel_softmax` over the last dimension, with seedable noise.

    Same formula, softmax((logits + g) / tau) with g ~ Gumbel(0, 1), and the same straight-through
    estimator when `hard`; the Gumbel noise is drawn as -log(-log(u)) from `torch.rand` with
    `generator`, so that a seeded generator gives the same samples on every run. The noise is
    drawn on the generator's device and moved, so any generator works with any logits.
    """
    device = generator.device if generator is not None else logits.device
    u = torch.rand(logits.shape, generator=generator, device=device, dtype=logits.dtype)
    # torch.rand can return exactly 0, where log(-log(u)) is not finite
    g = -torch.log(-torch.log(u.clamp_min(torch.finfo(u.dtype).tiny))).to(logits.device)
    soft = torch.softmax((logits + g) / tau, dim=-1)
    if not hard:
        return soft
    index = soft.argmax(dim=-1, keepdim=True)
    onehot = torch.zeros_like(soft).scatter_(-1, index, 1.0)
    return onehot - soft.detach() + soft


class TabularOutput(nn.Module):
    """Per-span activations for the encoder's layout (`TabularEncoder.output_info_`).

    tau: Gumbel-softmax temperature (CTGAN's 0.2). hard: one-hot blocks in the forward pass
    with soft gradients (straight-through); soft blocks otherwise. The Gumbel noise is applied in
    eval mode too: by the Gumbel-max trick the decoder's argmax then *samples* each category with
    its softmax probability instead of always taking the likeliest one.
    `generator`: the torch.Generator the noise is drawn from (None: torch's global RNG); set it
    here or on the network (`TabularGenerator.noise_generator`).
    """

    def __init__(self, output_info: Sequence, tau: float = 0.2, hard: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        if not tau > 0:
            raise GankitError(f"tau must be positive, got {tau}")
        self.spans = _check_output_info(output_info)
        self.tau, self.hard, self.generator = float(tau), bool(hard), generator
        self.width = self.spans[-1][0] + self.spans[-1][1]

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        if raw.shape[-1] != self.width:
            raise GankitError(f"the generator's output has width {raw.shape[-1]}; the table's "
                              f"layout needs {self.width}")
        pieces = []
        for start, width, activation in self.spans:
            block = raw[:, start:start + width]
            if activation == "tanh":
                block = torch.tanh(block)
            elif activation == "softmax":
                block = gumbel_softmax(block, self.tau, self.hard, self.generator)
            pieces.append(block)
        return torch.cat(pieces, dim=1)

    def extra_repr(self) -> str:
        return f"width={self.width}, spans={len(self.spans)}, tau={self.tau}, hard={self.hard}"


class _Residual(nn.Module):
    """CTGAN's generator block: Linear -> BatchNorm -> ReLU, concatenated to its input."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)
        self.bn = nn.BatchNorm1d(out_features)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.act(self.bn(self.fc(x))), x], dim=1)


class TabularGenerator(nn.Module):
    """z (and labels) -> a row in the encoder's layout.

    arch "residual": CTGAN's stack, each block's output concatenated to its input, so the last
    layer sees the noise and every intermediate feature. arch "mlp": Linear-BatchNorm-ReLU
    layers. Conditioning concatenates a label embedding to z, as the other gankit generators do.
    """

    def __init__(self, latent_dim: int, output_info: Sequence, num_classes: int = 0,
                 hidden: Sequence[int] = (256, 256), tau: float = 0.2, hard: bool = False,
                 arch: str = "residual", embed_dim: int | None = None):
        super().__init__()
        if arch not in ("residual", "mlp"):
            raise GankitError(f"arch={arch!r} is not known; use 'residual' or 'mlp'")
        if latent_dim < 1:
            raise GankitError(f"latent_dim must be positive, got {latent_dim}")
        self.output = TabularOutput(output_info, tau=tau, hard=hard)
        self.latent_dim, self.num_classes, self.arch = int(latent_dim), int(num_classes), arch
        self.output_info = list(self.output.spans)
        self.sample_shape = (self.output.width,)
        self.condition = LabelConcat(num_classes, embed_dim) if num_classes else None
        width = latent_dim + (self.condition.embed_dim if num_classes else 0)
        layers = []
        for h in hidden:
            if arch == "residual":
                layers.append(_Residual(width, h))
                width += h
            else:
                layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU()]
                width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, self.output.width)

    @property
    def noise_generator(self) -> torch.Generator | None:
        """The torch.Generator for the Gumbel noise of the categorical outputs (None: global)."""
        return self.output.generator

    @noise_generator.setter
    def noise_generator(self, generator: torch.Generator | None) -> None:
        self.output.generator = generator

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.condition is not None:
            z = self.condition(z, y)
        return self.output(self.head(self.body(z)))


def build_tabular_generator(latent_dim: int, output_info: Sequence, num_classes: int = 0,
                            hidden: Sequence[int] = (256, 256), tau: float = 0.2,
                            hard: bool = False, arch: str = "residual",
                            generator: torch.Generator | None = None) -> TabularGenerator:
    """The table generator for an encoder's `output_info_`; `generator` seeds its Gumbel noise."""
    net = TabularGenerator(latent_dim, output_info, num_classes=num_classes, hidden=hidden,
                           tau=tau, hard=hard, arch=arch)
    net.noise_generator = generator
    return net
