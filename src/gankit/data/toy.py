"""Built-in 2-D Gaussian mixtures: ring8, grid25 (and gridN for any square N) and blobsK.

ring8 and grid25 follow the standard definitions of VEEGAN and PacGAN (Lin et al. 2018):
  ring8  - 8 modes at (cos 2*pi*i/8, sin 2*pi*i/8), std 0.01;
  grid25 - 25 modes at {-4,-2,0,2,4}^2, std 0.05; gridN (N = s*s, e.g. grid100) is the same
           lattice, s x s points 2 apart, centred, same std: where models stop scaling.
blobsK generalises the reference material's layout (centres on a lattice of spacing 5, std 0.5):
for K <= 9 the centres are the material's own list, in its order ([0,0], the four corners
(+-5,+-5), then the four edge midpoints); beyond 9 the lattice is extended by the next lattice
points in order of distance from the origin, ties broken by angle, so 16 and 32 modes exist and
every K's layout contains the smaller ones. Each sample's label is the index of its mode.
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

from ..errors import GankitError
from .dataset import Dataset

TOY_NAMES = ("ring8", "grid25", "blobs4", "blobs8", "blobs16", "blobs32")
_MATERIAL_CENTRES = [[0, 0], [5, 5], [5, -5], [-5, 5], [-5, -5], [0, 5], [5, 0], [-5, 0], [0, -5]]
BLOBS_SPACING = 5.0
BLOBS_STD = 0.5


def ring_centres(k: int = 8, radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    return np.array([[x, y] for x in ticks for y in ticks], dtype=np.float64)


def blobs_centres(k: int) -> np.ndarray:
    if k < 1:
        raise GankitError(f"blobs needs at least one mode, got {k}")
    centres = [tuple(c) for c in _MATERIAL_CENTRES[:k]]
    if k > len(centres):
        reach = int(math.ceil(math.sqrt(k))) + 1
        lattice = [(i * 5, j * 5) for i in range(-reach, reach + 1) for j in range(-reach, reach + 1)]
        extra = sorted((p for p in lattice if p not in centres),
                       key=lambda p: (round(math.hypot(*p), 9), math.atan2(p[1], p[0]) % (2 * math.pi)))
        centres += extra[: k - len(centres)]
    return np.array(centres, dtype=np.float64) * (BLOBS_SPACING / 5.0)


def mixture_spec(name: str) -> tuple[np.ndarray, float]:
    """(centres, per-mode std) of a built-in mixture."""
    if name == "ring8":
        return ring_centres(8), 0.01
    grid = re.fullmatch(r"grid(\d+)", name)
    if grid:
        side = int(round(math.sqrt(int(grid.group(1)))))
        if side * side != int(grid.group(1)) or side < 2:
            raise GankitError(f"{name}: a grid mixture needs a square number of modes (grid25, "
                              "grid100, ...)")
        return grid_centres(side), 0.05
    match = re.fullmatch(r"blobs(\d+)", name)
    if match:
        return blobs_centres(int(match.group(1))), BLOBS_STD
    raise GankitError(f"unknown toy data {name!r}; built-in mixtures are {', '.join(TOY_NAMES)} "
                      "(blobsK for any K, gridN for any square N)")


def sample_mixture(centres: np.ndarray, std: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points drawn evenly from the modes (labels cycle through 0..K-1), shuffled."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(centres))
    points = centres[labels] + std * rng.standard_normal((n, centres.shape[1]))
    return points.astype(np.float32), labels.astype(np.int64)


def is_toy_name(name: str) -> bool:
    return name in TOY_NAMES or re.fullmatch(r"(blobs|grid)\d+", name) is not None


def load_toy(name: str, n: int = 10_000, seed: int = 0) -> Dataset:
    """A built-in mixture as a Dataset; `seed` fixes the points (held-out sets use another seed)."""
    centres, std = mixture_spec(name)
    points, labels = sample_mixture(centres, std, n, seed)
    return Dataset(x=torch.from_numpy(points), y=torch.from_numpy(labels), kind="points", name=name,
                   num_classes=len(centres), centers=centres, mode_std=std,
                   meta={"source": f"builtin:{name}", "data_seed": seed})
