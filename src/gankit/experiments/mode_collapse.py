"""The reference material's mode-collapse experiment, run for real.

Vanilla GAN, WGAN-GP and conditional WGAN-GP ("cwgan-gp": WGAN-GP conditioned on each point's
mode label) on 2-D Gaussian mixtures with 4, 8, 16 and 32 modes (blobsK: the material's layout
generalised, see gankit.data.toy), or on the standard ring8 / grid25 of VEEGAN and PacGAN; with
optional remedies (minibatch discrimination, PacGAN packing); several seeds per configuration.
The further remedies are models of their own: Unrolled GAN (K = 5 look-ahead steps), MAD-GAN
(8 generators), EBGAN, EBGAN with the pull-away term, and BEGAN: every row a variant declares
(`gankit.gans`, `model_rows`).

Every run uses the defaults of `gankit train` for its model (`TrainConfig(...).resolve`), except
the number of generator steps, which is the experiment's budget (`--steps`). Every run is scored
with the standard mode metrics (`gankit.metrics.mode_metrics` on 2,500 samples: modes captured,
share of high-quality samples within 3 std of a centre, reverse KL) and, only for comparison,
with the material's own "coverage" test (`material_coverage`: KMeans centres of the real data,
a centre counts if one of 10,000 generated samples lies within 0.1 of it, in the material's
scaling of the data to 0.9 of its largest absolute value per axis).

Runs that share shapes train together as one vectorised ensemble (gankit.training.ensemble);
`one_by_one=True` trains them one after the other with the ordinary training loop, with the same
numbers up to float rounding. The look-ahead, multi-generator and autoencoder models always
train with the ordinary loop.

Python: `run_mode_collapse(...) -> pandas.DataFrame`. Command line:
`gankit experiment mode-collapse --modes 4 8 16 32 --models gan wgan-gp cwgan-gp --seeds 5 --out DIR`.
Under `torchrun --nproc_per_node=N -m gankit experiment mode-collapse ...` the runs are spread over
N processes, whole ensembles each (`plan_shards`), and rank 0 writes the same table.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from ..errors import GankitError

# ------------------------------------------------------------------------------ settings

def model_rows() -> dict:
    """Every model the experiment can train: row name -> (variant, ExperimentRow), from the
    variants themselves (gankit.gans.registry)."""
    from ..gans import experiment_rows
    return experiment_rows()


def row_settings(name: str) -> dict:
    """The TrainConfig settings that make row `name`."""
    variant, row = model_rows()[name]
    return {"model": variant.model or variant.name, **row.settings}


def row_label(name: str) -> str:
    rows = model_rows()
    return rows[name][1].label if name in rows else name


REMEDIES = {"none": None, "minibatch": "minibatch", "pac": "pac"}
DATA = ("blobs", "ring8", "grid25")
DEFAULT_MODES = (4, 8, 16, 32)
DEFAULT_MODELS = ("gan", "wgan-gp", "cwgan-gp")
DEFAULT_SEEDS = 5
# The budget per run, in generator steps. `gankit train` defaults to 3000; the experiment's default
# is chosen so that the full 60-run grid (4 mode counts x 3 models x 5 seeds) fits in ten minutes on
# a 2-core CPU: about 0.5 s of CPU per grid step with one thread (4 ms per vanilla-GAN run-step,
# 10-11 ms per WGAN-GP run-step, vectorised), so 1000 steps take about 9 minutes on one idle core
# and half that with --workers 2. Conditional WGAN-GP needs about this budget to place every mode
# (600 steps: 24-26 of 32 modes at 11-14% high quality; 1000 steps: 15 of 20 runs every mode at
# >= 97%, 16 modes the hard case; 2000 steps is not reliably better), see docs/benchmarks.md,
# section mode_collapse.
DEFAULT_STEPS = 1000
EVAL_SAMPLES = 2500          # the standard protocol (VEEGAN, PacGAN)
MATERIAL_SAMPLES = 10_000    # the material's coverage test draws 10,000 samples
MATERIAL_THRESHOLD = 0.1     # ... and counts a centre within 0.1 (its data scaled to 0.9 max)
COLUMNS = ["data", "modes", "model", "remedy", "seed", "modes_captured", "hq", "reverse_kl",
           "material_coverage", "seconds", "steps", "status"]

# PacGAN (Lin et al. 2018), Table 1: mean over 10 runs, same definitions (2,500 samples,
# high quality = within 3 std, reverse KL of the high-quality histogram), 400 epochs of 100k
# samples on a GPU. (label, modes, high-quality %, reverse KL)
PUBLISHED = {
    "ring8": [("GAN", 6.3, 98.2, 0.45), ("PacGAN2", 7.9, 95.6, 0.07)],
    "grid25": [("GAN", 17.3, 94.8, 0.70), ("ALI", 24.1, 95.7, 0.14), ("PacGAN4", 24.8, 93.6, 0.04)],
}
# The material's claimed "mode coverage" table (seed 000, section 11.3), in %; its own code has
# 9 centres only and cannot produce the 16- and 32-mode columns.
MATERIAL_CLAIM = {
    "gan": {4: 75, 8: 50, 16: 30, 32: 15},
    "wgan-gp": {4: 100, 8: 88, 16: 70, 32: 45},
    "cwgan-gp": {4: 100, 8: 100, 16: 95, 32: 80},
}
REFERENCES = [
    "Lin, Z., Khetan, A., Fanti, G. and Oh, S. (2018). PacGAN: The power of two samples in "
    "generative adversarial networks. NeurIPS 2018. Table 1 (ring8 = \"2D-ring\", grid25 = \"2D-grid\").",
    "Srivastava, A., Valkov, L., Russell, C., Gutmann, M. U. and Sutton, C. (2017). VEEGAN: Reducing "
    "mode collapse in GANs using implicit variational learning. NeurIPS 2017. Table 1 (2D Ring, 2D Grid).",
    "Metz, L., Poole, B., Pfau, D. and Sohl-Dickstein, J. (2017). Unrolled generative adversarial "
    "networks. ICLR 2017.",
]


@dataclass
class Run:
    """One cell of the grid: what to train and how it is labelled in the results."""

    data: str           # the built-in mixture's name: blobsK, ring8 or grid25
    modes: int
    model: str          # gan, wgan-gp, cwgan-gp
    remedy: str         # none, minibatch, pac
    seed: int
    config: TrainConfig


# ------------------------------------------------------------------------------ planning


def _clean_list(values, allowed, what: str) -> list[str]:
    values = [values] if isinstance(values, str) else list(values)
    out = []
    for v in values:
        v = str(v).strip().lower()
        if v not in allowed:
            raise GankitError(f"unknown {what} {v!r}; choose from {', '.join(allowed)}")
        if v not in out:
            out.append(v)
    if not out:
        raise GankitError(f"give at least one {what}")
    return out


def _clean_modes(modes) -> list[int]:
    values = [modes] if isinstance(modes, (int, str)) else list(modes)
    out = []
    for v in values:
        try:
            k = int(v)
            if k != float(v):
                raise ValueError
        except (TypeError, ValueError):
            raise GankitError(f"--modes takes whole numbers (mode counts), got {v!r}") from None
        if k < 2:
            raise GankitError(f"a mixture needs at least 2 modes, got {k}")
        if k not in out:
            out.append(k)
    if not out:
        raise GankitError("give at least one mode count (--modes 4 8 16 32)")
    return out


def _clean_seeds(seeds) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise GankitError(f"--seeds is the number of seeds per configuration, at least 1; got {seeds}")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise GankitError(f"seeds must be distinct non-negative integers, got {list(seeds)}")
    return out


def plan_runs(modes=DEFAULT_MODES, models=DEFAULT_MODELS, remedies=("none",), data="blobs",
              seeds=DEFAULT_SEEDS, steps: int | None = None, **settings) -> list[Run]:
    """Every combination as a `Run` with its resolved config (validates all inputs first).

    settings: further TrainConfig fields for every run (e.g. batch_size, hidden, n_samples).
    """
    data = str(data).strip().lower()
    if data not in DATA:
        raise GankitError(f"unknown data {data!r} for the mode-collapse experiment; choose blobs "
                          "(with --modes), ring8 or grid25")
    rows = model_rows()
    models = _clean_list(models, tuple(rows), "model")
    if remedies is None or isinstance(remedies, str):
        remedies = [remedies]
    remedies = _clean_list(["none" if r is None else r for r in remedies], tuple(REMEDIES), "remedy")
    seed_list = _clean_seeds(seeds)
    if data == "blobs":
        datasets = [(f"blobs{k}", k) for k in _clean_modes(modes)]
    else:
        datasets = [(data, 8 if data == "ring8" else 25)]
    steps = DEFAULT_STEPS if steps is None else int(steps)
    if steps < 1:
        raise GankitError(f"--steps must be at least 1, got {steps}")
    unknown = sorted(set(settings) - set(TrainConfig.__dataclass_fields__))
    if unknown:
        raise GankitError(f"unknown training setting(s) {unknown}")
    # settings a row owns (e.g. unroll) change that row and no other; the rest apply to all
    owned = {k for _, row in rows.values() for k in row.owns}
    common = {k: v for k, v in settings.items() if k not in owned}
    runs = []
    for model in models:
        variant, row = rows[model]
        own = {k: v for k, v in settings.items() if k in row.owns}
        for remedy in remedies:
            if REMEDIES[remedy] is not None and not variant.scores_samples:
                continue      # packing and minibatch features modify a scoring discriminator
            for name, k in datasets:
                for seed in seed_list:
                    values = dict(progress=False, tensorboard=False)
                    values.update(common)
                    values.update(data=name, seed=seed, steps=steps, remedy=REMEDIES[remedy],
                                  **row_settings(model))
                    values.update(own)
                    config = TrainConfig(**values).resolve("points")
                    runs.append(Run(name, k, model, remedy, seed, config))
    if not runs:
        raise GankitError("no run to do: the autoencoder models (ebgan, began) take no remedy; "
                          "add --remedies none")
    return runs


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes (user + system)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


# ------------------------------------------------------------------------------ evaluation


def material_scale(real: np.ndarray) -> np.ndarray:
    """The material's scaling, X / max|X| * 0.9 per axis, as factors computed on the real data."""
    return 0.9 / np.maximum(np.abs(real).max(axis=0), 1e-12)


