"""Scoring a trained run of the mode-collapse experiment: the standard mode metrics (PacGAN,
VEEGAN), the material's coverage test, how the distribution fits inside each mode (spread,
offset, C2ST against held-out points with its real-vs-real floor), and the same for the samples
discriminator-driven sampling keeps (gankit.refine).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from .mode_collapse import (EVAL_SAMPLES, FIT_COLUMNS, MATERIAL_SAMPLES, MATERIAL_THRESHOLD, Run)


def material_scale(real: np.ndarray) -> np.ndarray:
    """The material's scaling, X / max|X| * 0.9 per axis, as factors computed on the real data."""
    return 0.9 / np.maximum(np.abs(real).max(axis=0), 1e-12)


def score_module(module, train: Dataset, seed: int, held_out: Dataset | None = None,
                 samples: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """(scores, the 2,500 evaluation samples) of a trained module on its training mixture.

    The mode metrics and the C2ST score the first 2,500 samples (the standard protocol); the
    material's coverage test and the fit inside each mode the whole draw of 10,000: at 2,500,
    64 modes leave 39 samples a mode, whose mean alone strays 0.2 std from a perfect sampler's
    centre, as far as the offset target (0.25) itself. held_out: real points of the same mixture
    for the C2ST (its floor is the same test between held_out and a third draw, whose mode fit
    at the fit's size is the fit's floor). samples: score these (e.g. refined ones) instead of
    drawing from the module."""
    from ..metrics import c2st, material_coverage, mode_fit, mode_metrics

    if samples is None:
        module = module.to("cpu")
        drawn, _ = module.sample(MATERIAL_SAMPLES, rng=torch.Generator().manual_seed(int(seed)))
        samples = drawn.numpy().astype(np.float64)
    evaluation = samples[:EVAL_SAMPLES]     # conditional: labels cycle 0..K-1, so balanced
    nan = {k: math.nan for k in ("modes_captured", "hq", "reverse_kl", "material_coverage",
                                 *FIT_COLUMNS)}
    if not np.all(np.isfinite(samples)):
        return nan, evaluation
    scores = mode_metrics(evaluation, train.centers, train.mode_std)
    real = train.x.numpy().astype(np.float64)
    scale = material_scale(real)
    coverage = material_coverage(real * scale, samples * scale, len(train.centers),
                                 threshold=MATERIAL_THRESHOLD)
    fit = mode_fit(samples, train.centers, train.mode_std)
    row = {**nan, "modes_captured": scores["modes"], "hq": scores["hq"],
           "reverse_kl": scores["reverse_kl"], "material_coverage": coverage,
           "spread_mean": fit["spread"]["mean"], "spread_worst": fit["spread"]["worst"],
           "offset_mean": fit["offset"]["mean"], "offset_worst": fit["offset"]["worst"]}
    if held_out is not None:
        real_points = held_out.x.numpy()[:len(evaluation)]
        row["c2st"] = c2st(real_points, evaluation[:len(real_points)])["accuracy"]
        third = _third_draw(train.name, len(real_points), seed)
        row["c2st_floor"] = c2st(real_points, third)["accuracy"]
        # what a real sample as large reads: the fit metrics' own noise
        floor = mode_fit(_third_draw(train.name, len(samples), seed), train.centers, train.mode_std)
        row["spread_floor"], row["offset_floor"] = floor["spread"]["mean"], floor["offset"]["mean"]
    return row, evaluation


def _third_draw(name: str, n: int, seed: int) -> np.ndarray:
    from ..data.toy import load_toy
    # another independent draw of the mixture (training uses seed, held-out seed + 1e6)
    return load_toy(name, n=n, seed=int(seed) + 2_000_000).x.numpy()


def refined_samples(module, config: TrainConfig, held_out: Dataset, method: str, seed: int):
    """(samples, stats) of discriminator-driven sampling (gankit.refine), calibrated on the
    held-out points, as many as the raw scoring draws."""
    from ..refine import calibrate, refine

    module = module.to("cpu")
    rng = torch.Generator().manual_seed(int(seed))
    calibration = calibrate(module, config.variant(), held_out.x,
                            held_out.y if module.num_classes else None, rng)
    samples, _, stats = refine(module, config.variant(), MATERIAL_SAMPLES, method, calibration,
                               rng=rng)
    return samples.numpy().astype(np.float64), stats


def score_share(runs: Sequence[Run], trains: Sequence[Dataset], mine: list[int], modules: list,
                 results: list, refine: Sequence[str] = ()) -> tuple[dict, dict]:
    """This rank's rows (run index, sampling) -> row and pictures (cell -> (run index, samples)).
    Each run is scored on its raw samples and, for each method in `refine`, on the samples
    discriminator-driven sampling keeps."""
    from ..training import prepare_data

    rows, pictures = {}, {}
    for i, module, result in zip(mine, modules, results):
        run, train = runs[i], trains[i]
        held_out = prepare_data(run.config)[1]
        base = {"data": run.data, "modes": run.modes, "model": run.model, "remedy": run.remedy,
                "seed": run.seed, "steps": run.config.total_steps(len(train))}
        scores, samples = score_module(module, train, run.seed, held_out)
        status = f"diverged at step {result.diverged_at}" if result.diverged else "ok"
        if result.diverged:
            scores = {k: math.nan for k in scores}
        rows[(i, "raw")] = {**base, "sampling": "raw", **scores, "acceptance": 1.0,
                            "seconds": result.seconds, "status": status}
        for method in refine:
            if result.diverged:
                rows[(i, method)] = {**rows[(i, "raw")], "sampling": method}
                continue
            kept, stats = refined_samples(module, run.config, held_out, method, run.seed)
            refined, _ = score_module(module, train, run.seed, held_out, samples=kept)
            rows[(i, method)] = {**base, "sampling": method, **refined,
                                 "acceptance": stats.acceptance_rate,
                                 "seconds": result.seconds + stats.seconds, "status": "ok"}
        cell = (run.model, run.remedy, run.data)
        if cell not in pictures and not result.diverged:
            pictures[cell] = (i, samples)       # this rank's first good run of the cell
    return rows, pictures
