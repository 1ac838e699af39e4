"""`gankit experiment stacked-mnist`: the standard 1,000-mode collapse benchmark on images.

The protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018, Table 2): train
each model, unconditionally, on Stacked MNIST (three MNIST digits stacked as the colour
channels: 1,000 modes, `gankit.data.stacked_mnist`), draw 26,000 samples, read each channel with
the digit judge, and count the digit triples seen (modes, of 1,000) and KL(p_model || uniform)
(`gankit.metrics.stacked_mnist`). The papers make collapse visible with a discriminator narrower
than the generator: `d_widths` "quarter" gives the conv discriminator a quarter of the
generator's base width (`--d-width` of `gankit train`), "full" the same width.

Rows (`model_row`): any registered variant that trains the conv networks, by name (dcgan,
wgan-gp, lsgan, hinge, ...), and NAME-pacK for the same with PacGAN packing of K images
(dcgan-pac2 is PacDCGAN2, the paper's best row). Every run uses `gankit train`'s defaults for
its model except the budget (`steps`), the discriminator's width and what `settings` give.

gankit's protocol differs from the papers' (see `PROTOCOL_DIFFERENCES`): 32x32 stacks (the conv
nets take 32 or 64; the 28x28 digits are resized), digits drawn from the 10k MNIST test images,
a judge trained on 8,000 of them, gankit's DCGAN networks and a CPU budget.

This module plans, trains and scores the runs and holds the command; the tables, pictures and
records are written by `stacked_mnist_outputs`.

Python: `run_stacked_mnist(models=..., seeds=2, steps=2000, d_widths=("quarter",), out=DIR)`
-> pandas.DataFrame (one row per run, columns `COLUMNS`).
"""
from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd
import torch

from ..config import TrainConfig
from ..data.stacked_mnist import NAME, PUBLISHED_STACKS
from ..errors import GankitError, TrainingDiverged
from .cli import clean_names
from ..metrics.stacked_mnist import MIN_SAMPLES, PUBLISHED_SAMPLES

DEFAULT_MODELS = ("dcgan", "dcgan-pac2", "wgan-gp")
# the discriminator's base width as a fraction of the generator's (--width)
D_WIDTHS = {"full": 1, "half": 2, "quarter": 4}
DEFAULT_D_WIDTHS = ("quarter",)
DEFAULT_SEEDS = 2
# generator steps per run: with the quarter-width discriminator at one thread, about 2
# (DCGAN, PacDCGAN2) to 4 (WGAN-GP) CPU-minutes (docs/benchmarks.md, section stacked_mnist)
DEFAULT_STEPS = 2000
HELD_OUT = 0.2          # of the drawn stacks, as `gankit train`; the experiment never reads them
SAMPLE_SEED = 12345     # samples are drawn with seed + this, apart from the training stream
# settings the experiment decides itself (rows, --d-width, --seeds, --steps, --stacks)
OWN_SETTINGS = ("data", "model", "conditional", "remedy", "pac", "d_width", "seed", "steps",
                "epochs", "n_samples", "held_out")
COLUMNS = ["model", "label", "d_width", "d_width_channels", "width", "seed", "steps", "modes",
           "kl", "samples", "train_cpu_seconds", "train_wall_seconds", "eval_seconds", "status"]


@dataclass(frozen=True)
class Row:
    """A model of the experiment: its name, how tables show it, the settings that make it."""
    name: str
    label: str
    settings: dict


@dataclass
class Run:
    model: str            # the row's name
    label: str
    d_width: str          # full, half, quarter
    seed: int
    config: TrainConfig   # resolved
    run_dir: Path | None = None


def conv_variants() -> dict:
    """The registered variants that train the conv networks, by --model name."""
    from ..gans import VARIANTS
    return {name: v for name, v in VARIANTS.items() if "conv" in v.nets}


def model_row(name: str) -> Row:
    """The row `name`: a conv variant's name (dcgan, wgan-gp, ...), or NAME-pacK for it with
    PacGAN packing of K images (dcgan-pac2: PacDCGAN2)."""
    text = str(name).strip().lower()
    match = re.fullmatch(r"(.+)-pac(\d+)", text)
    base, pac = (match.group(1), int(match.group(2))) if match else (text, None)
    variants = conv_variants()
    if base not in variants:
        raise GankitError(f"unknown model {name!r} for stacked-mnist; choose a variant that trains "
                          f"the conv networks ({', '.join(variants)}), or NAME-pacK for it with "
                          "PacGAN packing (dcgan-pac2)")
    variant = variants[base]
    settings = {"model": variant.model or variant.name}
    label = variant.label
    if pac is not None:
        if pac < 2:
            raise GankitError(f"{name!r}: PacGAN packs 2 or more images (dcgan-pac2); got pac {pac}")
        if not variant.scores_samples:
            raise GankitError(f"{name!r}: {base}'s discriminator is an autoencoder and cannot pack "
                              f"images; use {base} alone")
        settings.update(remedy="pac", pac=pac)
        label = f"Pac{label}{pac}"       # PacGAN's names: PacDCGAN2
    return Row(text, label, settings)


