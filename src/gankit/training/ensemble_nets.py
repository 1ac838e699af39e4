"""The networks of a vectorised ensemble: E members' MLP layers stacked into one module.

Every weight becomes an (E, out, in) tensor and every layer a batched matrix product
(`torch.baddbmm`); labels (learned embeddings or fixed one-hot vectors), minibatch
discrimination and PacGAN packing act within each member's batch. `EnsembleGenerator` and
`EnsembleDiscriminator` are built from the members' own `MLPGenerator` / `MLPDiscriminator`
(their exact initial weights) and copy the trained weights back with `copy_member_to`.
Training them is `gankit.training.ensemble`'s business.
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GankitError
from ..nets.layers import LabelConcat
from ..nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["EnsembleLinear", "EnsembleEmbedding", "EnsembleOneHot",
           "EnsembleMinibatchDiscrimination", "EnsembleGenerator", "EnsembleDiscriminator"]


class EnsembleLinear(nn.Module):
    """E independent linear layers: x (E, ..., in) -> (E, ..., out) by one batched product."""

    def __init__(self, members: int, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.members, self.in_features, self.out_features = members, in_features, out_features
        self.weight = nn.Parameter(torch.empty(members, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(members, out_features)) if bias else None
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        with torch.no_grad():              # nn.Linear's default initialisation, member by member
            for e in range(members):
                nn.init.kaiming_uniform_(self.weight[e], a=math.sqrt(5))
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    @classmethod
    def stack(cls, linears: Sequence[nn.Linear], columns: Sequence[torch.Tensor] | None = None,
              in_features: int | None = None) -> "EnsembleLinear":
        """Stack members' nn.Linear layers. `columns[e]` places member e's input columns inside a
        wider, zero-padded input of `in_features` columns (used for padded label embeddings)."""
        first = linears[0]
        width = in_features if in_features is not None else first.in_features
        layer = cls(len(linears), width, first.out_features, bias=first.bias is not None)
        with torch.no_grad():
            layer.weight.zero_()
            for e, lin in enumerate(linears):
                if lin.out_features != first.out_features or (columns is None and lin.in_features != width):
                    raise GankitError("ensemble members have linear layers of different shapes")
                if columns is None:
                    layer.weight[e].copy_(lin.weight)
                else:
                    layer.weight[e][:, columns[e]] = lin.weight.to(layer.weight.dtype)
                if layer.bias is not None:
                    layer.bias[e].copy_(lin.bias)
        return layer.to(device=first.weight.device, dtype=first.weight.dtype)

    def copy_member_to(self, e: int, lin: nn.Linear, columns: torch.Tensor | None = None) -> None:
        with torch.no_grad():
            lin.weight.copy_(self.weight[e] if columns is None else self.weight[e][:, columns])
            if self.bias is not None:
                lin.bias.copy_(self.bias[e])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(shape[0], -1, shape[-1])
        if self.bias is None:
            out = torch.bmm(flat, self.weight.transpose(1, 2))
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), flat, self.weight.transpose(1, 2))
        return out.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"members={self.members}, in_features={self.in_features}, out_features={self.out_features}"


class EnsembleEmbedding(nn.Module):
    """E label embeddings, zero-padded to (E, classes, dim); y (E, ...) -> (E, ..., dim).

    The lookup is `F.embedding` on the flattened table, the operation nn.Embedding uses."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)

    @classmethod
    def stack(cls, embeddings: Sequence[nn.Embedding]) -> "EnsembleEmbedding":
        classes = max(m.num_embeddings for m in embeddings)
        dim = max(m.embedding_dim for m in embeddings)
        w0 = embeddings[0].weight
        weight = torch.zeros(len(embeddings), classes, dim, device=w0.device, dtype=w0.dtype)
        with torch.no_grad():
            for e, m in enumerate(embeddings):
                weight[e, :m.num_embeddings, :m.embedding_dim] = m.weight
        return cls(weight)

    def copy_member_to(self, e: int, condition: LabelConcat) -> None:
        m = condition.embedding
        with torch.no_grad():
            m.weight.copy_(self.weight[e, :m.num_embeddings, :m.embedding_dim])

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return _lookup(self.weight, y)


