"""Remedies benchmark (issue "The rest of the material's remedy and metric tables").

1. Cost of the look-ahead (its own section, "remedies_cost"): CPU ms per generator step of the
   vanilla GAN on ring8 (gankit's default networks and batch) without unrolling and with K = 5
   look-ahead steps, second and first order, with Metz et al.'s fusion (an option, off by
   default), the cost of one look-ahead step against one critic step, and torch.profiler's
   operator table (target: K = 5 at most 3x a plain step).
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
        [--skip cost table long images defaults] [--fused-quality STEPS]

Experiment folders go to runs/bench_remedies/; the summaries to docs/benchmarks.md, sections
"remedies_cost", "remedies", "remedies_images" and "remedies_defaults".
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from gankit.config import TrainConfig
from gankit.experiments.mode_collapse import cpu_seconds, row_label, run_mode_collapse
from gankit.experiments.mode_collapse_outputs import PUBLISHED, summarise
from gankit.models import DataSpec
from gankit.training import build_module, prepare_data
from gankit.training.loop import training_loop

from ._common import (ROOT, command_line, load_text, markdown_table, one_thread, verdict,
                      write_section)

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


UNROLL_SETTINGS = {
    "plain": {},
    "K=5 second order": {"unroll": 5},
    "K=5 first order": {"unroll": 5, "unroll_order": "first"},
    # Metz et al.'s fusion: D's own update serves as the first look-ahead step (an option of
    # gankit.training.unrolled, off by default: it computes something else)
    "K=5 first order, fused": {"unroll": 5, "unroll_order": "first", "_fuse": True},
    "K=5 second order, fused": {"unroll": 5, "_fuse": True},
    # the cost of one look-ahead step against one discriminator step
    "K=1 first order": {"unroll": 1, "unroll_order": "first"},
    "K=3 first order": {"unroll": 3, "unroll_order": "first"},
    "plain, n_critic 3": {"n_critic": 3},
}


def _train_timed(settings: dict, steps: int, seed: int = 0) -> tuple[float, object]:
    """CPU ms per generator step of the vanilla GAN on ring8 with `settings`; the module."""
    import gankit.training.loop as loop_module
    from gankit.training import unrolled

    settings = dict(settings)
    fuse = settings.pop("_fuse", False)
    config = TrainConfig(data="ring8", model="gan", steps=steps, progress=False, tensorboard=False,
                         seed=seed, **settings).resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    original = loop_module.unrolled_generator_loss
    if fuse:
        loop_module.unrolled_generator_loss = (
            lambda *a, **k: unrolled.unrolled_generator_loss(*a, fuse_first=True, **k))
    try:
        cpu = time.process_time()
        training_loop(module, train, config)
        cpu = time.process_time() - cpu
    finally:
        loop_module.unrolled_generator_loss = original
    return cpu / steps * 1000, (module, train)


def unroll_cost(steps: int, repeats: int) -> dict:
    """CPU ms per generator step for every setting of UNROLL_SETTINGS (interleaved, median)."""
    times = {name: [] for name in UNROLL_SETTINGS}
    for extra in ({}, UNROLL_SETTINGS["K=5 second order"]):
        _train_timed(extra, 3)          # warm-up: first calls allocate and initialise
    for _ in range(repeats):
        for name, extra in UNROLL_SETTINGS.items():
            times[name].append(_train_timed(extra, steps)[0])
    return {name: float(np.median(v)) for name, v in times.items()}


def unroll_profile(steps: int = 30) -> str:
    """torch.profiler's operator table (self CPU time) for K=5 first order: where a step goes."""
    from torch.profiler import ProfilerActivity, profile

    config = TrainConfig(data="ring8", model="gan", steps=steps, progress=False, tensorboard=False,
                         unroll=5, unroll_order="first").resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        training_loop(module, train, config)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:10]
    rows = [[e.key, e.count // steps, f"{e.self_cpu_time_total / steps / 1000:.2f}",
             f"{100 * e.self_cpu_time_total / total:.1f}%"] for e in top]
    products = sum(e.self_cpu_time_total for e in events if e.key in ("aten::mm", "aten::addmm",
                                                                       "aten::bmm", "aten::baddbmm"))
    return (markdown_table(["operator", "calls per step", "self CPU ms per step", "share"], rows)
            + f"\n\nMatrix products (aten::mm, addmm) take {100 * products / total:.0f}% of the self "
            f"CPU time; the rest is spread over {len(events)} kinds of small operators (activations "
            "and their backward, the Adam arithmetic, views), none above a few percent.")