def _clean_seeds(seeds) -> list[int]:
    if isinstance(seeds, bool):
        raise GankitError(f"--seeds is a number of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise GankitError(f"--seeds is the number of seeds per model, at least 1; got {seeds}")
        return list(range(seeds))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise GankitError(f"seeds must be distinct non-negative integers, got {list(seeds)}")
    return out


def data_name(mnist=None) -> str:
    """The --data value of the runs: stacked-mnist, or stacked-mnist:PATH for other digits."""
    return NAME if mnist in (None, "") else f"{NAME}:{mnist}"


def stacks_drawn(stacks: int) -> int:
    """Stacks to draw so that about `stacks` remain for training after the held-out split."""
    return int(math.ceil(stacks / (1.0 - HELD_OUT)))


def plan_runs(models: Sequence[str] = DEFAULT_MODELS, d_widths: Sequence[str] = DEFAULT_D_WIDTHS,
              seeds=DEFAULT_SEEDS, steps: int | None = None, stacks: int = PUBLISHED_STACKS,
              mnist=None, **settings) -> list[Run]:
    """Every (model, discriminator width, seed) as a `Run` with its resolved config; checks
    every input first. settings: further TrainConfig fields for every run (width, batch_size,
    threads, ...)."""
    rows = [model_row(m) for m in clean_names(models, "model")]
    widths = clean_names(d_widths, "discriminator width (--d-width)", tuple(D_WIDTHS))
    seed_list = _clean_seeds(seeds)
    steps = DEFAULT_STEPS if steps is None else steps
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise GankitError(f"--steps must be a whole number of generator steps, at least 1; got {steps}")
    if isinstance(stacks, bool) or int(stacks) != stacks or stacks < 1:
        raise GankitError(f"--stacks is the number of training stacks, at least 1; got {stacks}")
    own = sorted(set(settings) & set(OWN_SETTINGS))
    if own:
        raise GankitError(f"the experiment sets {', '.join(own)} itself (rows, --d-width, --seeds, "
                          "--steps, --stacks)")
    unknown = sorted(set(settings) - set(TrainConfig.__dataclass_fields__))
    if unknown:
        raise GankitError(f"unknown training setting(s) {unknown}")
    runs = []
    for row in rows:
        for width_name in widths:
            for seed in seed_list:
                values = dict(progress=False, tensorboard=False, **settings)
                values.update(data=data_name(mnist), n_samples=stacks_drawn(int(stacks)),
                              held_out=HELD_OUT, seed=seed, steps=int(steps), **row.settings)
                config = TrainConfig(**values).resolve("images")
                if width_name != "full":
                    if not config.variant().scores_samples:
                        raise GankitError(f"{row.name}'s discriminator is an autoencoder sized by "
                                          "--width; run it with --d-width full")
                    d_width = max(1, config.width // D_WIDTHS[width_name])
                    config = TrainConfig(**values, d_width=d_width).resolve("images")
                runs.append(Run(row.name, row.label, width_name, seed, config))
    return runs


def cpu_seconds() -> float:
    """CPU time of this process, every thread (user + system)."""
    return time.process_time()


# ------------------------------------------------------------------------------ one run


class _DataCache:
    """The prepared stacks of the last seed: runs of one seed share them, and one set of
    25,600 stacks (315 MB) is held at a time."""

    def __init__(self):
        self.key, self.data = None, None

    def get(self, config: TrainConfig):
        from ..training import prepare_data

        key = (config.data, config.n_samples, config.seed, config.image_size, config.held_out)
        if key != self.key:
            self.key, self.data = None, None          # free the old stacks first
            self.data = prepare_data(config)
            self.key = key
        return self.data


def train_and_score(run: Run, data, judge, samples: int) -> tuple[dict, torch.Tensor | None]:
    """(the run's row, 64 samples for its picture or None) after training `run` on `data`
    (its training and held-out stacks) and reading `samples` samples with `judge`."""
    from ..metrics.stacked_mnist import stacked_mnist_modes
    from ..training import train_run

    config = run.config
    row = {"model": run.model, "label": run.label, "d_width": run.d_width,
           "d_width_channels": config.d_width or config.width, "width": config.width,
           "seed": run.seed, "steps": config.steps, "samples": samples}
    wall, cpu = time.perf_counter(), cpu_seconds()
    try:
        trained = train_run(config, run.run_dir, data=data)
    except TrainingDiverged as exc:
        row.update(modes=math.nan, kl=math.nan, train_cpu_seconds=cpu_seconds() - cpu,
                   train_wall_seconds=time.perf_counter() - wall, eval_seconds=math.nan,
                   status=str(exc).split(":")[0])        # "training diverged at step N"
        return row, None
    row.update(train_cpu_seconds=cpu_seconds() - cpu, train_wall_seconds=time.perf_counter() - wall)
    t0 = time.perf_counter()
    module = trained.module.to("cpu")
    x, _ = module.sample(samples, rng=torch.Generator().manual_seed(run.seed + SAMPLE_SEED))
    if not torch.isfinite(x).all():
        row.update(modes=math.nan, kl=math.nan, eval_seconds=time.perf_counter() - t0,
                   status="non-finite samples")
        return row, None
    scores = stacked_mnist_modes(x, judge, min_samples=min(MIN_SAMPLES, samples))
    row.update(modes=scores["modes"], kl=scores["kl"], eval_seconds=time.perf_counter() - t0,
               status="ok", counts=scores["counts"])
    return row, x[:64].clone()


def load_judge(mnist, image_size: int, cache_dir=None):
    """The digit judge at the stacks' size (trained once, cached: gankit.metrics.stacked_mnist)."""
    from ..metrics.stacked_mnist import digit_judge
    return digit_judge(mnist, image_size=image_size, cache_dir=cache_dir)


# ------------------------------------------------------------------------------ the experiment


def run_stacked_mnist(models: Sequence[str] = DEFAULT_MODELS,
                      d_widths: Sequence[str] = DEFAULT_D_WIDTHS, seeds=DEFAULT_SEEDS,
                      steps: int | None = None, *, samples: int = PUBLISHED_SAMPLES,
                      stacks: int = PUBLISHED_STACKS, mnist=None, out: str | Path | None = None,
                      judge=None, cache_dir=None, progress: bool = False, report: bool = True,
                      **settings) -> pd.DataFrame:
    """Train and score every (model, discriminator width, seed); one row per run (`COLUMNS`).

    models: row names (`model_row`). d_widths: full, half, quarter (the discriminator's base
    width as a share of --width). seeds: a count (0..n-1) or a list. steps: generator steps per
    run (default DEFAULT_STEPS). samples: generated samples read per run (26,000 as published;
    fewer, down to 1,000, for quick runs, not comparable with the papers). stacks: training
    stacks (25,600 as published). mnist: a folder of MNIST IDX files (default: the shared 10k
    test images). judge: a digit judge to read with (default: `digit_judge` at the stacks' size,
    cached under cache_dir). settings: further TrainConfig fields for every run.
    out: folder for results.csv, results.md, samples/, report.html, experiment.json and the run
    directories (runs/); None writes nothing.

    The frame's attrs hold "wall_seconds", "cpu_seconds" (this process, every thread),
    "judge" (its description), "samples", "stacks" (training stacks per run), "threads" and
    "files" (what was written)."""
    if isinstance(samples, bool) or int(samples) != samples or samples < MIN_SAMPLES:
        raise GankitError(f"--samples must be at least {MIN_SAMPLES:,} (one per triple; "
                          f"{PUBLISHED_SAMPLES:,} as published), got {samples}")
    runs = plan_runs(models, d_widths, seeds, steps, stacks, mnist, **settings)
    out = _prepare_out(out)
    say = (lambda m: print(f"gankit: {m}", file=sys.stderr, flush=True)) if progress else (lambda m: None)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    if judge is None:
        say("loading (or training) the digit judge")
        judge = load_judge(mnist, runs[0].config.image_size, cache_dir)
    cache, rows, pictures = _DataCache(), [], {}
    # seeds outermost: the runs of one seed share its stacks
    for i in sorted(range(len(runs)), key=lambda i: (runs[i].seed, i)):
        run = runs[i]
        if out is not None:
            run.run_dir = out / "runs" / f"{run.model}-{run.d_width}-seed{run.seed}"
        row, picture = train_and_score(run, cache.get(run.config), judge, int(samples))
        rows.append((i, row))
        if picture is not None and (run.model, run.d_width) not in pictures:
            pictures[(run.model, run.d_width)] = (run.seed, picture)
        say(f"{run.label} (D {run.d_width}) seed {run.seed}: {row['status']}, modes {row['modes']}, "
            f"KL {row['kl']:.3f}, {row['train_cpu_seconds']:.0f} CPU s of training")
    rows.sort(key=lambda pair: pair[0])
    counts = [row.pop("counts", None) for _, row in rows]
    frame = pd.DataFrame([row for _, row in rows], columns=COLUMNS)
    from ..metrics.stacked_mnist import describe_judge
    frame.attrs.update({"judge": describe_judge(judge), "samples": int(samples),
                        "stacks": len(cache.data[0]) if cache.data else None,
                        "threads": torch.get_num_threads(), "files": {}})
    cache.data = None
    frame.attrs.update(wall_seconds=time.perf_counter() - wall0, cpu_seconds=cpu_seconds() - cpu0)
    if out is not None:
        from .stacked_mnist_outputs import write_outputs
        files = write_outputs(frame, runs, counts, pictures, out, report=report)
        frame.attrs["files"] = {k: str(v) for k, v in files.items()}
    return frame


def _prepare_out(out) -> Path | None:
    if out is None:
        return None
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise GankitError(f"--out {out} exists and is not a folder")
    if (out / "runs").is_dir() and any((out / "runs").iterdir()):
        raise GankitError(f"{out} already holds the runs of an experiment; choose another --out "
                          "or delete that folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


# ------------------------------------------------------------------------------ command line

# settings every row takes from the command line (the rest keep `gankit train`'s defaults)
COMMON_FLAGS = ("width", "batch_size", "latent_dim", "image_size", "threads", "spectral_norm")


def register(experiment_subparsers) -> None:
    """Adds `gankit experiment stacked-mnist`."""
    p = experiment_subparsers.add_parser(
        "stacked-mnist", help="Stacked MNIST: modes (of 1,000) and KL of DCGAN, PacDCGAN2, WGAN-GP",
        description="Train each model unconditionally on Stacked MNIST (3 MNIST digits stacked as "
                    "channels: 1,000 modes), read 26,000 samples channel by channel with the digit "
                    "judge, and write results.csv, results.md (beside PacGAN's Table 2), a sample "
                    "grid per model and report.html to --out.")
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL",
                   help=f"conv variants by name ({', '.join(conv_variants())}), or NAME-pacK with "
                        f"PacGAN packing of K images (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("--d-width", nargs="+", default=list(DEFAULT_D_WIDTHS), metavar="WIDTH",
                   dest="d_widths", help="the discriminator's base width: full (= --width), half "
                   "or quarter (the papers' collapse protocol; default quarter)")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per model (0..N-1)")
    p.add_argument("--steps", type=int, help=f"generator steps per run (default {DEFAULT_STEPS})")
    p.add_argument("--samples", type=int, default=PUBLISHED_SAMPLES,
                   help=f"generated samples read per run (default {PUBLISHED_SAMPLES:,} as "
                        f"published; at least {MIN_SAMPLES:,}; fewer are not comparable)")
    p.add_argument("--stacks", type=int, default=PUBLISHED_STACKS,
                   help=f"training stacks (default {PUBLISHED_STACKS:,} as published)")
    p.add_argument("--mnist", help="folder of MNIST IDX files to draw digits from (default: "
                                   "$GANKIT_MNIST or ../shared/data/mnist)")
    from ..cli import add_setting, setting_fields
    common = p.add_argument_group("settings of every run")
    for field in setting_fields(COMMON_FLAGS):
        add_setting(common, field)
    from .cli import add_output_options
    add_output_options(p)
    p.set_defaults(handler=_cmd_stacked_mnist)


def _cmd_stacked_mnist(args) -> int:
    from ..cli import setting_values
    from .stacked_mnist_outputs import print_summary

    if not args.out:
        raise GankitError("no output folder given: pass --out DIR")
    frame = run_stacked_mnist(models=args.models, d_widths=args.d_widths, seeds=args.seeds,
                              steps=args.steps, samples=args.samples, stacks=args.stacks,
                              mnist=args.mnist, out=args.out, progress=args.progress,
                              report=args.report, **setting_values(args, list(COMMON_FLAGS)))
    print_summary(frame)
    return 0