class EnsembleOneHot(nn.Module):
    """E members' fixed one-hot labels (`--label-input onehot`): a zero-padded identity table
    (E, classes, classes), looked up as `EnsembleEmbedding` does, with no weights to train."""

    def __init__(self, classes: Sequence[int]):
        super().__init__()
        table = torch.zeros(len(classes), max(classes), max(classes))
        for e, k in enumerate(classes):
            table[e, :k, :k] = torch.eye(k)
        self.register_buffer("weight", table)

    def copy_member_to(self, e: int, condition: LabelConcat) -> None:
        """Nothing to copy: one-hot labels have no weights."""

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return _lookup(self.weight, y)


def _lookup(table: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Rows of each member's own table: table (E, classes, dim), y (E, ...) -> (E, ..., dim)."""
    members, classes, dim = table.shape
    offset = torch.arange(members, device=y.device) * classes
    offset = offset.reshape(members, *([1] * (y.dim() - 1)))
    return F.embedding(y + offset, table.reshape(members * classes, dim))


def stack_labels(conditions: Sequence[LabelConcat]) -> nn.Module:
    """The members' label inputs as one module: learned embeddings or fixed one-hot vectors
    (every member the same kind)."""
    if len({c.onehot for c in conditions}) != 1:
        raise GankitError("ensemble members mix one-hot labels and learned label embeddings")
    if conditions[0].onehot:
        return EnsembleOneHot([c.num_classes for c in conditions])
    return EnsembleEmbedding.stack([c.embedding for c in conditions])


class EnsembleMinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016) for E members, within each batch:
    h (E, G, B, in) -> (E, G, B, in + kernels), where G counts separate batches."""

    def __init__(self, layers: Sequence[nn.Module]):
        super().__init__()
        first = layers[0]
        self.out_features, self.kernel_dim = first.out_features, first.kernel_dim
        for layer in layers:
            if (layer.out_features, layer.kernel_dim, tuple(layer.T.shape)) != \
                    (self.out_features, self.kernel_dim, tuple(first.T.shape)):
                raise GankitError("ensemble members have different minibatch-discrimination layers")
        self.T = nn.Parameter(torch.stack([layer.T.detach().clone() for layer in layers]))

    def copy_member_to(self, e: int, layer: nn.Module) -> None:
        with torch.no_grad():
            layer.T.copy_(self.T[e])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        members, groups, batch, width = h.shape
        m = torch.bmm(h.reshape(members, groups * batch, width), self.T)
        m = m.view(members, groups, batch, self.out_features, self.kernel_dim)
        # [e, g, i, j] = m[j] - m[i], summed over j: the order MinibatchDiscrimination uses
        l1 = (m.unsqueeze(2) - m.unsqueeze(3)).abs().sum(dim=5)        # (E, G, B, B, out)
        closeness = torch.exp(-l1).sum(dim=3) - 1.0                    # minus self-similarity
        return torch.cat([h, closeness], dim=3)


def _stack_sequential(bodies: Sequence[nn.Sequential], columns=None, in_features=None):
    """nn.Sequential of Linear/activation layers -> list of ensemble layers (first Linear may be
    padded). Parameter-free layers (activations) must agree and are shared."""
    lengths = {len(b) for b in bodies}
    if len(lengths) != 1:
        raise GankitError("ensemble members have networks of different depths")
    layers, first_linear = [], True
    for i in range(lengths.pop()):
        column = [b[i] for b in bodies]
        if isinstance(column[0], nn.Linear):
            if not all(isinstance(m, nn.Linear) for m in column):
                raise GankitError("ensemble members have different layer types")
            layers.append(EnsembleLinear.stack(column, columns if first_linear else None,
                                               in_features if first_linear else None))
            first_linear = False
        else:
            if any(list(m.parameters()) or repr(m) != repr(column[0]) for m in column):
                raise GankitError(f"layer {column[0]!r} cannot be shared across ensemble members")
            layers.append(copy.deepcopy(column[0]))
    return nn.ModuleList(layers)


def _run(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        x = layer(x)
    return x


def _copy_body_to(e: int, stacked_body: nn.ModuleList, body: nn.Sequential, columns) -> None:
    """Member e's weights of a stacked body into its own nn.Linear layers; `columns[e]` picks the
    member's input columns of the first layer out of a padded one (conditional members)."""
    linears = [m for m in body if isinstance(m, nn.Linear)]
    stacked = [m for m in stacked_body if isinstance(m, EnsembleLinear)]
    for i, (mine, theirs) in enumerate(zip(stacked, linears)):
        mine.copy_member_to(e, theirs, columns[e] if (i == 0 and columns) else None)