def score_module(module, train: Dataset, seed: int) -> tuple[dict, np.ndarray]:
    """(scores, the 2,500 evaluation samples) of a trained module on its training mixture."""
    from ..metrics import material_coverage, mode_metrics

    module = module.to("cpu")
    samples, _ = module.sample(MATERIAL_SAMPLES, rng=torch.Generator().manual_seed(int(seed)))
    samples = samples.numpy().astype(np.float64)
    evaluation = samples[:EVAL_SAMPLES]     # conditional: labels cycle 0..K-1, so balanced
    if not np.all(np.isfinite(samples)):
        return {"modes_captured": math.nan, "hq": math.nan, "reverse_kl": math.nan,
                "material_coverage": math.nan}, evaluation
    scores = mode_metrics(evaluation, train.centers, train.mode_std)
    real = train.x.numpy().astype(np.float64)
    scale = material_scale(real)
    coverage = material_coverage(real * scale, samples * scale, len(train.centers),
                                 threshold=MATERIAL_THRESHOLD)
    return {"modes_captured": scores["modes"], "hq": scores["hq"], "reverse_kl": scores["reverse_kl"],
            "material_coverage": coverage}, evaluation


# ------------------------------------------------------------------------------ the experiment


def training_units(runs: Sequence[Run], trains: Sequence[Dataset], *, vectorised: bool = True,
                   device: str = "cpu", max_members: int | None = None) -> list[list[int]]:
    """The units `train_many` trains as a whole, as indices into `runs` (see
    gankit.training.ensemble.training_units: vectorised ensembles, then single runs)."""
    from ..training.ensemble import training_units as units_of

    return units_of([r.config for r in runs], trains, vectorised=vectorised, device=device,
                    max_members=max_members)


