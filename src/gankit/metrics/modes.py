"""Mode metrics for toy mixtures with known centres (ring8, grid25, blobsK).

`mode_metrics` follows the standard definitions of PacGAN (Lin et al. 2018) and VEEGAN
(Srivastava et al. 2017): a sample is high quality (HQ) when it lies within 3 standard deviations
of its nearest centre; a mode is captured when at least one HQ sample falls to it; reverse KL is
KL(histogram of HQ samples over modes || uniform over modes). The design evaluates 2,500 samples.

`mode_fit` (mode_fit.py) looks inside the captured modes: their spread and offset.

`material_coverage` reproduces the reference material's KMeans check only so that its numbers
can be compared; it is not a measure of quality (see its docstring).
"""
from __future__ import annotations

import numpy as np

from ..errors import GankitError
from ._arrays import as_2d_float64, check_positive_int, same_width, to_numpy


HQ_STDS = 3.0  # a sample within this many std of its nearest centre is high quality


def nearest_centre(samples: np.ndarray, centers: np.ndarray, block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance to the nearest centre for every sample (in blocks: N x K at a time)."""
    idx = np.empty(samples.shape[0], dtype=np.int64)
    dist = np.empty(samples.shape[0])
    for s in range(0, samples.shape[0], block):
        diff = samples[s:s + block, None, :] - centers[None, :, :]
        d = np.sqrt((diff * diff).sum(axis=2))
        idx[s:s + block] = d.argmin(axis=1)
        dist[s:s + block] = d[np.arange(d.shape[0]), idx[s:s + block]]
    return idx, dist


def mode_stds(std, k: int) -> np.ndarray:
    """The per-mode standard deviations as k positive numbers, from one number or k of them."""
    s = np.asarray(to_numpy(std, "std"), dtype=np.float64).reshape(-1)
    if s.size == 1:
        s = np.full(k, float(s[0]))
    if s.size != k or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise GankitError(
            f"std must be one positive number or {k} of them (one per centre); got {np.asarray(std).tolist()}")
    return s


def mode_metrics(samples, centers, std) -> dict:
    """{"modes", "hq", "reverse_kl", "counts", "n"} of generated `samples` (n, d) against mixture
    `centers` (K, d) with per-mode standard deviation `std` (a number, or one per centre).

    modes: number of captured modes (0..K). hq: share of HQ samples in [0, 1] (papers print it as
    a percentage). reverse_kl: in nats, 0 when HQ samples spread evenly over all K modes, log K when
    they all sit on one mode. With no HQ sample at all there is no histogram; reverse_kl is then
    defined as log K, the value of total collapse, so that it never reads better than one mode.
    counts: HQ samples per mode.
    """
    x = as_2d_float64(samples, "samples")
    c = as_2d_float64(centers, "centers")
    same_width(c, x, "centers", "samples")
    k = c.shape[0]
    s = mode_stds(std, k)
    nearest, dist = nearest_centre(x, c)
    hq = dist <= HQ_STDS * s[nearest]
    counts = np.bincount(nearest[hq], minlength=k)
    n_hq = int(counts.sum())
    if n_hq == 0:
        reverse_kl = float(np.log(k))
    else:
        p = counts[counts > 0] / n_hq  # 0 * log 0 = 0: empty modes drop out of the sum
        reverse_kl = float((p * np.log(p * k)).sum())
    return {
        "modes": int((counts > 0).sum()),
        "hq": n_hq / x.shape[0],
        "reverse_kl": max(reverse_kl, 0.0),
        "counts": [int(v) for v in counts],
        "n": int(x.shape[0]),
    }


def material_coverage(real, samples, k: int, threshold: float = 0.1, random_state=42) -> float:
    """The reference material's "mode coverage", kept only to compare with its published table.

    It fits KMeans with k clusters to the real data and counts a centre as covered when at least
    one generated sample lies strictly within `threshold` of it. One lucky sample per cluster is
    enough, so a generator that collapsed onto a few points but scatters a handful of outliers
    scores as well as a perfect one, and the score depends on the data's scale. It is not a
    measure of quality: use `mode_metrics` (or `prdc` coverage) instead.
    """
    from sklearn.cluster import KMeans

    x = as_2d_float64(real, "real")
    y = as_2d_float64(samples, "samples")
    same_width(x, y, "real", "samples")
    k = check_positive_int(k, "k")
    if x.shape[0] < k:
        raise GankitError(f"material_coverage needs at least k={k} real samples for KMeans, got {x.shape[0]}")
    centres = KMeans(n_clusters=k, random_state=random_state, n_init="auto").fit(x).cluster_centers_
    covered = 0
    for centre in centres:
        if np.any(np.sqrt(((y - centre) ** 2).sum(axis=1)) < threshold):
            covered += 1
    return covered / k
