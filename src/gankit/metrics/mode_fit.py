"""How well each captured mode of a toy mixture is reproduced: its spread and its position.

The mode metrics (modes.py) count modes and high-quality samples, so a generator that puts every
sample of a mode on one point scores perfectly there. `mode_fit` looks inside the modes: each
generated sample goes to its nearest centre when it lies within 3 std of it (the high-quality
window of PacGAN and VEEGAN), and for every mode with at least `min_samples` such samples it
measures

- spread: the standard deviation of the mode's samples per axis, divided by that of the true
  mode seen through the same window (a Gaussian cut at 3 std is narrower than the Gaussian: by
  sqrt(F(9; d+2) / F(9; d)) with F the chi-square CDF, 0.974 per axis in 2-D), so a perfect
  generator scores 1 and a collapsed one 0;
- offset: the distance from the centre to the mean of the mode's samples, in units of the true
  std (0 for a perfect generator; the window pulls a shifted mode back a little: a shift of
  1 std reads 0.92).

Each is reported as the mean over measured modes and the worst mode (spread: the axis ratio
farthest from 1 on a log scale; offset: the largest), with every mode's numbers alongside.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

from ._arrays import as_2d_float64, check_positive_int, same_width
from .modes import HQ_STDS, mode_stds, nearest_centre


def window_std_factor(dims: int) -> float:
    """Per-axis std of a standard Gaussian in `dims` dimensions kept only within HQ_STDS of its mean."""
    cut = HQ_STDS ** 2
    return math.sqrt(chi2.cdf(cut, dims + 2) / chi2.cdf(cut, dims))


def _worst_spread(spreads: dict[int, np.ndarray]) -> tuple[float, int]:
    """The per-axis ratio farthest from 1 in log terms (0, total collapse, is the farthest)."""
    best = (None, -1.0, -1)
    for mode, ratios in spreads.items():
        for r in ratios:
            distance = math.inf if r <= 0 else abs(math.log(r))
            if distance > best[1]:
                best = (float(r), distance, mode)
    return best[0], best[2]


def mode_fit(samples, centers, std, min_samples: int = 2) -> dict:
    """Spread ratio and mean offset of every captured mode of `samples` (n, d) around mixture
    `centers` (K, d) with per-mode std `std` (one number, or one per centre).

    Returns {"spread": {"mean", "worst", "worst_mode"}, "offset": {"mean", "worst",
    "worst_mode"}, "measured", "per_mode": {"n", "spread", "offset"}}: `measured` counts the
    modes with at least `min_samples` high-quality samples (only they enter the means; a mode
    with fewer has no spread to measure); per_mode lists hold one entry per centre, None where
    unmeasured. With no measured mode the summaries are NaN.
    """
    x = as_2d_float64(samples, "samples")
    c = as_2d_float64(centers, "centers")
    same_width(c, x, "centers", "samples")
    s = mode_stds(std, c.shape[0])
    min_samples = check_positive_int(min_samples, "min_samples", minimum=2)
    nearest, dist = nearest_centre(x, c)
    hq = dist <= HQ_STDS * s[nearest]
    reference = window_std_factor(c.shape[1])
    spreads: dict[int, np.ndarray] = {}
    offsets: dict[int, float] = {}
    counts = np.bincount(nearest[hq], minlength=c.shape[0])
    for mode in np.flatnonzero(counts >= min_samples):
        points = x[hq & (nearest == mode)]
        spreads[int(mode)] = points.std(axis=0, ddof=1) / (reference * s[mode])
        offsets[int(mode)] = float(np.linalg.norm(points.mean(axis=0) - c[mode]) / s[mode])
    if spreads:
        worst_spread, spread_mode = _worst_spread(spreads)
        spread_mean = float(np.mean([r.mean() for r in spreads.values()]))
        offset_mode = max(offsets, key=offsets.get)
        offset_summary = {"mean": float(np.mean(list(offsets.values()))),
                          "worst": offsets[offset_mode], "worst_mode": offset_mode}
    else:
        worst_spread, spread_mode, spread_mean = math.nan, None, math.nan
        offset_summary = {"mean": math.nan, "worst": math.nan, "worst_mode": None}
    return {
        "spread": {"mean": spread_mean, "worst": worst_spread, "worst_mode": spread_mode},
        "offset": offset_summary,
        "measured": len(spreads),
        "per_mode": {
            "n": [int(v) for v in counts],
            "spread": [spreads[m].tolist() if m in spreads else None for m in range(c.shape[0])],
            "offset": [offsets.get(m) for m in range(c.shape[0])],
        },
    }

