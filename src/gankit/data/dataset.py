"""The in-memory data set every trainer, metric and experiment consumes.

A `Dataset` is the end of the "data -> tensors" step: float32 samples, optional integer labels
0..K-1, and what is known about where they came from (name, fingerprint, toy-mixture centres).
Loaders for each kind of source live beside this file and all return one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..errors import GankitError, check_finite

KINDS = ("points", "images", "table")


@dataclass
class Dataset:
    """Samples as one tensor, with labels and provenance.

    x: float32, shape (N, D) for points and tables, (N, C, H, W) in [-1, 1] for images.
    y: int64 labels in 0..num_classes-1, or None.
    centers/mode_std: the mixture's means and per-mode std for toy data (mode metrics use them).
    meta: anything else a loader wants recorded in the run's config (source path, image size...).
    """

    x: torch.Tensor
    y: torch.Tensor | None
    kind: str
    name: str
    num_classes: int = 0
    class_names: list[str] | None = None
    centers: np.ndarray | None = None
    mode_std: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise GankitError(f"unknown data kind {self.kind!r}; expected one of {KINDS}")
        if not isinstance(self.x, torch.Tensor):
            self.x = torch.as_tensor(np.asarray(self.x), dtype=torch.float32)
        self.x = self.x.float()
        if self.x.ndim < 2 or self.x.shape[0] == 0:
            raise GankitError(
                f"data {self.name!r} has shape {tuple(self.x.shape)}; expected (N, features) or "
                "(N, C, H, W) with N >= 1")
        check_finite(self.x, f"data {self.name!r}")
        if self.y is not None:
            self.y = validate_labels(self.y, len(self.x), self.name, self.num_classes)
            if self.num_classes == 0:
                self.num_classes = int(self.y.max()) + 1

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def fingerprint(self) -> str:
        """sha256 of samples and labels: names the data in configs, caches and reports."""
        h = hashlib.sha256()
        h.update(str(tuple(self.x.shape)).encode())
        h.update(self.x.detach().cpu().contiguous().numpy().tobytes())
        if self.y is not None:
            h.update(self.y.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def subset(self, index) -> "Dataset":
        index = torch.as_tensor(index, dtype=torch.long)
        return replace(self, x=self.x[index], y=None if self.y is None else self.y[index])

    def split(self, held_out: float, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """A seeded (train, held-out) split, stratified by label when there are labels."""
        if not 0.0 < held_out < 1.0:
            raise GankitError(f"held-out fraction must be in (0, 1), got {held_out}")
        rng = np.random.default_rng(seed)
        n = len(self)
        if self.y is None:
            perm = rng.permutation(n)
            k = max(1, int(round(n * held_out)))
            return self.subset(perm[k:]), self.subset(perm[:k])
        train_idx, held_idx = [], []
        labels = self.y.numpy()
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            k = int(round(len(idx) * held_out))
            if len(idx) > 1:
                k = min(max(k, 1), len(idx) - 1)
            held_idx.append(idx[:k])
            train_idx.append(idx[k:])
        return (self.subset(np.sort(np.concatenate(train_idx))),
                self.subset(np.sort(np.concatenate(held_idx))))

    def describe(self) -> dict[str, Any]:
        """What a run's config records about its data."""
        out = {"name": self.name, "kind": self.kind, "n": len(self),
               "sample_shape": list(self.sample_shape), "num_classes": self.num_classes,
               "fingerprint": self.fingerprint}
        if self.class_names is not None:
            out["class_names"] = [str(c) for c in self.class_names]
        out.update(self.meta)
        return out


def validate_labels(y, n: int, name: str, num_classes: int = 0) -> torch.Tensor:
    """Labels must be integers 0..K-1, one per sample (every class present unless K is given)."""
    y_np = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if y_np.ndim != 1 or len(y_np) != n:
        raise GankitError(
            f"labels of {name!r} have shape {y_np.shape}; expected one label per sample, shape ({n},)")
    if y_np.dtype.kind == "f":
        if not np.all(np.isfinite(y_np)):
            raise GankitError(f"labels of {name!r} contain NaN or infinite values")
        if not np.all(y_np == np.round(y_np)):
            raise GankitError(f"labels of {name!r} are not integers; map them to 0..K-1 first")
    elif y_np.dtype.kind not in "iub":
        raise GankitError(
            f"labels of {name!r} have dtype {y_np.dtype}; expected integers 0..K-1 "
            "(encode class names as integers first)")
    y_int = y_np.astype(np.int64)
    present = np.unique(y_int)
    if num_classes:
        if present.min() < 0 or present.max() >= num_classes:
            raise GankitError(
                f"labels of {name!r} must lie in 0..{num_classes - 1}; found {present.tolist()[:20]}")
    elif present.min() < 0 or present.max() != len(present) - 1:
        raise GankitError(
            f"labels of {name!r} must be 0..K-1 with every class present; found {present.tolist()[:20]}")
    return torch.as_tensor(y_int)