def plan_shards(runs: Sequence[Run], trains: Sequence[Dataset], world_size: int, *,
                vectorised: bool = True, device: str = "cpu",
                max_members: int | None = None) -> list[list[int]]:
    """Which runs each of `world_size` processes trains: a list per rank of indices into `runs`,
    each in plan order.

    Whole training units (`training_units`: the ensembles one process would train, or single
    runs) go to the ranks, never parts of one: longest first, each to the rank with the least
    work so far (ties to the lower rank), so every rank computes exactly what one process
    computes for those runs and the table does not depend on the number of processes.
    Splitting an ensemble's seeds over ranks is not exact: an ensemble of one member takes a
    different matrix-product kernel for the critic's one-output layer than a larger ensemble,
    and conditional ensembles pad the labels to the most classes among their members, so a
    member's weights would differ from the one-process run by float rounding (1e-8 to 1e-7
    after 20 steps, measured), which adversarial training can amplify (see docs/distributed.md,
    "Experiments on several processes"). The ranks receive the units' indices in plan order, so
    `train_many` on a rank's runs regroups them into the same units (`group_members` keeps
    plan order and cuts each group into max_members blocks from its start: a rank's blocks of
    a group are full blocks, and the group's last block comes last).
    """
    from ..training.ensemble import _unit_cost

    world_size = int(world_size)
    if world_size < 1:
        raise GankitError(f"world size must be at least 1, got {world_size}")
    units = training_units(runs, trains, vectorised=vectorised, device=device,
                           max_members=max_members)
    costs = [_unit_cost([runs[i].config for i in u], [trains[i] for i in u]) for u in units]
    load = [0.0] * world_size
    shards: list[list[int]] = [[] for _ in range(world_size)]
    for u in sorted(range(len(units)), key=lambda u: (-costs[u], u)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        load[rank] += costs[u]
        shards[rank].extend(units[u])
    return [sorted(s) for s in shards]


def run_mode_collapse(modes: Sequence[int] = DEFAULT_MODES, models: Sequence[str] = DEFAULT_MODELS,
                      remedies: Sequence[str] = ("none",), data: str = "blobs",
                      seeds: int | Sequence[int] = DEFAULT_SEEDS, steps: int | None = None, *,
                      one_by_one: bool = False, out: str | Path | None = None,
                      device: str = "cpu", max_members: int | None = None, workers: int = 1,
                      progress: bool = False, report: bool = True, **settings) -> pd.DataFrame:
    """Train and score every combination; returns one row per run (columns `COLUMNS`).

    modes: mode counts of the blobs mixtures (ignored for ring8/grid25). models: gan, wgan-gp,
    cwgan-gp. remedies: none, minibatch, pac. seeds: a count (seeds 0..n-1) or a list.
    steps: generator steps per run (default DEFAULT_STEPS). one_by_one: train each run with the
    ordinary loop instead of vectorised ensembles (same numbers up to float rounding).
    workers: train that many ensembles (or runs) at once in worker processes (each with this
    process's torch thread count); on a 2-core machine, workers=2 with one thread each.
    out: folder for results.csv, results.md, samples.png, experiment.json (and report.html).
    settings: further TrainConfig fields applied to every run (tests use tiny networks).

    Under torchrun (a torch.distributed process group of several processes, e.g. joined with
    `gankit.distributed.distributed_session`), every rank trains and scores its share of the
    runs (`plan_shards`: whole ensembles), the rows are gathered, and every rank returns the
    same frame, equal to the one-process frame except for the timing column `seconds`; only
    rank 0 writes `out`. Every rank must call this with the same arguments.

    The frame's attrs hold "wall_seconds", "cpu_seconds" (summed over processes),
    "train_seconds" (the slowest process), "steps", "vectorised", "world_size", "ranks" (per
    process: runs, train_seconds, cpu_seconds) and "files" (empty on ranks other than 0).
    """
    from .. import distributed
    from ..models import DataSpec
    from ..training import build_module, prepare_data
    from ..training.ensemble import train_many

    runs = plan_runs(modes, models, remedies, data, seeds, steps, **settings)
    sharded = distributed.is_active()
    rank, world = (distributed.get_rank(), distributed.get_world_size()) if sharded else (0, 1)
    out = Path(out) if out is not None else None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise GankitError(f"--out {out} exists and is not a folder")
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()

    # every rank prepares every run's data (cheap, and what the units are made of); modules
    # only for its own runs
    trains = [prepare_data(run.config)[0] for run in runs]
    if sharded:
        mine = plan_shards(runs, trains, world, vectorised=not one_by_one, device=device,
                           max_members=max_members)[rank]
    else:
        mine = list(range(len(runs)))
    modules = [build_module(runs[i].config, DataSpec.of(trains[i])) for i in mine]
    prefix = f"[rank {rank}] " if rank else ""

    def report_group(group, results):
        if progress:
            first = runs[mine[group[0]]]
            label = f"{first.model}" + ("" if first.remedy == "none" else f" + {first.remedy}")
            print(f"{prefix}gankit: trained {len(group)} run(s) of {label} in "
                  f"{results[0].group_seconds:.1f} s", file=sys.stderr, flush=True)

    train_t0 = time.perf_counter()
    results = train_many(modules, [trains[i] for i in mine], [runs[i].config for i in mine],
                         vectorised=not one_by_one, device=device, max_members=max_members,
                         workers=workers, progress=progress and workers == 1 and rank == 0,
                         on_group=report_group) if mine else []
    train_seconds = time.perf_counter() - train_t0

    rows, pictures = {}, {}        # run index -> row; cell -> (run index, samples)
    for i, module, result in zip(mine, modules, results):
        run, train = runs[i], trains[i]
        scores, samples = score_module(module, train, run.seed)
        if result.diverged:
            scores = {k: math.nan for k in scores}
            status = f"diverged at step {result.diverged_at}"
        else:
            status = "ok"
        rows[i] = {"data": run.data, "modes": run.modes, "model": run.model, "remedy": run.remedy,
                   "seed": run.seed, **scores, "seconds": result.seconds,
                   "steps": run.config.total_steps(len(train)), "status": status}
        cell = (run.model, run.remedy, run.data)
        if cell not in pictures and not result.diverged:
            pictures[cell] = (i, samples)       # this rank's first good run of the cell
    # one message per rank: its rows, at most one picture per cell, its times
    parts = distributed.gather_objects({"rows": rows, "pictures": pictures, "runs": len(mine),
                                        "train_seconds": train_seconds,
                                        "cpu_seconds": cpu_seconds() - cpu0})
    rows = {i: row for part in parts for i, row in part["rows"].items()}
    cells: dict[tuple, tuple[int, np.ndarray]] = {}
    for part in parts:
        for cell, (i, samples) in part["pictures"].items():
            if cell not in cells or i < cells[cell][0]:
                cells[cell] = (i, samples)       # the first good run of the cell in plan order
    pictures = {cell: (samples, trains[i]) for cell, (i, samples) in cells.items()}
    frame = pd.DataFrame([rows[i] for i in range(len(runs))], columns=COLUMNS)
    ranks = [{"runs": p["runs"], "train_seconds": p["train_seconds"], "cpu_seconds": p["cpu_seconds"]}
             for p in parts]
    others_cpu = sum(p["cpu_seconds"] for j, p in enumerate(parts) if j != rank)

    def cpu_total():
        return cpu_seconds() - cpu0 + others_cpu

    frame.attrs.update({"wall_seconds": time.perf_counter() - wall0, "cpu_seconds": cpu_total(),
                        "train_seconds": max(p["train_seconds"] for p in parts),
                        "steps": runs[0].config.steps, "vectorised": not one_by_one,
                        "workers": workers, "threads": torch.get_num_threads(),
                        "world_size": world, "ranks": ranks, "files": {}})
    if out is not None and rank == 0:
        files = write_outputs(frame, runs, pictures, out, report=report)
        frame.attrs["files"] = {k: str(v) for k, v in files.items()}
        # the total time includes writing the files
        frame.attrs["wall_seconds"] = time.perf_counter() - wall0
        frame.attrs["cpu_seconds"] = cpu_total()
        _write_json(out / "experiment.json", frame, runs)
    if sharded:
        distributed.barrier()        # every rank returns once the files are written
    return frame


# ------------------------------------------------------------------------------ outputs


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (over seeds, sample std) per data / modes / model / remedy."""
    keys = ["data", "modes", "model", "remedy"]
    metrics = ["modes_captured", "hq", "reverse_kl", "material_coverage", "seconds"]
    grouped = frame.groupby(keys, sort=False)
    table = grouped[metrics].agg(["mean", "std"])
    table.columns = [f"{m}_{s}" for m, s in table.columns]
    table["runs"] = grouped.size()
    table["diverged"] = grouped["status"].agg(lambda s: int((s != "ok").sum()))
    return table.reset_index()


def _pm(mean, std, fmt="{:.1f}", scale=1.0) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = fmt.format(mean * scale)
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += " ± " + fmt.format(std * scale)
    return text


def results_markdown(frame: pd.DataFrame, runs: Sequence[Run] | None = None) -> str:
    """results.md: the mean ± std table, the material's claim and published figures beside it."""
    summary = summarise(frame)
    attrs = frame.attrs
    seeds = sorted(frame["seed"].unique().tolist())
    steps = sorted(frame["steps"].unique().tolist())
    lines = ["# Mode collapse on 2-D Gaussian mixtures", ""]
    lines += [
        f"{len(frame)} runs: {frame['data'].nunique()} mixture(s) x {frame['model'].nunique()} model(s) "
        f"x {frame['remedy'].nunique()} remedy setting(s) x {len(seeds)} seed(s) ({', '.join(map(str, seeds))}); "
        f"{', '.join(map(str, steps))} generator steps per run, every other setting the default of "
        "`gankit train` for the model.",
        "",
        f"Time to train and score: {attrs.get('wall_seconds', float('nan')):.1f} s wall, "
        f"{attrs.get('cpu_seconds', float('nan')):.1f} s CPU (training "
        f"{attrs.get('train_seconds', float('nan')):.1f} s wall; "
        f"{'vectorised ensembles' if attrs.get('vectorised', True) else 'one run after the other'}, "
        + (f"{attrs.get('workers', 1)} process(es) with {attrs.get('threads', torch.get_num_threads())} "
           "torch thread(s) each)." if attrs.get("world_size", 1) == 1 else
           f"{attrs['world_size']} torchrun processes, each training whole ensembles with "
           f"{attrs.get('workers', 1)} process(es) of {attrs.get('threads', torch.get_num_threads())} "
           "torch thread(s); CPU time summed over them, training wall time of the slowest)."),
        "",
        "Metrics (standard definitions of VEEGAN and PacGAN): 2,500 samples per run; a sample is "
        "high quality (HQ) if it lies within 3 standard deviations of its nearest mode centre; a mode "
        "is captured if at least one HQ sample falls to it; reverse KL = KL(histogram of HQ samples "
        "over modes || uniform), in nats (0 is perfect, log K is one mode). *Material coverage* is the "
        "reference material's own test, kept only for comparison: KMeans centres of the real data, a "
        "centre counts if one of 10,000 generated samples lies within 0.1 of it (data scaled as the "
        "material does, to 0.9 of its largest absolute value per axis); one stray sample per centre "
        "passes it. Mean ± sample std over seeds; *s/run* is training time per run (an ensemble's "
        "time divided by its members).",
        "",
        "| data | modes | model | remedy | modes captured | high quality % | reverse KL | "
        "material coverage % | s/run | runs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in summary.iterrows():
        runs_text = f"{r['runs']}" + (f" ({r['diverged']} diverged)" if r["diverged"] else "")
        lines.append(
            f"| {r['data']} | {r['modes']} | {row_label(r['model'])} | {r['remedy']} | "
            f"{_pm(r['modes_captured_mean'], r['modes_captured_std'])} / {r['modes']} | "
            f"{_pm(r['hq_mean'], r['hq_std'], scale=100)} | "
            f"{_pm(r['reverse_kl_mean'], r['reverse_kl_std'], '{:.3f}')} | "
            f"{_pm(r['material_coverage_mean'], r['material_coverage_std'], '{:.0f}', 100)} | "
            f"{_pm(r['seconds_mean'], None)} | {runs_text} |")
    blobs = summary[summary["data"].str.startswith("blobs") & (summary["remedy"] == "none")]
    if len(blobs):
        lines += ["", "## Against the material's claimed coverage table", "",
                  "The material (seed 000, section 11.3) claims the coverage below; its code has only 9 "
                  "centres, so its 16- and 32-mode columns cannot come from it. Beside each claim: the "
                  "same test run here (*material coverage*), and the share of modes captured under the "
                  "standard definition.", "",
                  "| model | modes | claimed coverage % | material coverage % (here) | modes captured % (here) |",
                  "|---|---|---|---|---|"]
        for _, r in blobs.iterrows():
            claim = MATERIAL_CLAIM.get(r["model"], {}).get(int(r["modes"]))
            lines.append(
                f"| {row_label(r['model'])} | {r['modes']} | "
                f"{claim if claim is not None else 'not claimed'} | "
                f"{_pm(r['material_coverage_mean'], r['material_coverage_std'], '{:.0f}', 100)} | "
                f"{_pm(r['modes_captured_mean'] / r['modes'], r['modes_captured_std'] / r['modes'], '{:.0f}', 100)} |")
    standard = [d for d in ("ring8", "grid25") if d in set(frame["data"])]
    if standard:
        lines += ["", "## Published figures on the same definitions", "",
                  "PacGAN (Lin et al. 2018), Table 1: mean over 10 runs (± standard error in the paper, "
                  "not shown), 400 epochs of 100k samples on a GPU with their own networks; the rows "
                  "above use far smaller CPU budgets. VEEGAN (Srivastava et al. 2017, Table 1) reports "
                  "GAN, ALI, Unrolled GAN (Metz et al. 2017) and VEEGAN on its 2D Ring and 2D Grid "
                  "under a different protocol (its own networks and training budget, no reverse KL); "
                  "Metz et al. 2017 show the 8-Gaussian ring only as pictures. Their figures are not "
                  "copied here: read them in the papers, and compare with care.", "",
                  "| data | source | model | modes | high quality % | reverse KL |",
                  "|---|---|---|---|---|---|"]
        for d in standard:
            for label, m, hq, rkl in PUBLISHED[d]:
                lines.append(f"| {d} | PacGAN Table 1 | {label} | {m} / {8 if d == 'ring8' else 25} | {hq} | {rkl} |")
            lines.append(f"| {d} | VEEGAN Table 1 | GAN, ALI, Unrolled GAN, VEEGAN | different protocol | "
                         "see the paper | not reported |")
            lines.append(f"| {d} | Metz et al. 2017 | Unrolled GAN | figures only (ring) | - | - |")
    lines += ["", "## References", ""] + [f"- {r}" for r in REFERENCES]
    lines += ["", "Files: `results.csv` (one row per run), `samples.png` (real points grey, generated "
              "red; first seed of each configuration), `experiment.json` (settings and times).", ""]
    return "\n".join(lines)


def plot_samples_grid(pictures: dict, runs: Sequence[Run], path: Path) -> Path:
    """One PNG: a row per model (and remedy), a column per mixture; real points in grey under the
    generated ones (red), mode centres as small black crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(dict.fromkeys((r.model, r.remedy) for r in runs))
    cols = list(dict.fromkeys(r.data for r in runs))
    modes = {r.data: r.modes for r in runs}
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.7 * len(cols) + 0.6, 2.7 * len(rows) + 0.4),
                             squeeze=False, dpi=90)
    for j, data in enumerate(cols):
        for i, (model, remedy) in enumerate(rows):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            entry = pictures.get((model, remedy, data))
            if entry is None:
                ax.text(0.5, 0.5, "diverged", ha="center", va="center", transform=ax.transAxes)
                continue
            samples, train = entry
            real = train.x.numpy()[:3000]
            lo, hi = real.min(axis=0), real.max(axis=0)
            pad = 0.15 * np.maximum(hi - lo, 1e-6)
            ax.scatter(real[:, 0], real[:, 1], s=1.5, c="#b0b0b0", rasterized=True, linewidths=0)
            ax.scatter(samples[:, 0], samples[:, 1], s=1.5, c="#d62728", alpha=0.5, rasterized=True,
                       linewidths=0)
            if train.centers is not None:
                ax.scatter(train.centers[:, 0], train.centers[:, 1], marker="x", s=8, c="black",
                           linewidths=0.6)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            ax.set_aspect("equal", adjustable="box")
            if i == 0:
                ax.set_title(f"{data} ({modes[data]} modes)", fontsize=9)
            if j == 0:
                label = row_label(model) + ("" if remedy == "none" else f"\n+ {remedy}")
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle("real (grey) vs generated (red)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_outputs(frame: pd.DataFrame, runs: Sequence[Run], pictures: dict, out: Path,
                  report: bool = True) -> dict[str, Path]:
    out = Path(out)
    files = {"csv": out / "results.csv", "markdown": out / "results.md", "picture": out / "samples.png"}
    frame.to_csv(files["csv"], index=False)
    plot_samples_grid(pictures, runs, files["picture"])
    files["markdown"].write_text(results_markdown(frame, runs))
    if report:
        html = _write_html_report(out, frame, files)
        if html is not None:
            files["report"] = html
    return files


def _write_html_report(out: Path, frame: pd.DataFrame, files: dict[str, Path]) -> Path | None:
    """DIR/report.html through gankit.report.write_experiment_report (the one call site)."""
    try:
        from ..report import Section, Table, write_experiment_report
    except ImportError:
        return None
    summary = summarise(frame)
    shown = summary[["data", "modes", "model", "remedy", "modes_captured_mean", "modes_captured_std",
                   "hq_mean", "hq_std", "reverse_kl_mean", "reverse_kl_std", "material_coverage_mean",
                   "material_coverage_std", "seconds_mean", "runs", "diverged"]]
    attrs = frame.attrs
    intro = (f"{len(frame)} runs, {', '.join(map(str, sorted(frame['steps'].unique())))} generator steps each; "
             f"total {attrs.get('wall_seconds', float('nan')):.0f} s wall, "
             f"{attrs.get('cpu_seconds', float('nan')):.0f} s CPU. Full tables, definitions and "
             "references: [results.md](results.md); every run: [results.csv](results.csv).")
    sections = [
        Section("Results", "Mean ± std over seeds. High quality: within 3 std of the nearest centre "
                "(2,500 samples). Material coverage: the reference material's KMeans test, for "
                "comparison only.",
                tables=[Table(shown, caption="Mode metrics per configuration",
                              formats={"hq_mean": ".1%", "material_coverage_mean": ".0%",
                                       "reverse_kl_mean": ".3f", "modes_captured_mean": ".1f",
                                       "seconds_mean": ".1f"})],
                figures=[(files["picture"], "Real (grey) vs generated (red), first seed of each configuration")]),
    ]
    standard = [d for d in ("ring8", "grid25") if d in set(frame["data"])]
    if standard:
        published = [{"data": d, "source": "PacGAN Table 1", "model": label, "modes": m, "hq %": hq,
                      "reverse KL": rkl} for d in standard for label, m, hq, rkl in PUBLISHED[d]]
        sections.append(Section("Published figures (PacGAN, Lin et al. 2018, Table 1)",
                                "Same definitions; 10 runs, 400 epochs of 100k samples on a GPU.",
                                tables=[Table(published, caption="Published rows")]))
    return write_experiment_report(out, "Mode collapse on 2-D Gaussian mixtures", sections, intro=intro,
                                   data={"results": frame.to_dict(orient="records")})


def _write_json(path: Path, frame: pd.DataFrame, runs: Sequence[Run]) -> None:
    from ..provenance import library_versions

    first = runs[0].config
    record = {
        "experiment": "mode-collapse",
        "runs": len(frame),
        "steps": first.steps,
        "vectorised": frame.attrs.get("vectorised"),
        "wall_seconds": round(frame.attrs.get("wall_seconds", 0.0), 3),
        "cpu_seconds": round(frame.attrs.get("cpu_seconds", 0.0), 3),
        "train_seconds": round(frame.attrs.get("train_seconds", 0.0), 3),
        "torch_threads": torch.get_num_threads(),
        "world_size": frame.attrs.get("world_size", 1),
        "ranks": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                  for r in frame.attrs.get("ranks", [])],
        "eval_samples": EVAL_SAMPLES,
        "material_samples": MATERIAL_SAMPLES,
        "configs": {f"{r.model}/{r.remedy}": {k: v for k, v in r.config.to_dict().items()
                                               if k not in ("data", "seed")} for r in runs},
        "versions": library_versions(),
        "command": sys.argv,
    }
    path.write_text(json.dumps(record, indent=2, default=str))


# ------------------------------------------------------------------------------ command line


def family_settings() -> list[str]:
    """The settings that belong to some rows only (given, they change those rows alone)."""
    return sorted({k for _, row in model_rows().values() for k in row.owns})


# settings every row takes from the command line (the rest keep `gankit train`'s defaults)
COMMON_FLAGS = ("spectral_norm",)


def register(experiment_subparsers) -> None:
    """Adds `gankit experiment mode-collapse`."""
    p = experiment_subparsers.add_parser(
        "mode-collapse", help="vanilla GAN vs WGAN-GP vs conditional WGAN-GP on 2-D mixtures",
        description="Train every combination of mode count, model, remedy and seed on 2-D Gaussian "
                    "mixtures, score each with the standard mode metrics (and the material's coverage "
                    "test), and write results.csv, results.md and samples.png to --out.")
    p.add_argument("--modes", nargs="+", default=[str(k) for k in DEFAULT_MODES], metavar="K",
                   help="mode counts of the blobs mixtures (default 4 8 16 32; ignored for ring8/grid25)")
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL",
                   help="; ".join(f"{name}: {row.label}" for name, (_, row) in model_rows().items())
                   + f" (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("--remedies", nargs="+", default=["none"], metavar="REMEDY",
                   help="none, minibatch (minibatch discrimination), pac (PacGAN, 4 samples)")
    p.add_argument("--data", default="blobs", help="blobs (with --modes), ring8 or grid25")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per configuration (0..N-1)")
    p.add_argument("--steps", type=int, help=f"generator steps per run (default {DEFAULT_STEPS})")
    from ..cli import add_setting, setting_fields
    family = p.add_argument_group("settings of one model family (the other rows keep their defaults)")
    rows = model_rows()
    for field in setting_fields(family_settings()):
        owners = ", ".join(name for name, (_, row) in rows.items() if field.name in row.owns)
        add_setting(family, field, help_prefix=f"{owners}: ")
    common = p.add_argument_group("settings of every row")
    for field in setting_fields(COMMON_FLAGS):
        add_setting(common, field)
    p.add_argument("--one-by-one", action="store_true",
                   help="train runs one after the other with the ordinary loop (same numbers, slower)")
    p.add_argument("--max-members", type=int, help="largest vectorised ensemble (default: no cap)")
    p.add_argument("--workers", type=int, default=1,
                   help="train this many ensembles at once in worker processes (default 1)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (under torchrun: cuda:LOCAL_RANK)")
    p.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto",
                   help="torch.distributed backend under torchrun (auto: nccl on CUDA, gloo on CPU); "
                        "each process trains whole ensembles, see docs/distributed.md")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress output")
    p.add_argument("--no-report", dest="report", action="store_false", help="skip report.html")
    p.add_argument("--out", help="folder for the results")
    p.set_defaults(handler=_cmd_mode_collapse)


def _cmd_mode_collapse(args) -> int:
    from ..cli import setting_values
    if not args.out:
        raise GankitError("no output folder given: pass --out DIR")
    if args.max_members is not None and args.max_members < 1:
        raise GankitError(f"--max-members must be at least 1, got {args.max_members}")
    if args.workers < 1:
        raise GankitError(f"--workers must be at least 1, got {args.workers}")
    from .. import distributed

    def run(device):
        return run_mode_collapse(modes=args.modes, models=args.models, remedies=args.remedies,
                                 data=args.data, seeds=args.seeds, steps=args.steps,
                                 one_by_one=args.one_by_one, out=args.out, device=device,
                                 max_members=args.max_members, workers=args.workers,
                                 progress=args.progress, report=args.report,
                                 **setting_values(args, family_settings() + list(COMMON_FLAGS)))

    if distributed.launched_by_torchrun() and distributed.env_ranks()[1] > 1:
        # started by torchrun with several processes: join the group (as `gankit train` does),
        # each rank trains its share of the runs, rank 0 writes and prints; leave the group
        with distributed.distributed_session(args.device, backend=getattr(args, "backend", None)) as ctx:
            frame = run(str(ctx.device))
        if not ctx.is_main:
            return 0
    else:
        frame = run(args.device)
    summary = summarise(frame)
    for _, r in summary.iterrows():
        remedy = "" if r["remedy"] == "none" else f" + {r['remedy']}"
        print(f"{r['data']:>8} {r['model'] + remedy:<22} modes {_pm(r['modes_captured_mean'], r['modes_captured_std'])}"
              f" / {r['modes']}  HQ {_pm(r['hq_mean'], r['hq_std'], scale=100)} %  "
              f"rKL {_pm(r['reverse_kl_mean'], r['reverse_kl_std'], '{:.3f}')}")
    files = frame.attrs.get("files", {})
    processes = frame.attrs.get("world_size", 1)
    print(f"{len(frame)} runs in {frame.attrs['wall_seconds']:.1f} s wall "
          f"({frame.attrs['cpu_seconds']:.1f} s CPU"
          + (f" over {processes} processes" if processes > 1 else "") + "); wrote "
          + ", ".join(str(v) for v in files.values()))
    return 0
