"""The reference material's mode-collapse experiment, run for real.

Vanilla GAN, WGAN-GP and conditional WGAN-GP ("cwgan-gp": WGAN-GP conditioned on each point's
mode label) on 2-D Gaussian mixtures with 4, 8, 16 and 32 modes (blobsK: the material's layout
generalised, see gankit.data.toy), or on the standard ring8 / grid25 of VEEGAN and PacGAN; with
optional remedies (minibatch discrimination, PacGAN packing); several seeds per configuration.
The further remedies are models of their own: Unrolled GAN (K = 5 look-ahead steps), MAD-GAN
(8 generators), EBGAN, EBGAN with the pull-away term, and BEGAN: every row a variant declares
(`gankit.gans`, `model_rows`).

Every run uses the defaults of `gankit train` for its model (`TrainConfig(...).resolve`), except
the number of generator steps, which is the experiment's budget (`--steps`; by default 1,000, or
the row's own where it declares one: the conditional points recipes). Every run is scored
with the standard mode metrics (`gankit.metrics.mode_metrics` on 2,500 samples: modes captured,
share of high-quality samples within 3 std of a centre, reverse KL), the fit inside each mode
(mode_collapse_scoring) and, only for comparison,
with the material's own "coverage" test (`material_coverage`: KMeans centres of the real data,
a centre counts if one of 10,000 generated samples lies within 0.1 of it, in the material's
scaling of the data to 0.9 of its largest absolute value per axis).

The seeds of one configuration (model, remedy, mixture) train together as one vectorised
ensemble (gankit.training.ensemble); `one_by_one=True` trains them one after the other with the
ordinary training loop, with the same numbers up to float rounding. The look-ahead,
multi-generator and autoencoder models always train with the ordinary loop.

This module plans, trains and scores the runs and holds the command; the tables, pictures and
records it writes are in `mode_collapse_outputs`.

Python: `run_mode_collapse(...) -> pandas.DataFrame`. Command line:
`gankit experiment mode-collapse --modes 4 8 16 32 --models gan wgan-gp cwgan-gp --seeds 5 --out DIR`.
Under `torchrun --nproc_per_node=N -m gankit experiment mode-collapse ...` the runs are spread over
N processes, whole ensembles each (`plan_shards`), and rank 0 writes the same table.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from ..errors import GankitError
from .cli import clean_names

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


def row_steps(name: str, steps: int | None = None) -> int:
    """The generator steps row `name` trains for: `steps` when given, else the row's own budget
    (a recipe's), else the experiment's DEFAULT_STEPS."""
    return steps or model_rows()[name][1].steps or DEFAULT_STEPS


def row_label(name: str) -> str:
    """How row `name` is shown in tables (its name, when no variant declares it)."""
    rows = model_rows()
    return rows[name][1].label if name in rows else name


REMEDIES = {"none": None, "minibatch": "minibatch", "pac": "pac"}
DATA = ("blobs", "ring8", "grid25", "grid100")
DEFAULT_MODES = (4, 8, 16, 32)
DEFAULT_MODELS = ("gan", "wgan-gp", "cwgan-gp")
DEFAULT_SEEDS = 5
# The budget per run, in generator steps, of the rows that declare none of their own: sized for
# the 60-run default grid on a 2-core CPU (docs/benchmarks.md, "Figures behind the defaults").
# Conditional WGAN-GP trains its points recipe for the recipe's budget (gankit.gans.wgan_gp).
DEFAULT_STEPS = 1000
EVAL_SAMPLES = 2500          # the standard protocol (VEEGAN, PacGAN)
MATERIAL_SAMPLES = 10_000    # the material's coverage test draws 10,000 samples
MATERIAL_THRESHOLD = 0.1     # ... and counts a centre within 0.1 (its data scaled to 0.9 max)
COLUMNS = ["data", "modes", "model", "remedy", "sampling", "seed", "modes_captured", "hq",
           "reverse_kl", "spread_mean", "spread_worst", "offset_mean", "offset_worst", "c2st",
           "c2st_floor", "spread_floor", "offset_floor", "material_coverage", "acceptance",
           "seconds", "steps", "status"]
# the fit of the distribution inside each mode, beside the material's and PacGAN's metrics
# (which a point mass on every centre passes): gankit.metrics.mode_fit and a classifier
# two-sample test against held-out real points, with the floor of two real samples
FIT_COLUMNS = ("spread_mean", "spread_worst", "offset_mean", "offset_worst", "c2st", "c2st_floor",
               "spread_floor", "offset_floor")
SAMPLINGS = ("raw", "drs", "mh")


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
                          "(with --modes), ring8, grid25 or grid100")
    rows = model_rows()
    models = clean_names(models, "model", tuple(rows))
    if remedies is None or isinstance(remedies, str):
        remedies = [remedies]
    remedies = clean_names(["none" if r is None else r for r in remedies], "remedy",
                           tuple(REMEDIES))
    seed_list = _clean_seeds(seeds)
    if data == "blobs":
        datasets = [(f"blobs{k}", k) for k in _clean_modes(modes)]
    else:
        from ..data.toy import mixture_spec
        datasets = [(data, len(mixture_spec(data)[0]))]
    if steps is not None:
        steps = int(steps)
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
                    values.update(data=name, seed=seed, remedy=REMEDIES[remedy],
                                  steps=row_steps(model, steps), **row_settings(model))
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


# ------------------------------------------------------------------------------ the experiment


def plan_shards(runs: Sequence[Run], trains: Sequence[Dataset], world_size: int, *,
                vectorised: bool = True, device: str = "cpu",
                max_members: int | None = None) -> list[list[int]]:
    """Which runs each of `world_size` processes trains: a list per rank of indices into `runs`,
    each in plan order.

    Whole training units (`gankit.training.ensemble.training_units`: the ensembles one process
    would train, or single runs) go to the ranks, never parts of one: longest first, each to the
    rank with the least work so far (ties to the lower rank), so every rank computes exactly what
    one process computes for those runs and the table does not depend on the number of processes.
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
    from ..training.ensemble import _unit_cost, training_units

    world_size = int(world_size)
    if world_size < 1:
        raise GankitError(f"world size must be at least 1, got {world_size}")
    units = training_units([r.config for r in runs], trains, vectorised=vectorised, device=device,
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
                      progress: bool = False, report: bool = True, refine: Sequence[str] = (),
                      **settings) -> pd.DataFrame:
    """Train and score every combination; returns one row per run and sampling (columns
    `COLUMNS`): the raw samples, and with refine=("drs", "mh") also the samples those
    discriminator-driven samplers keep (gankit.refine), with their acceptance rate.

    modes: mode counts of the blobs mixtures (ignored for ring8/grid25). models: gan, wgan-gp,
    cwgan-gp. remedies: none, minibatch, pac. seeds: a count (seeds 0..n-1) or a list.
    steps: generator steps per run (default: the row's own budget where it declares one, as
    conditional WGAN-GP's points recipe does, else DEFAULT_STEPS). one_by_one: train each run
    with the ordinary loop instead of vectorised ensembles (same numbers up to float rounding).
    max_members: the largest ensemble (default: the seeds of one configuration).
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
    from ..training import prepare_data

    refine = [str(m).strip().lower() for m in ([refine] if isinstance(refine, str) else refine)]
    unknown = [m for m in refine if m not in SAMPLINGS[1:]]
    if unknown:
        raise GankitError(f"unknown refinement {unknown}; choose from {', '.join(SAMPLINGS[1:])}")
    runs = plan_runs(modes, models, remedies, data, seeds, steps, **settings)
    if max_members is None:
        # One ensemble per cell of the table (a model, remedy and mixture: its seeds, which plan
        # order keeps together). Such units balance over workers and processes, whose number
        # then changes no figure, and a conditional ensemble pads no labels.
        max_members = len({run.seed for run in runs})
    sharded = distributed.is_active()
    rank, world = (distributed.get_rank(), distributed.get_world_size()) if sharded else (0, 1)
    out = _prepare_out(out, rank)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()

    # every rank prepares every run's data (cheap, and what the units are made of); modules
    # only for its own runs
    trains = [prepare_data(run.config)[0] for run in runs]
    if sharded:
        mine = plan_shards(runs, trains, world, vectorised=not one_by_one, device=device,
                           max_members=max_members)[rank]
    else:
        mine = list(range(len(runs)))
    modules, results, train_seconds = _train_share(
        runs, trains, mine, one_by_one=one_by_one, device=device, max_members=max_members,
        workers=workers, progress=progress, rank=rank)
    from .mode_collapse_scoring import score_share
    rows, pictures = score_share(runs, trains, mine, modules, results, refine)
    # one message per rank: its rows, at most one picture per cell, its times
    parts = distributed.gather_objects({"rows": rows, "pictures": pictures, "runs": len(mine),
                                        "train_seconds": train_seconds,
                                        "cpu_seconds": cpu_seconds() - cpu0})
    frame, pictures = _merge_shares(runs, trains, parts)
    ranks = [{"runs": p["runs"], "train_seconds": p["train_seconds"], "cpu_seconds": p["cpu_seconds"]}
             for p in parts]
    others_cpu = sum(p["cpu_seconds"] for j, p in enumerate(parts) if j != rank)

    def cpu_total():
        return cpu_seconds() - cpu0 + others_cpu

    frame.attrs.update({"wall_seconds": time.perf_counter() - wall0, "cpu_seconds": cpu_total(),
                        "train_seconds": max(p["train_seconds"] for p in parts),
                        "steps": sorted({r.config.steps for r in runs}),
                        "vectorised": not one_by_one,
                        "workers": workers, "threads": torch.get_num_threads(),
                        "world_size": world, "ranks": ranks, "files": {}})
    if out is not None and rank == 0:
        _write_files(frame, runs, pictures, out, report, wall0, cpu_total)
    if sharded:
        distributed.barrier()        # every rank returns once the files are written
    return frame


def _prepare_out(out: str | Path | None, rank: int) -> Path | None:
    """The output folder, checked on every rank and created by rank 0 (None: write nothing)."""
    out = Path(out) if out is not None else None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise GankitError(f"--out {out} exists and is not a folder")
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
    return out


def _train_share(runs: Sequence[Run], trains: Sequence[Dataset], mine: list[int], *,
                 one_by_one: bool, device: str, max_members: int | None, workers: int,
                 progress: bool, rank: int) -> tuple[list, list, float]:
    """(modules, training results, training wall seconds) of this rank's runs `mine`."""
    from ..models import DataSpec
    from ..training import build_module
    from ..training.ensemble import train_many

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
    return modules, results, time.perf_counter() - train_t0


def _merge_shares(runs: Sequence[Run], trains: Sequence[Dataset],
                  parts: list[dict]) -> tuple[pd.DataFrame, dict]:
    """The frame of every rank's rows in plan order, and one picture per cell: cell ->
    (samples, training data) of the cell's first good run in plan order."""
    rows = {key: row for part in parts for key, row in part["rows"].items()}
    cells: dict[tuple, tuple[int, np.ndarray]] = {}
    for part in parts:
        for cell, (i, samples) in part["pictures"].items():
            if cell not in cells or i < cells[cell][0]:
                cells[cell] = (i, samples)       # the first good run of the cell in plan order
    pictures = {cell: (samples, trains[i]) for cell, (i, samples) in cells.items()}
    # raw rows first, in plan order, then each refinement's rows
    order = sorted(rows, key=lambda key: (SAMPLINGS.index(key[1]), key[0]))
    return pd.DataFrame([rows[key] for key in order], columns=COLUMNS), pictures


def _write_files(frame: pd.DataFrame, runs: Sequence[Run], pictures: dict, out: Path, report: bool,
                 wall0: float, cpu_total: Callable[[], float]) -> None:
    """Rank 0's files in `out`; the frame's times then include writing them."""
    from .mode_collapse_outputs import write_outputs, write_record

    files = write_outputs(frame, runs, pictures, out, report=report)
    frame.attrs["files"] = {k: str(v) for k, v in files.items()}
    frame.attrs["wall_seconds"] = time.perf_counter() - wall0
    frame.attrs["cpu_seconds"] = cpu_total()
    write_record(out / "experiment.json", frame, runs)


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
    p.add_argument("--data", default="blobs",
                   help="blobs (with --modes, e.g. 4 8 16 32 64), ring8, grid25 or grid100")
    p.add_argument("--refine", nargs="+", default=[], metavar="METHOD",
                   help="also score the samples discriminator-driven sampling keeps: drs, mh "
                        "(extra rows, sampling column; default: raw samples only)")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per configuration (0..N-1)")
    p.add_argument("--steps", type=int, help=f"generator steps per run (default {DEFAULT_STEPS}, "
                   "or the row's own: conditional WGAN-GP's points recipe)")
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
    p.add_argument("--max-members", type=int, help="largest vectorised ensemble (default: the "
                   "seeds of one configuration)")
    p.add_argument("--workers", type=int, default=1,
                   help="train this many ensembles at once in worker processes (default 1)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (under torchrun: cuda:LOCAL_RANK)")
    p.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto",
                   help="torch.distributed backend under torchrun (auto: nccl on CUDA, gloo on CPU); "
                        "each process trains whole ensembles, see docs/distributed.md")
    from .cli import add_output_options
    add_output_options(p)
    p.set_defaults(handler=_cmd_mode_collapse)


def _cmd_mode_collapse(args) -> int:
    from ..cli import setting_values
    from .mode_collapse_outputs import print_summary

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
                                 progress=args.progress, report=args.report, refine=args.refine,
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
    print_summary(frame)
    return 0
