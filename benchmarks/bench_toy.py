"""Core-engine benchmark on the standard toy mixtures (issue "Core engine").

1. Quality at a fixed budget: vanilla GAN, WGAN-GP, and WGAN-GP with each remedy on ring8 and
   grid25, scored with the standard mode metrics (2,500 samples; high quality = within 3 std
   of the nearest centre; reverse KL of the high-quality histogram against uniform).
2. Speed: discriminator steps per second of gankit's loop against the reference material's own
   loop (../shared/baselines/seed_mog.py), same networks (3x128 ReLU MLPs, latent 2, tanh
   output) and batch size 128, run one after the other in this process's machine.

    python -m benchmarks.bench_toy [--seeds 3] [--quick]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

from gankit.config import TrainConfig
from gankit.metrics import mode_metrics
from gankit.models import DataSpec, GANModule
from gankit.nets.layers import Standardizer
from gankit.nets.mlp import MLPDiscriminator, MLPGenerator
from gankit.training import build_module, prepare_data
from gankit.training.loop import training_loop

from ._common import (BASELINES, load_text, markdown_table, one_thread, verdict, verdict_all,
                      write_section)

RECIPES = {
    "gan": dict(model="gan"),
    "wgan-gp": dict(model="wgan-gp"),
    # minibatch discrimination differentiates a (group x group x kernels) tensor twice under
    # the penalty, about 100x a plain step on a CPU: it gets a short budget, said in its name
    "wgan-gp + minibatch (500 steps)": dict(model="wgan-gp", remedy="minibatch", steps=500),
    "wgan-gp + pac": dict(model="wgan-gp", remedy="pac"),
}
PUBLISHED = {  # PacGAN (Lin et al. 2018) Table 1: modes / high-quality % / reverse KL
    "ring8": [("GAN (PacGAN Table 1)", 6.3, 98.2, 0.45), ("PacGAN2 (PacGAN Table 1)", 7.9, 95.6, 0.07)],
    "grid25": [("GAN (PacGAN Table 1)", 17.3, 94.8, 0.70), ("ALI (PacGAN Table 1)", 24.1, 95.7, 0.14),
               ("PacGAN4 (PacGAN Table 1)", 24.8, 93.6, 0.04)],
}


def quality(data: str, recipe: dict, seed: int, steps: int | None) -> dict:
    recipe = dict(recipe)
    steps = recipe.pop("steps", steps)
    config = TrainConfig(data=data, seed=seed, steps=steps, progress=False, tensorboard=False,
                         log_every=100, **recipe).resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    start = time.process_time()
    wall = time.perf_counter()
    training_loop(module, train, config)
    cpu, wall = time.process_time() - start, time.perf_counter() - wall
    samples, _ = module.sample(2500, rng=torch.Generator().manual_seed(seed))
    scores = mode_metrics(samples.numpy(), train.centers, train.mode_std)
    return {"modes": scores["modes"], "hq": 100 * scores["hq"], "rkl": scores["reverse_kl"],
            "cpu_s": cpu, "wall_s": wall, "steps": config.total_steps(len(train))}


def gankit_d_steps_per_second(model: str, d_steps: int = 2000) -> float:
    """gankit's loop with the reference's networks and batch size."""
    config = TrainConfig(data="blobs8", model=model, batch_size=128, latent_dim=2,
                         n_critic=5 if model == "wgan-gp" else 1, progress=False,
                         tensorboard=False, log_every=100).resolve("points")
    config.steps = d_steps // config.n_critic
    train, _ = prepare_data(config)
    module = GANModule(MLPGenerator(2, 2, 128, 3, activation="relu", output="tanh"),
                       MLPDiscriminator(2, 128, 3, activation="relu"), Standardizer(2))
    start = time.perf_counter()
    training_loop(module, train, config)
    return config.steps * config.n_critic / (time.perf_counter() - start)


def reference_d_steps_per_second(epochs: int = 20) -> dict[str, float]:
    """Runs seed_mog.py (8 modes) and converts its per-model seconds to D steps per second."""
    script = BASELINES / "seed_mog.py"
    if not script.exists():
        return {}
    # one thread, like gankit's side of the comparison
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(script), "8", str(epochs)], capture_output=True,
                         text=True, cwd=BASELINES, timeout=1800, env=env).stdout
    batches = int(np.ceil(10000 / 128))
    rates = {}
    for name, seconds in re.findall(r"^(\S+): coverage=\S+ train_s=([\d.]+)", out, re.M):
        rates[name] = epochs * batches / float(seconds)
    return rates


TARGET_HQ = 90.0          # % high quality, with every mode captured
TARGET_SPEEDUP = 1.2      # gankit's D steps per second over the reference loop's


def check_rows() -> list[dict]:
    """ring8, seed 0, 300 steps, vanilla GAN and WGAN-GP at their default recipes (exact)."""
    rows = []
    for name in ("gan", "wgan-gp"):
        r = quality("ring8", RECIPES[name], 0, 300)
        rows.append({"row": f"ring8 {name} seed 0", "settings": {"steps": 300},
                     "values": {"modes": r["modes"], "hq": r["hq"], "reverse_kl": r["rkl"]}})
    return rows


CHECKS = {"toy": check_rows}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="override the default budget")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained in parallel processes")
    parser.add_argument("--quick", action="store_true", help="tiny budget, for a smoke test")
    args = parser.parse_args(argv)
    one_thread()
    load0 = load_text()
    steps = 50 if args.quick else args.steps
    seeds = 1 if args.quick else args.seeds

    from concurrent.futures import ProcessPoolExecutor
    # the slow minibatch rows get one seed
    tasks = [(data, name, seed) for data in ("ring8", "grid25") for name in RECIPES
             for seed in range(1 if "minibatch" in name else seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=torch.set_num_threads,
                             initargs=(1,)) as pool:
        futures = {task: pool.submit(quality, task[0], RECIPES[task[1]], task[2], steps)
                   for task in tasks}
        done = {task: future.result() for task, future in futures.items()}

    rows, summaries = [], {}
    for data in ("ring8", "grid25"):
        for name, recipe in RECIPES.items():
            runs = [done[(data, name, seed)] for seed in range(seeds) if (data, name, seed) in done]
            summary = {k: (np.mean([r[k] for r in runs]), np.std([r[k] for r in runs]))
                       for k in runs[0]}
            n_modes = 8 if data == "ring8" else 25
            summaries[(data, name)] = (summary, n_modes)
            rows.append([data, name, f"{summary['modes'][0]:.1f} ± {summary['modes'][1]:.1f} / {n_modes}",
                         f"{summary['hq'][0]:.1f} ± {summary['hq'][1]:.1f}",
                         f"{summary['rkl'][0]:.3f} ± {summary['rkl'][1]:.3f}",
                         int(summary["steps"][0]), f"{summary['cpu_s'][0]:.0f}", f"{summary['wall_s'][0]:.0f}"])
            print(rows[-1], flush=True)
        for label, modes, hq, rkl in PUBLISHED[data]:
            rows.append([data, label, f"{modes}", f"{hq}", f"{rkl}", "-", "GPU", "-"])

    speed_rows, speed = [], {}
    for model, ref_name in (("gan", "vanilla"), ("wgan-gp", "wgan-gp")):
        # measured back to back so that both see the same load on the machine
        reference = reference_d_steps_per_second(5 if args.quick else 20)
        ours = gankit_d_steps_per_second(model, 200 if args.quick else 3000)
        ref = reference.get(ref_name)
        speed[model] = ours / ref if ref else float("nan")
        speed_rows.append([model, f"{ours:.0f}", f"{ref:.0f}" if ref else "n/a",
                           f"{ours / ref:.2f}x" if ref else "n/a"])
        print(speed_rows[-1], flush=True)

    quality_items = []
    for data in ("ring8", "grid25"):
        summary, k = summaries[(data, "wgan-gp")]
        modes, hq = summary["modes"][0], summary["hq"][0]
        quality_items.append((data, modes >= k and hq >= TARGET_HQ,
                              f"{modes:.1f} / {k} modes, {hq:.1f}% high quality, "
                              f"{summary['cpu_s'][0]:.0f} CPU s per run"))
    targets = "\n".join(
        [verdict_all(f"WGAN-GP at its default recipe captures every mode with >= {TARGET_HQ:.0f}% "
                     "high quality (mean over seeds)", quality_items)]
        + [verdict(f"{model}: gankit's D steps per second / the reference's, same networks, one "
                   "thread", value, TARGET_SPEEDUP, fmt="{:.2f}", unit="x")
           for model, value in speed.items()])
    body = (
        f"Load average {load0} at the start, {load_text()} at the end. "
        f"Quality at the default recipe of each model ({seeds} seeds, mean ± std; CPU and wall "
        f"seconds per run, one thread each, {args.jobs} runs in parallel on a machine shared with "
        "other work, so wall seconds are inflated: CPU seconds are the figure to compare). Definitions: 2,500 samples, high quality = within 3 std of the nearest "
        "centre, a mode is captured if it holds one high-quality sample, reverse KL of the "
        "high-quality histogram against uniform. Published rows: PacGAN (Lin et al. 2018), "
        "Table 1, mean over 10 runs on a GPU with a far larger budget.\n\n"
        + markdown_table(["data", "model", "modes", "high quality %", "reverse KL", "gen. steps",
                          "CPU s", "wall s"], rows)
        + "\n\nThroughput, discriminator steps per second, same networks (3x128 ReLU MLPs, "
        "latent 2, tanh output) and batch 128 as `../shared/baselines/seed_mog.py`:\n\n"
        + markdown_table(["model", "gankit D steps/s", "reference D steps/s", "speed-up"],
                         speed_rows)
        + "\n\nTargets (the quality target is the definition the mode-collapse experiment's issue "
        "uses: every mode, >= 90% high quality; the reference speed-up target is 1.2x):\n\n"
        + targets)
    if not args.quick:
        write_section("toy", "Core engine: toy mixtures (ring8, grid25) and loop throughput", body,
                      f"python -m benchmarks.bench_toy --seeds {seeds} --jobs {args.jobs}",
                      threads=f"one torch thread per process, {args.jobs} runs in parallel; the "
                              "reference loop with OMP_NUM_THREADS=1",
                      check=(check_rows(), {"kind": "exact"}))
    else:
        print(body)


if __name__ == "__main__":
    main()