def fused_quality(seeds: int, steps: int) -> list[list]:
    """ring8 quality of K=5 first order, plain and fused, at `steps` (mode metrics, 2,500 samples)."""
    from gankit.metrics import mode_metrics

    rows = []
    for name in ("K=5 first order", "K=5 first order, fused"):
        scores = []
        for seed in range(seeds):
            ms, (module, train) = _train_timed(UNROLL_SETTINGS[name], steps, seed)
            samples, _ = module.sample(2500, rng=torch.Generator().manual_seed(seed))
            m = mode_metrics(samples.numpy(), train.centers, train.mode_std)
            scores.append((m["modes"], 100 * m["hq"], m["reverse_kl"], ms * steps / 1000))
        a = np.array(scores)
        rows.append([name, steps, f"{a[:, 0].mean():.1f} ± {a[:, 0].std():.1f} / 8",
                     f"{a[:, 1].mean():.1f} ± {a[:, 1].std():.1f}",
                     f"{a[:, 2].mean():.3f} ± {a[:, 2].std():.3f}", f"{a[:, 3].mean():.0f}", seeds])
    return rows


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
    parser.add_argument("--fused-quality", type=int, default=0, metavar="STEPS",
                        help="cost part: also train K=5 first order plain and fused on ring8 for "
                             "3 seeds at this budget and compare their mode metrics")
    parser.add_argument("--quick", action="store_true", help="tiny budgets, prints instead of writing docs")
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    one_thread()
    command = command_line("bench_remedies", argv)
    per_process = (f"one torch thread per process; {args.workers} worker process(es) for the "
                   "experiments")
    try:
        # sections of their own, so that each part can be run again without losing the others
        if "cost" not in args.skip:
            body = _run_cost(args)
            print(body)
            if not args.quick:
                write_section("remedies_cost", "Cost of the unrolled GAN's look-ahead", body,
                              command, threads="one torch thread",
                              check=(check_rows_cost(), COST_TOLERANCE))
        if {"table", "long"} - set(args.skip):
            body = _run(args)
            print(body)
            if not args.quick:
                write_section("remedies", "Remedies: unrolled GAN, MAD-GAN, EBGAN, BEGAN beside "
                              "PacGAN and WGAN-GP", body, command, threads=per_process,
                              check=(check_rows_table(), EXACT))
        if "images" not in args.skip:
            body = _run_images(args)
            print(body)
            if not args.quick:
                write_section("remedies_images", "Image models on digits: FID and perceptual "
                              "path length (DCGAN, WGAN-GP, EBGAN, BEGAN)", body, command,
                              threads="one torch thread", check=(check_rows_images(), EXACT))
        if "defaults" not in args.skip:
            body = _run_defaults(args)
            print(body)
            if not args.quick:
                write_section("remedies_defaults", "How the remedies' defaults were chosen",
                              body, command, threads="one torch thread",
                              check=(check_rows_defaults(), EXACT))
    finally:
        torch.set_num_threads(threads)


def _run(args) -> str:
    seeds = 1 if args.quick else args.seeds
    steps = 5 if args.quick else args.steps
    parts = [f"Load average at the start: {load_text()}. One torch thread per process; "
             f"{args.workers} worker process(es) for the experiments."]

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


def _run_cost(args) -> str:
    steps = 5 if args.quick else 100
    repeats = 1 if args.quick else 3
    load0 = load_text()
    cost = unroll_cost(steps, repeats)
    plain = cost["plain"]
    per_look = (cost["K=5 first order"] - cost["K=1 first order"]) / 4
    per_critic = (cost["plain, n_critic 3"] - plain) / 2
    rows = [[k, f"{v:.2f}", f"{v / plain:.2f}x"] for k, v in cost.items()]
    lines = [verdict(f"{k}: cost of a step / a plain step", cost[k] / plain, 3.0,
                     higher_is_better=False, fmt="{:.2f}", unit="x")
             for k in ("K=5 second order", "K=5 first order", "K=5 first order, fused",
                       "K=5 second order, fused")]
    profile_table = unroll_profile(5 if args.quick else 30)
    quality = [] if args.quick or not args.fused_quality else fused_quality(3, args.fused_quality)
    text = (
        f"CPU ms per generator step, vanilla GAN on ring8 with gankit's default networks (3 x 128, "
        f"batch 256), median of {repeats} interleaved runs of {steps} steps each, one thread. Load "
        f"average at the start: {load0}. \"fused\": Metz et al.'s fusion, where the discriminator's "
        "own update serves as the first look-ahead step, so K - 1 look-ahead steps remain "
        "(`unrolled_generator_loss(..., fuse_first=True)`, off by default because it computes "
        "something else: the first look-ahead step is taken on the critic's batches rather than "
        "on this step's fakes, and in second order nothing is differentiated through it).\n\n"
        + markdown_table(["training", "CPU ms / step", "x plain"], rows) + "\n\n"
        + "\n".join(lines) + "\n\n"
        f"Why: one look-ahead step costs {per_look:.2f} ms (slope from K = 1 to K = 5, first "
        f"order) and one discriminator step {per_critic:.2f} ms (slope from n_critic 1 to 3): "
        f"a look-ahead step is {per_look / per_critic:.2f} discriminator steps, and a plain step "
        f"(one discriminator step and one generator step) is {plain:.2f} ms, so K = 5 first order "
        f"cannot cost less than about 1 + 5 x {per_look / plain:.2f} = "
        f"{1 + 5 * per_look / plain:.2f}x a plain step however the bookkeeping is done; second "
        "order also keeps and differentiates the graph of every look-ahead step. Where the CPU "
        "time of K = 5 first order goes (torch.profiler, self CPU time per generator step):\n\n"
        + profile_table)
    if quality:
        text += ("\n\nQuality on ring8 (3 seeds, mode metrics on 2,500 samples; CPU s per run):\n\n"
                 + markdown_table(["training", "steps", "modes captured", "high quality %",
                                   "reverse KL", "CPU s/run", "seeds"], quality))
    return text


