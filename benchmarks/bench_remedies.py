"""Remedies benchmark (issue "The rest of the material's remedy and metric tables").

1. Cost of the look-ahead: CPU ms per generator step of the vanilla GAN on ring8 (gankit's
   default networks and batch) without unrolling and with K = 5 look-ahead steps, second and
   first order (target: K = 5 at most 3x a plain step).
2. The remedy table on ring8 and grid25: vanilla GAN, PacGAN, WGAN-GP, Unrolled GAN (K = 5),
   MAD-GAN (8 generators), EBGAN, EBGAN-PT and BEGAN, 5 seeds each, one budget for all, through
   `gankit experiment mode-collapse`, beside PacGAN's published rows.
3. Longer budgets on grid25 for the best candidates (--long-steps), to see where PacGAN's
   published grid25 figures (24.8 modes, 93.6% high quality, reverse KL 0.04) are reached and at
   what CPU cost per run (target: under 2 CPU-minutes).
4. The image models on digits (DCGAN, WGAN-GP, EBGAN, BEGAN with gankit's default commands):
   FID and precision/recall in the offline judge's feature space, and perceptual path length in
   judge features and in pixels, with an untrained generator as the reference point (its own
   section, "remedies_images").
5. The comparisons behind the remedies' defaults (Adam 1e-3 for BCE GANs on points, 8 MAD-GAN
   generators, EBGAN margin 0.5, BEGAN's image gamma and lambda_k), one seed each (section
   "remedies_defaults").

    python -m benchmarks.bench_remedies [--seeds 5] [--steps 3000] [--workers 2] [--quick]

Experiment folders go to runs/bench_remedies/; the summary to docs/benchmarks.md, section
"remedies".
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from gankit.config import TrainConfig
from gankit.experiments.mode_collapse import cpu_seconds, row_label, run_mode_collapse
from gankit.experiments.mode_collapse_outputs import PUBLISHED, summarise
from gankit.models import DataSpec
from gankit.training import build_module, prepare_data
from gankit.training.loop import training_loop

from ._common import ROOT, markdown_table, write_section

OUT = ROOT / "runs" / "bench_remedies"
MODELS = ["gan", "wgan-gp", "unrolled-gan", "mad-gan", "ebgan", "ebgan-pt", "began"]
HEADER = ["data", "model", "steps", "modes captured", "high quality %", "reverse KL", "CPU s/run", "runs"]


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


def pm(mean, std, fmt="{:.1f}", scale=1.0) -> str:
    if mean is None or not np.isfinite(mean):
        return "n/a"
    text = fmt.format(mean * scale)
    return text + (f" ± {fmt.format(std * scale)}" if std is not None and np.isfinite(std) else "")


def rows_of(frame, cpu_per_run: dict) -> list[list]:
    rows = []
    for _, r in summarise(frame).iterrows():
        name = row_label(r["model"]) + ("" if r["remedy"] == "none" else f" + {r['remedy']}")
        steps = int(frame[(frame["model"] == r["model"]) & (frame["remedy"] == r["remedy"])]["steps"].iloc[0])
        rows.append([r["data"], name, steps,
                     f"{pm(r['modes_captured_mean'], r['modes_captured_std'])} / {r['modes']}",
                     pm(r["hq_mean"], r["hq_std"], scale=100),
                     pm(r["reverse_kl_mean"], r["reverse_kl_std"], "{:.3f}"),
                     f"{cpu_per_run.get((r['model'], r['remedy']), float('nan')):.0f}",
                     f"{r['runs']}" + (f" ({r['diverged']} diverged)" if r["diverged"] else "")])
    return rows


def cpu_per_run(frame) -> dict:
    # the experiment's `seconds` is wall time of each run (an ensemble's divided by its members);
    # every process runs one torch thread, so wall and CPU agree when the machine is not shared
    return {(m, r): float(g["seconds"].mean()) for (m, r), g in frame.groupby(["model", "remedy"])}


PACGAN_GRID25 = (24.8, 0.936, 0.04)     # modes, high-quality share, reverse KL (Lin et al. 2018)
CPU_BUDGET_S = 120.0


def grid25_verdict(frames) -> str:
    """Which configurations reach PacGAN's published grid25 row within 2 CPU-minutes per run."""
    lines = []
    for frame in frames:
        grid = frame[frame["data"] == "grid25"]
        for (model, remedy), g in grid.groupby(["model", "remedy"], sort=False):
            modes, hq, rkl = g["modes_captured"].mean(), g["hq"].mean(), g["reverse_kl"].mean()
            seconds, steps = g["seconds"].mean(), int(g["steps"].iloc[0])
            met = (modes >= PACGAN_GRID25[0] and hq >= PACGAN_GRID25[1] and rkl <= PACGAN_GRID25[2]
                   and seconds < CPU_BUDGET_S)
            name = row_label(model) + ("" if remedy == "none" else f" + {remedy}")
            lines.append((met, hq, f"{name} at {steps} steps: {modes:.1f} modes, {100 * hq:.1f}% high "
                                   f"quality, reverse KL {rkl:.3f}, {seconds:.0f} s/run"))
    if not lines:
        return ""
    met = [text for ok, _, text in lines if ok]
    best = max(lines, key=lambda item: item[1])[2]
    return ("Target (at least one remedy at or beyond PacGAN's grid25 row, 24.8 modes, 93.6% high "
            "quality, reverse KL 0.04, in under 120 CPU s per run): "
            + ("**met** by " + "; ".join(met) if met else f"**not met**; highest high-quality share: {best}")
            + ".")


