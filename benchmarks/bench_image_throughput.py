"""Image loop throughput against the reference loop (issue 17): critic images per CPU second of
gankit's conditional WGAN-GP loop with the reference material's own networks, and with gankit's
defaults, against `../shared/baselines/seed_cwgan_gp.py`, one thread each, interleaved; and where
a generator step's time goes (torch.profiler).

    .venv/bin/python -m benchmarks.bench_image_throughput [--steps 10] [--repeats 2] [--quick]

(also `bench_images --parts throughput`). Writes the "images_throughput" section of
docs/benchmarks.md with its check row (the same ratio on a 3-step run, relative tolerance). The
image data split (`split`) is `bench_images`'s.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import resource
import subprocess
import sys
import time

import torch

from gankit.config import TrainConfig
from gankit.models import DataSpec, GANModule
from gankit.nets.conv import build_conv_discriminator, build_conv_generator
from gankit.training import build_module
from gankit.training.loop import Execution, training_loop

from ._common import (BASELINES, command_line, load_text, markdown_table, one_thread, verdict,
                      write_section)
from .bench_images import MNIST, log, split


def _reference_networks():
    g = build_conv_generator(32, 1, 100, 10, width=128)
    d = build_conv_discriminator(32, 1, None, 10, width=64,
                                 conditioning="concat", norm="instance")
    return GANModule(g, d, None)


def gankit_rate(train, module: GANModule, steps: int, warmup: int = 2, amp=None,
                channels_last: bool = False, **settings) -> dict:
    config = TrainConfig(data="mnist", model="wgan-gp", conditional=True, steps=steps + warmup,
                         progress=False, tensorboard=False, log_every=1,
                         **settings).resolve("images")
    marks = {}

    def on_step(step, logs):
        if step == warmup:
            marks["cpu"], marks["wall"] = time.process_time(), time.perf_counter()

    training_loop(module, train, config, on_step=on_step,
                  execution=Execution(amp=amp, channels_last=channels_last))
    cpu, wall = time.process_time() - marks["cpu"], time.perf_counter() - marks["wall"]
    per_step = config.n_critic * config.batch_size
    return {"steps_per_s": steps / wall, "steps_per_cpu_s": steps / cpu,
            "images_per_s": steps * config.batch_size / wall,
            "critic_images_per_s": steps * per_step / wall,
            "critic_images_per_cpu_s": steps * per_step / cpu,
            "n_critic": config.n_critic, "batch": config.batch_size}


def reference_rate(steps: int) -> dict:
    """Runs seed_cwgan_gp.py twice (steps and 3x steps, one thread); CPU seconds per step from
    the difference of the two runs' CPU time (so loading and warm-up cancel), wall rate as the
    script prints it (from the longer run)."""
    script = BASELINES / "seed_cwgan_gp.py"
    if not script.exists() or not MNIST.is_dir():
        return {"skipped": "the reference script or the MNIST files are absent"}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cpu, printed = {}, {}
    for n in (steps, 3 * steps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, str(script), "--mnist", str(MNIST), "--steps", str(n)],
                             capture_output=True, text=True, env=env, check=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[n] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        printed[n] = out.strip()
        log("reference:", printed[n])
    m = re.search(r"([\d.]+) generator steps/s, ([\d.]+) images/s", printed[3 * steps])
    steps_per_s, images_per_s = float(m.group(1)), float(m.group(2))
    cpu_per_step = (cpu[3 * steps] - cpu[steps]) / (2 * steps)
    return {"steps_per_s": steps_per_s, "images_per_s": images_per_s,
            "critic_images_per_s": steps_per_s * 5 * 64, "steps_per_cpu_s": 1 / cpu_per_step,
            "critic_images_per_cpu_s": 5 * 64 / cpu_per_step, "printed": printed[3 * steps],
            "n_critic": 5, "batch": 64}


THROUGHPUT_ROWS = {     # name -> (reference networks?, Execution settings)
    "gankit, reference networks": (True, {}),
    "gankit, reference networks, channels_last": (True, {"channels_last": True}),
    "gankit, reference networks, bf16 autocast": (True, {"amp": "bf16"}),
    "gankit, reference networks, bf16 + channels_last": (True, {"amp": "bf16", "channels_last": True}),
    "gankit, default networks and settings": (False, {}),
}
REFERENCE_SETTINGS = dict(n_critic=5, batch_size=64, lr_g=1e-4, lr_d=1e-4,
                          betas_g=(0.5, 0.9), betas_d=(0.5, 0.9))


def _throughput_train():
    return split(str(MNIST), 0)[0] if MNIST.is_dir() else split("digits", 0)[0]


def gankit_row(name: str, train, steps: int) -> dict:
    reference_nets, execution = THROUGHPUT_ROWS[name]
    torch.manual_seed(0)
    if reference_nets:
        return gankit_rate(train, _reference_networks(), steps, **execution, **REFERENCE_SETTINGS)
    config = TrainConfig(data="mnist", model="wgan-gp", conditional=True).resolve("images")
    module = build_module(config, DataSpec.of(train))
    return gankit_rate(train, module, 3 * steps, **execution)


def part_throughput(steps: int, repeats: int = 1) -> dict:
    """The reference loop and every gankit row, `repeats` times interleaved (the best kept: the
    least disturbed on a shared machine)."""
    train = _throughput_train()
    runs = {"reference": []}
    runs.update({name: [] for name in THROUGHPUT_ROWS})
    for _ in range(repeats):
        runs["reference"].append(reference_rate(steps))
        for name in THROUGHPUT_ROWS:
            runs[name].append(gankit_row(name, train, steps))
            log(name, runs[name][-1])
    key = "critic_images_per_cpu_s"
    return {name: max(v, key=lambda r: r.get(key, 0)) for name, v in runs.items()}


def throughput_profile(steps: int = 3) -> str:
    """torch.profiler: where a generator step of gankit's loop with the reference's networks
    goes (self CPU time per generator step, float32, one thread)."""
    from torch.profiler import ProfilerActivity, profile

    train = _throughput_train()
    module = _reference_networks()
    config = TrainConfig(data="mnist", model="wgan-gp", conditional=True, steps=steps + 1,
                         progress=False, tensorboard=False, **REFERENCE_SETTINGS).resolve("images")
    training_loop(module, train, dataclasses.replace(config, steps=1))      # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        training_loop(module, train, config)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:10]
    n = config.steps
    conv = sum(e.self_cpu_time_total for e in events if "conv" in e.key) / total
    table = markdown_table(["operator", "calls per step", "self CPU ms per step", "share"],
                           [[e.key, e.count // n, f"{e.self_cpu_time_total / n / 1000:.1f}",
                             f"{100 * e.self_cpu_time_total / total:.1f}%"] for e in top])
    return (table + f"\n\nThe convolution operators (every operator with \"conv\" in its name: "
            "forward, backward, and the penalty's double backward) take "
            f"{100 * conv:.0f}% of the self CPU time: the step is bound by the networks' "
            "convolutions, which are the same oneDNN kernels in both loops with the same networks, "
            "so the loop around them cannot make float32 training much faster; bf16 autocast "
            "(oneDNN's bf16 kernels, AMX on this CPU) changes the kernels themselves.")


def render_throughput(t: dict, profile_table: str, loads: tuple[str, str]) -> str:
    ref = t["reference"]
    lines = [
        "Generator steps per second, images per second as the reference counts them (batch x "
        "generator steps) and images through the critic (batch x n_critic x generator steps; "
        "the reference reuses one real batch for its 5 critic steps, gankit draws a fresh one "
        "each time). The reference ran as a subprocess with OMP_NUM_THREADS=1; its CPU "
        "seconds per step come from the difference of a short and a long run. gankit's rows: "
        "the reference's networks (G width 128 with BatchNorm, critic width 64 with instance norm "
        "and concatenated label maps), batch 64, n_critic 5, Adam(1e-4, (0.5, 0.9)); channels_last "
        "and bf16 autocast are gankit's `--channels-last` and `--amp bf16` (off by default); the "
        "last row is gankit's own default networks and recipe. Ratios are against the "
        f"reference's figure of the same kind. Load average {loads[0]} at the start, {loads[1]} at "
        "the end.\n"]
    rows = []
    for name, r in t.items():
        if "skipped" in r:
            rows.append([name, r["skipped"], "", "", "", "", ""])
            continue
        ratio = "1.00" if name == "reference" or "skipped" in ref else \
            f"{r['critic_images_per_s'] / ref['critic_images_per_s']:.2f}x / " \
            f"{r['critic_images_per_cpu_s'] / ref['critic_images_per_cpu_s']:.2f}x"
        rows.append([name, f"{r['n_critic']} x {r['batch']}", f"{r['steps_per_s']:.3f}",
                     f"{r['images_per_s']:.0f}", f"{r['critic_images_per_s']:.0f}",
                     f"{r['critic_images_per_cpu_s']:.0f}", ratio])
    lines.append(markdown_table(["loop", "n_critic x batch", "gen steps/s (wall)",
                                 "images/s (wall)", "critic images/s (wall)",
                                 "critic images per CPU s", "vs reference (wall / CPU)"], rows))
    if "critic_images_per_cpu_s" in ref:
        def ratio(name):
            r = t.get(name, {})
            return r["critic_images_per_cpu_s"] / ref["critic_images_per_cpu_s"] if "critic_images_per_cpu_s" in r else float("nan")
        lines.append("")
        lines.append(verdict("critic images per CPU s, gankit / the reference, same networks, "
                             "float32 (gankit's default execution)",
                             ratio("gankit, reference networks"), 1.5, fmt="{:.2f}", unit="x"))
        best = max((n for n in THROUGHPUT_ROWS if THROUGHPUT_ROWS[n][0]), key=ratio)
        lines.append(verdict(f"the same with the best execution option ({best.split(', ', 2)[-1]})",
                             ratio(best), 1.5, fmt="{:.2f}", unit="x"))
        lines.append(verdict("critic images per CPU s, gankit's default networks and recipe / the "
                             "reference", ratio("gankit, default networks and settings"), 1.5,
                             fmt="{:.2f}", unit="x"))
    lines.append("\nWhere a generator step of gankit's loop goes with the reference's networks "
                 "(torch.profiler, float32, one thread, self CPU time):\n")
    lines.append(profile_table)
    return "\n".join(lines)


def check_rows_throughput() -> list[dict]:
    """Critic images per CPU s of gankit (reference networks, float32) against the reference,
    on a short run (tolerance)."""
    t = {"reference": reference_rate(3), "gankit, reference networks":
         gankit_row("gankit, reference networks", _throughput_train(), 3)}
    return [{"row": "ratio, same networks, float32", "settings": {"steps": 3},
             "values": {"ratio": round(t["gankit, reference networks"]["critic_images_per_cpu_s"]
                                       / t["reference"]["critic_images_per_cpu_s"], 3)}}]


THROUGHPUT_TOLERANCE = {"rel": 0.35, "why": "a ratio of CPU times of two loops on a shared machine"}


CHECKS = {"images_throughput": check_rows_throughput}


def measure_and_write(steps: int, repeats: int, *, quick: bool, write: bool, command: str) -> str:
    """Measure the rows and the profile, and write the section (unless `write` is false)."""
    loads = [load_text()]
    t = part_throughput(steps, repeats)
    table = throughput_profile(2 if quick else 3)
    loads.append(load_text())
    body = render_throughput(t, table, tuple(loads))
    print(body)
    if write:
        write_section("images_throughput", "Image loop throughput against the reference loop "
                      "(MNIST 32x32, one thread)", body, command,
                      threads="one torch thread in both loops (the reference with "
                              "OMP_NUM_THREADS=1)",
                      check=(check_rows_throughput(), THROUGHPUT_TOLERANCE))
    return body


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed generator steps per loop")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats; best kept")
    parser.add_argument("--quick", action="store_true", help="2 steps, one repeat, nothing written")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    one_thread()
    measure_and_write(2 if args.quick else args.steps, 1 if args.quick else args.repeats,
                      quick=args.quick, write=not (args.quick or args.no_write),
                      command=command_line("bench_image_throughput", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