def check_rows_cost() -> list[dict]:
    """The look-ahead's cost ratios on a short run (tolerance), and an unrolled run's mode metrics
    (exact: same code, one thread)."""
    from gankit.metrics import mode_metrics

    cost = unroll_cost(30, 1)
    rows = [{"row": "cost ratios", "settings": {"steps": 30},
             "values": {k: round(cost[k] / cost["plain"], 3) for k in
                        ("K=5 second order", "K=5 first order", "K=5 first order, fused")}}]
    for name in ("K=5 first order", "K=5 second order"):
        _, (module, train) = _train_timed(UNROLL_SETTINGS[name], 100, 0)
        samples, _ = module.sample(2500, rng=torch.Generator().manual_seed(0))
        m = mode_metrics(samples.numpy(), train.centers, train.mode_std)
        rows.append({"row": f"{name}, ring8 seed 0", "settings": {"steps": 100},
                     "values": {"modes": m["modes"], "hq": m["hq"], "reverse_kl": m["reverse_kl"]},
                     "tolerance": {"kind": "exact"}})
    return rows


COST_TOLERANCE = {"rel": 0.35, "why": "cost ratios of CPU times move with the machine's load; "
                  "the mode metrics rows are exact"}


def check_rows_table() -> list[dict]:
    """Every table model on ring8, seed 0, 200 steps, through the experiment (exact)."""
    frame = run_mode_collapse(data="ring8", models=MODELS, seeds=[0], steps=200, out=None,
                              report=False)
    return [{"row": f"ring8 {r['model']} seed 0", "settings": {"steps": 200},
             "values": {"modes_captured": int(r["modes_captured"]), "hq": float(r["hq"]),
                        "reverse_kl": float(r["reverse_kl"])}}
            for _, r in frame.iterrows() if r.get("sampling", "raw") == "raw"]


def check_rows_images() -> list[dict]:
    """DCGAN on digits, 10 steps, FID in the judge's features (exact)."""
    import tempfile
    from gankit.evaluate import evaluate_run
    from gankit.training import train_run

    with tempfile.TemporaryDirectory() as tmp:
        run = train_run(TrainConfig(data="digits", model="dcgan", steps=10, progress=False,
                                    tensorboard=False, threads=1), Path(tmp) / "run")
        scores = evaluate_run(run.run_dir, metrics=["fid"], pictures=False)
    return [{"row": "digits dcgan seed 0", "settings": {"steps": 10}, "values": {"fid": scores["fid"]}}]


def check_rows_defaults() -> list[dict]:
    """The first two defaults rows at 200 steps (exact)."""
    rows = []
    for label, model, settings in DEFAULT_CHOICES[:2]:
        frame = run_mode_collapse(data="ring8", models=[model], seeds=[0], steps=200, out=None,
                                  report=False, **settings)
        r = frame.iloc[0]
        rows.append({"row": label, "settings": {"steps": 200},
                     "values": {"modes": int(r["modes_captured"]), "hq": float(r["hq"])}})
    return rows


EXACT = {"kind": "exact"}
CHECKS = {"remedies": check_rows_table, "remedies_cost": check_rows_cost,
          "remedies_images": check_rows_images, "remedies_defaults": check_rows_defaults}


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


if __name__ == "__main__":
    main()
