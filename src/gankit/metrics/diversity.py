"""Diversity: mean pairwise Euclidean distance among generated samples, against the same among real.

A collapsed generator produces near-identical samples, so its mean pairwise distance falls well
below that of real data; `ratio` = fake / real is about 1 for a generator as varied as the data.
Pairs are distinct (i != j); all of them are used when there are at most `n_pairs`, otherwise
`n_pairs` are drawn at random, so the cost never grows as n^2.
"""
from __future__ import annotations

import numpy as np

from ._arrays import as_2d_float64, check_positive_int, same_width


def mean_pairwise_distance(x: np.ndarray, n_pairs: int, rng: np.random.Generator) -> float:
    n = x.shape[0]
    total_pairs = n * (n - 1) // 2
    if total_pairs <= n_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        i = rng.integers(0, n, size=n_pairs)
        # An offset in 1..n-1 makes j uniform over the other n-1 samples and never equal to i.
        j = (i + rng.integers(1, n, size=n_pairs)) % n
    total = 0.0
    chunk = max(1, (16 << 20) // (8 * x.shape[1]))  # about 16 MiB of differences at a time
    for s in range(0, len(i), chunk):
        diff = x[i[s:s + chunk]] - x[j[s:s + chunk]]
        total += float(np.sqrt((diff * diff).sum(axis=1)).sum())
    return total / len(i)


def diversity(real, fake, n_pairs: int = 10_000, random_state=0) -> dict:
    """{"fake", "real", "ratio"}: mean pairwise distances within each set and fake / real.

    `ratio` is NaN when every real sample is identical (no spread to compare with).
    """
    x = as_2d_float64(real, "real", min_rows=2)
    y = as_2d_float64(fake, "fake", min_rows=2)
    same_width(x, y)
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    rng = np.random.default_rng(random_state)
    d_real = mean_pairwise_distance(x, n_pairs, rng)
    d_fake = mean_pairwise_distance(y, n_pairs, rng)
    return {"fake": d_fake, "real": d_real, "ratio": d_fake / d_real if d_real > 0 else float("nan")}