class EnsembleGenerator(nn.Module):
    """E `MLPGenerator`s as one module: z (E, B, latent), y (E, B) -> samples (E, B, features)."""

    def __init__(self, generators: Sequence[MLPGenerator]):
        super().__init__()
        g0 = generators[0]
        for g in generators:
            if not isinstance(g, MLPGenerator):
                raise GankitError("vectorised training supports the MLP networks only "
                                  f"(got {type(g).__name__}); train one by one instead")
            if g.latent_dim != g0.latent_dim or g.sample_shape != g0.sample_shape or \
                    (g.condition is None) != (g0.condition is None) or repr(g.output) != repr(g0.output):
                raise GankitError("ensemble members have generators of different shapes")
        self.members, self.latent_dim, self.sample_shape = len(generators), g0.latent_dim, g0.sample_shape
        self.conditional = g0.condition is not None
        self._columns = None
        width = None
        if self.conditional:
            self.embedding = stack_labels([g.condition for g in generators])
            dim = self.embedding.weight.shape[2]
            self._columns = [torch.cat([torch.arange(g0.latent_dim),
                                        g0.latent_dim + torch.arange(g.condition.embed_dim)])
                             for g in generators]
            width = g0.latent_dim + dim
        else:
            self.embedding = None
        self.body = _stack_sequential([g.body for g in generators], self._columns, width)
        self.head = EnsembleLinear.stack([g.head for g in generators])
        self.output = copy.deepcopy(g0.output)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embedding is not None:
            z = torch.cat([z, self.embedding(y)], dim=-1)
        return self.output(self.head(_run(self.body, z)))

    def copy_member_to(self, e: int, g: MLPGenerator) -> None:
        if self.embedding is not None:
            self.embedding.copy_member_to(e, g.condition)
        _copy_body_to(e, self.body, g.body, self._columns)
        self.head.copy_member_to(e, g.head)


class EnsembleDiscriminator(nn.Module):
    """E `MLPDiscriminator`s as one module: x (E, G, B, features), y (E, G, B) -> scores
    (E, G, B/pac, 1). G separate batches (real, fake, ...) pass together but are packed and
    compared (minibatch discrimination) only within themselves, as separate calls would be."""

    def __init__(self, discriminators: Sequence[MLPDiscriminator], features: int):
        super().__init__()
        d0 = discriminators[0]
        for d in discriminators:
            if not isinstance(d, MLPDiscriminator):
                raise GankitError("vectorised training supports the MLP networks only "
                                  f"(got {type(d).__name__}); train one by one instead")
            if d.pac != d0.pac or (d.condition is None) != (d0.condition is None) or \
                    (d.minibatch is None) != (d0.minibatch is None):
                raise GankitError("ensemble members have discriminators of different kinds")
        self.members, self.pac, self.features = len(discriminators), d0.pac, features
        self.conditional = d0.condition is not None
        self._columns = None
        width = None
        if self.conditional:
            self.embedding = stack_labels([d.condition for d in discriminators])
            block = features + self.embedding.weight.shape[2]
            self._columns = [torch.cat([p * block + torch.cat([torch.arange(features),
                                                                features + torch.arange(d.condition.embed_dim)])
                                        for p in range(self.pac)]) for d in discriminators]
            width = block * self.pac
        else:
            self.embedding = None
        self.body = _stack_sequential([d.body for d in discriminators], self._columns, width)
        self.minibatch = (EnsembleMinibatchDiscrimination([d.minibatch for d in discriminators])
                          if d0.minibatch is not None else None)
        self.head = EnsembleLinear.stack([d.head for d in discriminators])

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embedding is not None:
            x = torch.cat([x, self.embedding(y)], dim=-1)
        members, groups, batch, width = x.shape
        if self.pac > 1:
            if batch % self.pac:
                raise GankitError(f"batch size {batch} is not a multiple of pac={self.pac}")
            x = x.reshape(members, groups, batch // self.pac, self.pac * width)
        h = _run(self.body, x)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.head(h)

    def copy_member_to(self, e: int, d: MLPDiscriminator) -> None:
        if self.embedding is not None:
            self.embedding.copy_member_to(e, d.condition)
        _copy_body_to(e, self.body, d.body, self._columns)
        if self.minibatch is not None:
            self.minibatch.copy_member_to(e, d.minibatch)
        self.head.copy_member_to(e, d.head)
