"""Precision, recall, density and coverage from k-nearest-neighbour balls in feature space.

Precision and recall follow Kynkaanniemi et al. 2019 ("Improved precision and recall metric");
density and coverage follow Naeem et al. 2020 ("Reliable fidelity and diversity metrics").
Each sample's radius is the distance to its k-th nearest neighbour in its own set, the sample
itself excluded. A point lies in a ball when its distance is <= the radius (the closed ball of
the Kynkaanniemi code; ties have probability zero on continuous features).

Distances are computed in blocks (at most `batch_size` rows against the whole other set), so
memory grows as batch_size * n, never n * n: at 10,000 x 10,000 samples the distance work needs
tens of megabytes where the full matrix would take 400 MB (float32).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..errors import GankitError
from ._arrays import as_2d_float64, check_positive_int, same_width

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _sq_dist_block(q: torch.Tensor, q_sq: torch.Tensor, x: torch.Tensor, x_sq: torch.Tensor) -> torch.Tensor:
    # |q|^2 + |x|^2 - 2 q.x as one matmul; clamped because rounding can dip just below zero.
    d2 = torch.addmm(q_sq[:, None] + x_sq[None, :], q, x.T, beta=1.0, alpha=-2.0)
    return d2.clamp_(min=0.0)


def _merge_smallest(best: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """The k smallest of each row of best (n, k) and candidates (n, c), sorted ascending."""
    both = torch.cat([best, candidates], dim=1)
    return torch.topk(both, k, dim=1, largest=False, sorted=True).values


class _Work:
    """Counts distance entries computed and reports (done, total) to an optional callback."""

    def __init__(self, total: int, report: Callable[[int, int], None] | None):
        self.done, self.total, self.report = 0, total, report

    def add(self, entries: int) -> None:
        self.done += entries
        if self.report is not None:
            self.report(self.done, self.total)


def _pair_entries(n: int, batch_size: int) -> int:
    """Distance entries `_kth_neighbour_sq` computes for n rows (blocks on and above the diagonal)."""
    sizes = [min(batch_size, n - s) for s in range(0, n, batch_size)]
    return sum(a * b for i, a in enumerate(sizes) for b in sizes[i:])


def _kth_neighbour_sq(x: torch.Tensor, x_sq: torch.Tensor, k: int, batch_size: int,
                      work: _Work) -> torch.Tensor:
    """Squared distance from each row of x to its k-th nearest other row.

    The distance matrix is symmetric, so only blocks (I, J) with J >= I are computed; each block
    updates the running k smallest of its rows (I) and, transposed, of its columns (J). That halves
    the matmul work of a plain row-block pass and still holds one block at a time.
    """
    n = x.shape[0]
    best = torch.full((n, k), float("inf"), dtype=x.dtype)
    starts = list(range(0, n, batch_size))
    for i in starts:
        i_stop = min(i + batch_size, n)
        for j in starts:
            if j < i:
                continue
            j_stop = min(j + batch_size, n)
            d2 = _sq_dist_block(x[i:i_stop], x_sq[i:i_stop], x[j:j_stop], x_sq[j:j_stop])
            work.add(d2.numel())
            if i == j:
                # inf on the diagonal (not "take the (k+1)-th") keeps the self match out even when
                # rounding leaves it a little above zero; exact duplicates still count as neighbours.
                d2.fill_diagonal_(float("inf"))
            kk = min(k, d2.shape[1])
            best[i:i_stop] = _merge_smallest(best[i:i_stop], torch.topk(d2, kk, dim=1, largest=False).values, k)
            if j != i:
                kk = min(k, d2.shape[0])
                cols = torch.topk(d2, kk, dim=0, largest=False).values.T
                best[j:j_stop] = _merge_smallest(best[j:j_stop], cols, k)
    return best[:, -1]


def _centred(x: np.ndarray, centre: np.ndarray, dtype: torch.dtype, rows: int = 4096) -> torch.Tensor:
    # Centre in float64 chunk by chunk, so no second full-size float64 copy is ever made.
    out = torch.empty(x.shape, dtype=dtype)
    for s in range(0, x.shape[0], rows):
        out[s:s + rows] = torch.from_numpy(x[s:s + rows] - centre)
    return out


def prdc(real, fake, k: int = 5, batch_size: int = 1024, dtype: str = "float32",
         progress: Callable[[int, int], None] | None = None) -> dict:
    """Precision, recall, density and coverage of `fake` against `real` features, shape (n, d).

    precision: share of generated samples inside at least one real k-NN ball (fidelity).
    recall:    share of real samples inside at least one generated k-NN ball (diversity).
    density:   mean number of real balls holding a generated sample, divided by k (about 1 when
               the two sets match; can exceed 1).
    coverage:  share of real samples whose ball holds at least one generated sample.

    dtype "float32" (default) runs the distance matmuls in single precision after centring both
    sets on the real mean (which keeps |a|^2 + |b|^2 - 2ab from cancelling badly); "float64" is
    about twice as slow and decides exact ties the same way a float64 reference does.

    The work grows as (n_real + n_fake)^2; `progress(done, total)`, when given, is called after
    every block with the distance entries computed so far and in all.
    """
    x = as_2d_float64(real, "real")
    y = as_2d_float64(fake, "fake")
    same_width(x, y)
    k = check_positive_int(k, "k")
    batch_size = check_positive_int(batch_size, "batch_size")
    if dtype not in _DTYPES:
        raise GankitError(f"prdc dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    for name, arr in (("real", x), ("fake", y)):
        if arr.shape[0] < k + 1:
            raise GankitError(
                f"prdc with k={k} needs at least k+1={k + 1} {name} samples (each radius is the distance "
                f"to the k-th other sample), got {arr.shape[0]}; pass more samples or lower k")
    centre = x.mean(axis=0)
    xt = _centred(x, centre, _DTYPES[dtype])
    yt = _centred(y, centre, _DTYPES[dtype])
    n_real, n_fake = xt.shape[0], yt.shape[0]
    work = _Work(_pair_entries(n_real, batch_size) + _pair_entries(n_fake, batch_size)
                 + n_real * n_fake, progress)
    with torch.no_grad():
        x_sq = (xt * xt).sum(dim=1)
        y_sq = (yt * yt).sum(dim=1)
        r_real = _kth_neighbour_sq(xt, x_sq, k, batch_size, work)
        r_fake = _kth_neighbour_sq(yt, y_sq, k, batch_size, work)

        covered = torch.zeros(n_real, dtype=torch.bool)
        recalled = torch.zeros(n_real, dtype=torch.bool)
        precise = 0
        density_hits = 0
        for start in range(0, n_fake, batch_size):
            stop = min(start + batch_size, n_fake)
            d2 = _sq_dist_block(yt[start:stop], y_sq[start:stop], xt, x_sq)  # (fake block, real)
            work.add(d2.numel())
            in_real_ball = d2 <= r_real[None, :]
            precise += int(in_real_ball.any(dim=1).sum())
            density_hits += int(in_real_ball.sum())
            covered |= in_real_ball.any(dim=0)
            recalled |= (d2 <= r_fake[start:stop, None]).any(dim=0)
    return {
        "precision": precise / n_fake,
        "recall": float(recalled.double().mean()),
        "density": density_hits / (k * n_fake),
        "coverage": float(covered.double().mean()),
    }
