"""Time every metric on 10,000 samples of 2,048 features, and the FID square root against scipy.

Run: .venv/bin/python -m benchmarks.bench_metrics [--n 10000] [--d 2048] [--no-write]
Writes the "metrics" section of docs/benchmarks.md. Features are correlated Gaussians (a rank-256
factor model plus isotropic noise, like pooled CNN features: strongly correlated, full rank);
"fake" has a perturbed factor loading and a shifted mean. Peak memory is sampled from the
process's resident set while each metric runs and reported as the rise above the level before it.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import scipy.linalg

from benchmarks._common import load_text, markdown_table, verdict, write_section
from gankit.metrics import (c2st, class_distribution, diversity, fid, inception_score, kid, mode_metrics,
                            prdc)
from gankit.metrics.fid import feature_statistics, frechet_distance, trace_sqrt_product

COMMAND = ".venv/bin/python -m benchmarks.bench_metrics"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRSS:
    """Samples resident memory every 20 ms in a thread; .rise is the peak minus the start (MiB)."""

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())
        self.rise = self.peak - self.start


def timed(fn, *args, **kwargs):
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        seconds = time.perf_counter() - t0
    return out, seconds, mem.rise


def features(n: int, d: int, rng, rank: int = 256):
    w = rng.standard_normal((rank, d)) / np.sqrt(rank)
    real = rng.standard_normal((n, rank)) @ w + 0.3 * rng.standard_normal((n, d))
    w_fake = w + 0.15 * rng.standard_normal((rank, d)) / np.sqrt(rank)
    fake = rng.standard_normal((n, rank)) @ w_fake + 0.3 * rng.standard_normal((n, d)) + 0.05
    return real, fake


def compare_sqrt(s1, s2, threads):
    """Best-of-2 seconds of gankit's tr sqrt and of scipy.linalg.sqrtm, interleaved so that both
    see the same background load (the minimum is the least noisy estimate on a shared machine)."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    ours_times, scipy_times = [], []
    with threadpool_limits(limits=threads) if threads else nullcontext():
        for _ in range(2):
            t0 = time.perf_counter()
            tr_ours = trace_sqrt_product(s1, s2)
            ours_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            covmean = scipy.linalg.sqrtm(s1 @ s2)
            scipy_times.append(time.perf_counter() - t0)
    return min(ours_times), min(scipy_times), tr_ours, covmean


def _fmt_metric(out) -> str:
    if isinstance(out, dict):
        keep = {k: v for k, v in out.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        return ", ".join(f"{k}={v:.4g}" for k, v in list(keep.items())[:4])
    return f"{out:.4g}"


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()) or "?"
    except Exception:  # noqa: BLE001
        return "?"


def check_rows() -> list[dict]:
    """The cheap rows of the metric table at the full size, from the same seeded features:
    inception score, diversity, class distribution, mode metrics (tolerance: BLAS sums)."""
    n, d = 10_000, 2048
    rng = np.random.default_rng(0)
    real, fake = features(n, d, rng)
    logits = 3 * rng.standard_normal((n, 1008))
    ring = np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], 1)
    toy = ring[rng.integers(0, 8, n)] + 0.01 * rng.standard_normal((n, 2))
    is_ = inception_score(logits)
    div = diversity(real, fake)
    cls = class_distribution(logits[:, :10], 10)
    mm = mode_metrics(toy, ring, 0.01)
    return [{"row": "cheap metrics", "settings": {"n": n, "d": d},
             "values": {"inception_score": float(is_["mean"]), "diversity_fake": float(div["fake"]),
                        "diversity_real": float(div["real"]),
                        "normalised_entropy": float(cls["normalised_entropy"]),
                        "modes": int(mm["modes"]), "hq": float(mm["hq"])}}]