def unroll_cost(steps: int, repeats: int) -> dict:
    """CPU ms per generator step: plain GAN, K=5 second order, K=5 first order (interleaved)."""
    settings = {"plain": {}, "K=5 second order": {"unroll": 5},
                "K=5 first order": {"unroll": 5, "unroll_order": "first"}}
    times = {name: [] for name in settings}
    for _ in range(repeats):
        for name, extra in settings.items():
            config = TrainConfig(data="ring8", model="gan", steps=steps, progress=False,
                                 tensorboard=False, **extra).resolve("points")
            train, _ = prepare_data(config)
            module = build_module(config, DataSpec.of(train))
            cpu = time.process_time()
            training_loop(module, train, config)
            times[name].append((time.process_time() - cpu) / steps * 1000)
    return {name: float(np.median(v)) for name, v in times.items()}


IMAGE_MODELS = ("dcgan", "wgan-gp", "ebgan", "began")


def image_models(quick: bool) -> tuple[list[list], list[list], int]:
    """Each image model's default command on digits: FID / precision / recall in the judge's
    feature space, and PPL in judge features and pixels (an untrained generator for reference)."""
    from gankit.evaluate import evaluate_run, feature_extractor
    from gankit.metrics import ppl_of_module
    from gankit.training import train_run

    quality, paths = [], []
    n_paths = 200 if quick else 2000
    reference_done = False
    for model in IMAGE_MODELS:
        config = TrainConfig(data="digits", model=model, progress=False, tensorboard=False,
                             steps=5 if quick else None)
        cpu = time.process_time()
        run = train_run(config, OUT / f"digits_{model}")
        train_cpu = time.process_time() - cpu
        steps = run.config.total_steps(len(run.train))
        scores = evaluate_run(run.run_dir, metrics=["fid", "prdc"], pictures=False)
        quality.append([model, steps, f"{train_cpu:.0f}", f"{scores['fid']:.2f}",
                        f"{scores['prdc']['precision']:.2f}", f"{scores['prdc']['recall']:.2f}"])
        extractor = feature_extractor("classifier", run.train, run.held_out)
        modules = [(f"trained ({steps} steps)", run.module)]
        if not reference_done:       # every model starts from the same DCGAN generator
            modules.insert(0, ("untrained", build_module(run.config, DataSpec.of(run.train))))
            reference_done = True
        for label, module in modules:
            judged = ppl_of_module(module, n_samples=n_paths, epsilon=1e-4, extractor=extractor.judge, rng=0)
            raw = ppl_of_module(module, n_samples=n_paths, epsilon=1e-4, space="raw", rng=0)
            paths.append([model if label != "untrained" else "any (same generator)", label,
                          f"{judged['ppl']:.4g} ± {judged['ppl_std']:.3g}",
                          f"{raw['ppl']:.4g} ± {raw['ppl_std']:.3g}"])
        log(f"{model}: trained in {train_cpu:.0f} CPU s", quality[-1], paths[-1])
    return quality, paths, n_paths


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3000, help="generator steps per run in the table")
    parser.add_argument("--long-steps", type=int, default=6000,
                        help="grid25 budget for the long rows (0: skip them)")
    # measured on one seed first: WGAN-GP at 10,000 steps fell to 17 modes at 3% high quality
    # (bridges between modes), Unrolled GAN first order at 6,000 reached 19 modes at 80%
    parser.add_argument("--long-models", nargs="*", default=["unrolled-gan"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=["cost", "table", "long", "images", "defaults"])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, prints instead of writing docs")
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    command = ("python -m benchmarks.bench_remedies " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    try:
        # two sections, so that either part can be run again without losing the other's figures
        if {"cost", "table", "long"} - set(args.skip):
            body = _run(args)
            print(body)
            if not args.quick:
                write_section("remedies", "Remedies: unrolled GAN, MAD-GAN, EBGAN, BEGAN beside "
                              "PacGAN and WGAN-GP", body, command)
        if "images" not in args.skip:
            body = _run_images(args)
            print(body)
            if not args.quick:
                write_section("remedies_images", "Image models on digits: FID and perceptual "
                              "path length (DCGAN, WGAN-GP, EBGAN, BEGAN)", body, command)
        if "defaults" not in args.skip:
            body = _run_defaults(args)
            print(body)
            if not args.quick:
                write_section("remedies_defaults", "How the remedies' defaults were chosen",
                              body, command)
    finally:
        torch.set_num_threads(threads)


def _run(args) -> str:
    seeds = 1 if args.quick else args.seeds
    steps = 5 if args.quick else args.steps
    parts = [f"Load average at the start: {os.getloadavg()[0]:.1f}. One torch thread per process; "
             f"{args.workers} worker process(es) for the experiments."]

    if "cost" not in args.skip:
        cost = unroll_cost(5 if args.quick else 100, 1 if args.quick else 3)
        plain = cost["plain"]
        parts.append(
            "### Cost of the look-ahead\n\nCPU ms per generator step, vanilla GAN on ring8 with "
            "gankit's default networks (3 x 128, batch 256), median of 3 interleaved runs of 100 steps. "
            "Target: K = 5 at most 3x a plain step.\n\n"
            + markdown_table(["training", "ms / step", "x plain"],
                             [[k, f"{v:.1f}", f"{v / plain:.2f}x"] for k, v in cost.items()])
            + "\n\nTarget: " + "; ".join(
                f"{k} {v / plain:.2f}x ({'met' if v / plain <= 3 else 'missed'})"
                for k, v in cost.items() if k != "plain") + ".")

    published = []
    for data in ("ring8", "grid25"):
        for label, m, hq, rkl in PUBLISHED[data]:
            published.append([data, f"{label} (PacGAN Table 1)", "400 epochs", f"{m} / {8 if data == 'ring8' else 25}",
                              hq, rkl, "GPU", 10])

    grid_frames = []
    if "table" not in args.skip:
        rows = []
        total_cpu = 0.0
        for data in ("ring8", "grid25"):
            cpu0 = cpu_seconds()
            frame = run_mode_collapse(data=data, models=MODELS, seeds=seeds, steps=steps,
                                      out=OUT / data, workers=args.workers, progress=True)
            pac = run_mode_collapse(data=data, models=["gan"], remedies=["pac"], seeds=seeds, steps=steps,
                                    out=OUT / f"{data}_pac", workers=args.workers, progress=True)
            total_cpu += cpu_seconds() - cpu0
            for f in (frame, pac):
                rows += rows_of(f, cpu_per_run(f))
                grid_frames.append(f)
            log(data, "done")
        rows += published
        parts.append(
            f"### The remedy table: {seeds} seeds, {steps} generator steps per run\n\n"
            "Every model with its `gankit train` defaults for points (Adam 1e-3 with linear decay to "
            "0; WGAN-GP: 2 critic steps, lambda 1), the same budget for all; `gankit experiment mode-collapse "
            f"--data DATA --models {' '.join(MODELS)} --seeds {seeds} --steps {steps}` and "
            "`--models gan --remedies pac`. Mean ± std over seeds; CPU s/run is each run's training "
            f"time (one thread). Total {total_cpu:.0f} CPU s. Published rows: PacGAN (Lin et al. 2018), "
            "Table 1, same metric definitions, 10 runs of 400 epochs of 100k samples on a GPU.\n\n"
            + markdown_table(HEADER, rows))

    if "long" not in args.skip and args.long_steps:
        long_steps = 10 if args.quick else args.long_steps
        frame = run_mode_collapse(data="grid25", models=args.long_models, seeds=seeds, steps=long_steps,
                                  out=OUT / "grid25_long", workers=args.workers, progress=True,
                                  unroll_order="first")
        rows = rows_of(frame, cpu_per_run(frame)) + [r for r in published if r[0] == "grid25"]
        grid_frames.append(frame)
        parts.append(
            f"### grid25 at {long_steps} steps\n\nThe candidates for PacGAN's published grid25 row "
            "(24.8 / 25 modes, 93.6% high quality, reverse KL 0.04) at a longer budget (Unrolled GAN "
            "first order here, K = 5). Target: reach it in under 120 CPU s per run.\n\n"
            + markdown_table(HEADER, rows))

    if grid_frames:
        parts.append(grid25_verdict(grid_frames))

    return "\n\n".join(parts)


# (label, experiment model, settings that differ from its defaults): one seed on ring8
DEFAULT_CHOICES = [
    ("BCE GANs on points: Adam 1e-3 (default)", "unrolled-gan", {"unroll_order": "first"}),
    ("BCE GANs on points: Adam 2e-4 (DCGAN's)", "unrolled-gan",
     {"unroll_order": "first", "lr_g": 2e-4, "lr_d": 2e-4}),
    ("MAD-GAN: 8 generators (default)", "mad-gan", {}),
    ("MAD-GAN: 4 generators", "mad-gan", {"generators": 4}),
    ("EBGAN: margin 0.5 (default)", "ebgan", {}),
    ("EBGAN: margin 1", "ebgan", {"margin": 1.0}),
]
BEGAN_IMAGE_CHOICES = [("gamma 1.0, lambda_k 0.01 (image default)", {}),
                       ("gamma 0.5, lambda_k 0.001 (the paper's)", {"gamma": 0.5, "lambda_k": 0.001})]


def _run_defaults(args) -> str:
    """The comparisons behind the defaults that gankit.config and the experiment's MODELS cite."""
    from gankit.evaluate import evaluate_run
    from gankit.training import train_run

    steps = 5 if args.quick else 3000
    rows = []
    for label, model, settings in DEFAULT_CHOICES:
        frame = run_mode_collapse(data="ring8", models=[model], seeds=[0], steps=steps,
                                  out=None, report=False, **settings)
        r = frame.iloc[0]
        rows.append([label, row_label(model), f"{r['modes_captured']:.0f} / 8",
                     f"{100 * r['hq']:.1f}", f"{r['reverse_kl']:.3f}"])
        log("defaults:", rows[-1])
    images = []
    for label, settings in BEGAN_IMAGE_CHOICES:
        config = TrainConfig(data="digits", model="began", progress=False, tensorboard=False,
                             steps=5 if args.quick else None, **settings)
        run = train_run(config, OUT / f"began_{'paper' if settings else 'default'}")
        scores = evaluate_run(run.run_dir, metrics=["fid", "prdc"], pictures=False)
        images.append([label, run.config.total_steps(len(run.train)),
                       f"{float(run.module.discriminator.equilibrium_k):.3f}", f"{scores['fid']:.1f}",
                       f"{scores['prdc']['precision']:.2f}", f"{scores['prdc']['recall']:.2f}"])
        log("defaults:", images[-1])
    return (
        f"Seed 0, ring8, {steps} generator steps, `gankit experiment mode-collapse` with the "
        "settings shown (Unrolled GAN first order, K = 5); every other setting the default.\n\n"
        + markdown_table(["setting", "model", "modes", "high quality %", "reverse KL"], rows)
        + "\n\nBEGAN on digits (`gankit train --data digits --model began`, 32x32, the DCGAN "
        "budget), FID and precision/recall in the judge's features on 2,000 samples, and k_t at "
        "the last step.\n\n"
        + markdown_table(["setting", "steps", "final k_t", "FID (judge)", "precision", "recall"], images))


def _run_images(args) -> str:
    quality, paths, n_paths = image_models(args.quick)
    return (
        "Each image model's default command, `gankit train --data digits --model MODEL` (32x32, "
        "unconditional, gankit's default budget for the model), then `gankit eval` on 2,000 "
        "samples against the held-out split in the feature space of gankit's offline judge "
        "(FID, and precision/recall with k = 5), and PPL over "
        f"{n_paths} paths: z-slerp, epsilon 1e-4, squared distance / epsilon^2, values outside the "
        "1st-99th percentiles dropped (Karras et al. 2019), in judge features and in pixel space "
        "([-1, 1] images); mean ± std over the kept paths. Lower PPL is smoother; an untrained "
        "generator is the reference point. One seed each, one torch thread.\n\n"
        + markdown_table(["model", "steps", "train CPU s", "FID (judge)", "precision", "recall"], quality)
        + "\n\n" + markdown_table(["model", "generator", "PPL (judge features)", "PPL (pixels)"], paths))
    return "\n\n".join(parts)


if __name__ == "__main__":
    main()
