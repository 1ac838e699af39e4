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
# The fewest rows `Dataset.split` leaves on each side. Two to train: with one row the
# standardiser has no spread (its std falls back to 1) and the "distribution" is a single point,
# so the GAN only memorises it. One held out: the judge and `gankit eval` measure against it.
MIN_TRAIN_ROWS = 2
MIN_HELD_OUT_ROWS = 1


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
        """A seeded (train, held-out) split, stratified by label when there are labels.

        Every class with two or more rows gives at least one to each side; a class with one row
        stays in training (held out, the model could never learn it). Refuses a split leaving
        fewer than MIN_TRAIN_ROWS to train on or MIN_HELD_OUT_ROWS to measure against.
        """
        if not 0.0 < held_out < 1.0:
            raise GankitError(f"held-out fraction must be in (0, 1), got {held_out}")
        rng = np.random.default_rng(seed)
        n = len(self)
        if self.y is None:
            perm = rng.permutation(n)
            k = max(1, int(round(n * held_out)))
            train_idx, held_idx = perm[k:], perm[:k]
        else:
            train_parts, held_parts = [], []
            labels = self.y.numpy()
            for c in np.unique(labels):
                idx = rng.permutation(np.flatnonzero(labels == c))
                k = min(max(int(round(len(idx) * held_out)), 1), len(idx) - 1)
                held_parts.append(idx[:k])
                train_parts.append(idx[k:])
            train_idx = np.sort(np.concatenate(train_parts))
            held_idx = np.sort(np.concatenate(held_parts))
        if len(train_idx) < MIN_TRAIN_ROWS or len(held_idx) < MIN_HELD_OUT_ROWS:
            raise GankitError(self._too_small(held_out, len(train_idx), len(held_idx)))
        return self.subset(train_idx), self.subset(held_idx)

    def _too_small(self, held_out: float, n_train: int, n_held: int) -> str:
        n = len(self)
        if n < MIN_TRAIN_ROWS + MIN_HELD_OUT_ROWS:
            fix = f"use at least {MIN_TRAIN_ROWS + MIN_HELD_OUT_ROWS} rows"
        elif n_train < MIN_TRAIN_ROWS:
            fix = "use more data or a smaller --held-out"
        else:  # only labelled data with every class a single row (kept for training) gets here
            fix = "use more data: a class needs 2 rows to have one held out"
        return (f"data {self.name!r} is too small to split: {n} rows, holding out "
                f"{held_out * 100:.3g}% leaves {n_train} to train on and {n_held} held out, but "
                f"training needs at least {MIN_TRAIN_ROWS} and evaluation {MIN_HELD_OUT_ROWS}; "
                f"{fix}")

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