CHECK_TOLERANCE = {"rel": 1e-9, "why": "float64 reductions whose order may follow the BLAS threads"}
CHECKS = {"metrics": check_rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    n, d = args.n, args.d
    rng = np.random.default_rng(0)
    real, fake = features(n, d, rng)
    load = load_text()

    rows = []

    def run(name, fn, *a, note="", **kw):
        out, sec, rise = timed(fn, *a, **kw)
        rows.append([name, f"{sec:.2f}", f"{rise:.0f}", _fmt_metric(out), note])
        print(f"{name}: {sec:.2f} s, +{rise:.0f} MiB, {_fmt_metric(out)}", flush=True)
        return out

    run("fid", fid, real, fake, note="statistics of both sets + square root")
    run("kid", kid, real, fake, note="100 subsets of 1,000, float32 dot products (default)")
    logits = 3 * rng.standard_normal((n, 1008))
    run("inception_score", inception_score, logits, note="10 splits, 1008 classes (random logits)")
    run("prdc (float32)", prdc, real, fake, k=5, note="k=5, blocks of 1,024 rows (default)")
    run("prdc (float64)", prdc, real, fake, k=5, dtype="float64", note="k=5, blocks of 1,024 rows")
    run("c2st (knn)", c2st, real, fake, note="half held out, k = sqrt(n_train)")
    run("c2st (logistic)", c2st, real, fake, classifier="logistic", note="lbfgs, max_iter 1000")
    run("diversity", diversity, real, fake, note="10,000 random pairs per set")
    run("class_distribution", class_distribution, logits[:, :10], 10, note="argmax of 10-class logits")
    ring = np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], 1)
    toy = ring[rng.integers(0, 8, n)] + 0.01 * rng.standard_normal((n, 2))
    run("mode_metrics", mode_metrics, toy, ring, 0.01, note=f"ring8, {n:,} 2-D samples")
    n_by_n = n * n * 4 / 2**20

    # The square root alone, on the same covariances, against scipy.linalg.sqrtm.
    mu1, s1 = feature_statistics(real)
    mu2, s2 = feature_statistics(fake)
    diff = mu1 - mu2
    fid_ours = frechet_distance(mu1, s1, mu2, s2)
    sqrt_rows, speedups, ratios = [], [], {}
    imag = rel = 0.0
    for threads in (None, 1):
        ours, scipy_time, tr_ours, covmean = compare_sqrt(s1, s2, threads)
        tr_scipy = float(np.trace(covmean).real)
        imag = max(imag, float(np.abs(np.imag(covmean)).max()) if np.iscomplexobj(covmean) else 0.0)
        fid_scipy = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_scipy)
        rel = max(rel, abs(fid_ours - fid_scipy) / abs(fid_scipy))
        label = "default BLAS threads" if threads is None else "1 BLAS thread"
        sqrt_rows += [[f"gankit, {label}", f"{ours:.3g}", f"{tr_ours:.10g}", f"{fid_ours:.10g}"],
                      [f"scipy.linalg.sqrtm, {label}", f"{scipy_time:.3g}", f"{tr_scipy:.10g}", f"{fid_scipy:.10g}"]]
        speedups.append(f"{scipy_time / ours:.1f}x with {label}")
        ratios[label] = scipy_time / ours
        print(f"sqrt ({label}): ours {ours:.2f} s, scipy {scipy_time:.2f} s, x{scipy_time / ours:.1f}", flush=True)
    load_end = load_text()
    cond = float(np.linalg.cond(s1))

    body = "\n".join([
        f"{n:,} real and {n:,} generated samples of {d:,} features (float64 correlated Gaussians: rank-256 "
        "factor model plus noise; the generated set has perturbed loadings and a mean shift). "
        f"Wall-clock seconds on a shared {os.cpu_count()}-core machine (load average {load} "
        f"when the run started, {load_end} at the end: other jobs were running), so treat the times as upper "
        "bounds; multi-threaded BLAS slows down sharply when cores are oversubscribed. Memory is the rise of the "
        "process's resident set during the call (sampled every 20 ms) above the ~"
        f"{2 * n * d * 8 / 2**20:.0f} MiB the two feature sets already take; a {n:,} x {n:,} float32 "
        f"distance matrix alone would be {n_by_n:.0f} MiB, and none is built.",
        "",
        markdown_table(["metric", "seconds", "peak MiB above start", "value", "settings"], rows),
        "",
        "### FID matrix square root",
        "",
        "tr sqrt(S1 S2) from a Cholesky factor L (eigh when S1 is singular) and the eigenvalues of the "
        f"symmetric L^T S2 L, against `scipy.linalg.sqrtm(S1 @ S2)` on the same two {d:,} x {d:,} covariances "
        f"(condition number of S1: {cond:.3g}).",
        "",
        markdown_table(["method", "seconds (best of 2, interleaved)", "tr sqrt(S1 S2)", "FID"], sqrt_rows),
        "",
        f"Speed-up {' and '.join(speedups)}; largest imaginary part in scipy's result {imag:.2e} "
        "(gankit's is real by construction). Both methods are mostly LAPACK/BLAS; the single-thread "
        "rows show the ratio without the penalty oversubscribed cores put on multi-threaded BLAS.",
        "",
        *[verdict(f"FID square root speed-up over scipy.linalg.sqrtm, {label}", value, 5.0,
                  fmt="{:.1f}", unit="x") for label, value in ratios.items()],
        verdict("largest FID relative difference from scipy's", rel, 1e-6, higher_is_better=False,
                fmt="{:.2e}"),
    ])
    if args.no_write:
        print(body)
    else:
        write_section("metrics", "Metrics on 10,000 x 2,048 features", body, COMMAND,
                      threads=f"the metric table at numpy's default BLAS threads ({blas_threads()}); "
                              "the square-root table at the default and at 1 BLAS thread, as its rows "
                              "say; no torch work",
                      check=(check_rows(), CHECK_TOLERANCE))


if __name__ == "__main__":
    main()
