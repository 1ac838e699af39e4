"""Threads chosen for the work (gankit.threads): is 1 thread for MLP/tabular nets and every core
for conv nets the right default?

CPU seconds and wall seconds per generator step of
  (i)   the MLP WGAN-GP on ring8 (`gankit train --data ring8 --model wgan-gp` settings),
  (ii)  a TabularGAN on the heart table (its defaults: WGAN-GP + PacGAN 10, 5 critic steps),
  (iii) the conditional conv WGAN-GP on digits at 32x32 (`--data digits --model wgan-gp
        --conditional` settings),
each at 1 and 2 torch threads, in two situations: the machine as idle as it gets (the load
average says how idle that was) and with one competing CPU-bound process (a Python busy loop at
this process's priority). Every (situation, workload, threads) cell is measured `--repeats` times,
interleaved, and the median is kept. CPU seconds are this process's (all its threads); wall
seconds are what a user waits.

    python -m benchmarks.bench_threads [--repeats 3] [--quick] [--no-write]

Writes the "threads" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

from ._common import ROOT as _ROOT
from ._common import command_line, load_average, markdown_table, verdict, write_section

WORKLOADS = {
    "mlp": "MLP WGAN-GP, ring8 (3 x 128, batch 256, n_critic 2)",
    "tabular": "TabularGAN, heart table (303 rows, WGAN-GP + PacGAN 10, n_critic 5)",
    "conv": "conditional conv WGAN-GP, digits 32x32 (width 32, batch 64, n_critic 2)",
}
FAMILY = {"mlp": "mlp", "tabular": "tabular", "conv": "conv"}
# (warm-up steps, timed steps) per workload; --quick divides the timed steps by 4
STEPS = {"mlp": (20, 200), "tabular": (20, 100), "conv": (2, 12)}


def _procs_running() -> int:
    try:
        for line in open("/proc/stat"):
            if line.startswith("procs_running"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


class _Enough(Exception):
    pass


def _timed_loop(module, data, config, threads: int, warm: int, timed: int,
                budget_s: float) -> tuple[float, float]:
    """(CPU s, wall s) per generator step of gankit's training loop at `threads` threads, timed
    from step `warm` to step warm + timed, or to the first logged step after `budget_s` wall
    seconds (a thread count the machine punishes would otherwise take many minutes)."""
    from gankit.training.loop import training_loop

    marks, start = {}, {}
    began = time.perf_counter()

    def on_step(step, _logs):
        now = (time.process_time(), time.perf_counter())
        if not start:
            # warm-up done: `warm` steps, or a third of the budget when steps are slow
            if step >= warm or now[1] - began > budget_s / 3:
                start["step"], start["at"] = step, now
            return
        marks[step] = now
        if now[1] - start["at"][1] > budget_s:
            raise _Enough

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        training_loop(module, data, config, on_step=on_step)
    except _Enough:
        pass
    finally:
        torch.set_num_threads(old)
    last = max(marks)
    first, (c0, w0) = start["step"], start["at"]
    c1, w1 = marks[last]
    return (c1 - c0) / (last - first), (w1 - w0) / (last - first)


def _loop_setup(config_kwargs: dict, warm: int, timed: int, every: int):
    from gankit.config import TrainConfig
    from gankit.models import DataSpec
    from gankit.training import build_module, prepare_data

    config = TrainConfig(steps=warm + timed, progress=False, tensorboard=False, log_every=every,
                         **config_kwargs)
    train, _ = prepare_data(config)
    config = config.resolve(train.kind)
    return build_module(config, DataSpec.of(train)), train, config


_HEART = {}


def _tabular_setup(warm: int, timed: int, every: int):
    """TabularGAN's own training on the heart table (encoder, config, networks and Gumbel noise
    as `TabularGAN.fit` makes them), for the training loop to time."""
    from gankit.data.dataset import Dataset
    from gankit.data.tabular import TabularEncoder
    from gankit.models import DataSpec
    from gankit.tabular_gan import TabularGAN
    from gankit.training import build_module

    if not _HEART:
        from gankit.experiments.oversampling_tasks import load_task
        task = load_task("heart")
        encoder = TabularEncoder(discrete_columns=list(task.discrete_columns), random_state=0)
        encoder.fit(task.X)
        _HEART.update(x=encoder.transform(task.X), encoder=encoder)
    encoder = _HEART["encoder"]
    gan = TabularGAN(steps=warm + timed, random_state=0, settings={"log_every": every})
    config = gan._config(0, False)
    data = Dataset(x=torch.from_numpy(_HEART["x"]), y=None, kind="table", name="table",
                   num_classes=0, meta={"columns": [str(c) for c in encoder.columns_]})
    module = build_module(config, DataSpec.of(data, output_info=[list(s) for s in encoder.output_info_]))
    module.generator.noise_generator = torch.Generator().manual_seed(config.seed + 1)
    return module, data, config


def per_step(workload: str, threads: int, quick: bool = False,
             budget_s: float = 15.0) -> tuple[float, float]:
    """(CPU s, wall s) per generator step of a workload at `threads` torch threads."""
    warm, timed = STEPS[workload]
    if quick:
        timed = max(2, timed // 4)
    every = 1          # a logged step is the only place to read the clocks; its cost is tiny
    if workload == "mlp":
        module, data, config = _loop_setup(dict(data="ring8", model="wgan-gp"), warm, timed, every)
    elif workload == "conv":
        module, data, config = _loop_setup(dict(data="digits", model="wgan-gp", conditional=True,
                                                image_size=32), warm, timed, every)
    else:
        module, data, config = _tabular_setup(warm, timed, every)
    return _timed_loop(module, data, config, threads, warm, timed, budget_s)


class Competitor:
    """One CPU-bound process (a Python busy loop) for the duration of a block."""

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def per_step_passive(workload: str, quick: bool) -> tuple[float, float]:
    """2 threads in a fresh process with OMP_WAIT_POLICY=PASSIVE (OpenMP's idle threads sleep
    instead of spinning; the policy is read when the OpenMP runtime starts, so it needs a new
    process). CPU and wall seconds are measured inside it, per step, as `per_step` does."""
    code = ("import json, torch; import benchmarks.bench_threads as b; "
            f"print(json.dumps(b.per_step({workload!r}, 2, {quick!r})))")
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(_ROOT)}
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=_ROOT, check=True).stdout
    cpu, wall = json.loads(out.strip().splitlines()[-1])
    return cpu, wall


def measure(repeats: int, quick: bool, passive: bool = False) -> dict:
    """Median (CPU s, wall s) per step for every (situation, workload, threads), interleaved."""
    samples = {}
    loads = {"idle": [], "competing": []}
    for r in range(repeats):
        for situation in ("idle", "competing"):
            ctx = Competitor() if situation == "competing" else _Nothing()
            with ctx:
                for workload in WORKLOADS:
                    for threads in (1, 2, "2p") if passive else (1, 2):
                        loads[situation].append((load_average()[0], _procs_running()))
                        cpu, wall = (per_step_passive(workload, quick) if threads == "2p"
                                     else per_step(workload, threads, quick))
                        samples.setdefault((situation, workload, threads), []).append((cpu, wall))
                        print(f"[{time.strftime('%H:%M:%S')}] repeat {r} {situation} {workload} "
                              f"{threads} thread(s): {1000 * cpu:.2f} CPU ms, {1000 * wall:.2f} "
                              f"wall ms per step", file=sys.stderr, flush=True)
    medians = {k: (float(np.median([c for c, _ in v])), float(np.median([w for _, w in v])))
               for k, v in samples.items()}
    return {"medians": medians, "samples": samples, "loads": loads}


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def default_threads() -> dict:
    from gankit.threads import default_threads as family_default
    return {w: family_default(FAMILY[w]) for w in WORKLOADS}


def render(result: dict, repeats: int) -> tuple[str, dict]:
    med, loads = result["medians"], result["loads"]
    defaults = default_threads()
    rows, passive_rows = [], []
    for situation in ("idle", "competing"):
        for workload, label in WORKLOADS.items():
            c1, w1 = med[(situation, workload, 1)]
            c2, w2 = med[(situation, workload, 2)]
            faster = 1 if w1 <= w2 else 2
            rows.append([situation, label, f"{1000 * c1:.2f}", f"{1000 * c2:.2f}", f"{c2 / c1:.2f}x",
                         f"{1000 * w1:.2f}", f"{1000 * w2:.2f}", f"{w2 / w1:.2f}x",
                         f"{faster}", f"{defaults[workload]}"])
            if (situation, workload, "2p") in med:
                cp, wp = med[(situation, workload, "2p")]
                passive_rows.append([situation, label, f"{1000 * cp:.2f}", f"{cp / c1:.2f}x",
                                     f"{1000 * wp:.2f}", f"{wp / w1:.2f}x"])
    lines, right = [], {}
    for situation in ("idle", "competing"):
        for workload in WORKLOADS:
            d = defaults[workload]
            other = 2 if d == 1 else 1
            wd, wo = med[(situation, workload, d)][1], med[(situation, workload, other)][1]
            right[(situation, workload)] = wd <= wo
            lines.append(verdict(f"{situation}: {workload} default ({d} thread{'s' if d > 1 else ''}) "
                                 f"no slower in wall seconds than {other} thread{'s' if other > 1 else ''}, "
                                 f"wall s/step at {other} / at {d}", wo / wd, 1.0, fmt="{:.2f}", unit="x"))
    wrong = [f"{w} ({s})" for (s, w), ok in right.items() if not ok]
    conclusion = ("The defaults are right in every measured case." if not wrong else
                  "The defaults are wrong for: " + ", ".join(wrong) + ".")
    if not right[("competing", "conv")]:
        conclusion += (" Under load the conv default (every core) is slower than one thread: by "
                       "these figures the conv default should be 1 thread when the machine is "
                       "busy (the default lives in gankit/threads.py).")
    idle_load = np.mean([l for l, _ in loads["idle"]])
    busy_load = np.mean([l for l, _ in loads["competing"]])
    idle_run = np.mean([p for _, p in loads["idle"]])
    busy_run = np.mean([p for _, p in loads["competing"]])
    body = (
        f"Each cell: median of {repeats} interleaved measurements (situations, workloads and thread "
        "counts alternate), per generator step after warm-up steps; CPU seconds are "
        "`time.process_time()` of the process (every thread's CPU time), wall seconds what the "
        "user waits. The thread counts are set with `torch.set_num_threads` for each measurement "
        "(1 and 2 on this 2-core machine; BLAS outside torch untouched). Timed steps after 20 warm-up "
        "steps (conv: 2): MLP 200, TabularGAN 100, conv 12; when a thread count makes steps slow, "
        "the warm-up ends after 5 wall seconds and the timing after 15. The TabularGAN rows train what `TabularGAN.fit` trains "
        "(its encoder, config, networks and Gumbel noise) in the training loop, the encoder "
        f"fitted once beforehand. This process ran at niceness {os.nice(0)}. \"idle\": no process of this benchmark besides the measurement; the machine "
        f"is shared with other work, 1-minute load average {idle_load:.2f} on average over those "
        f"measurements (runnable processes {idle_run:.1f} on average, this one included). "
        "\"competing\": one more CPU-bound process (a Python busy loop at this process's "
        f"priority): load average {busy_load:.2f}, runnable processes {busy_run:.1f}.\n\n"
        + markdown_table(["situation", "workload", "CPU ms/step, 1 thread", "CPU ms/step, 2 threads",
                          "CPU 2 / 1", "wall ms/step, 1 thread", "wall ms/step, 2 threads",
                          "wall 2 / 1", "faster (wall)", "gankit default"], rows)
        + "\n\n" + "\n".join(lines) + "\n\n" + conclusion)
    if passive_rows:
        body += ("\n\n2 threads again, each measurement in a fresh process with "
                 "OMP_WAIT_POLICY=PASSIVE (OpenMP's waiting threads sleep instead of spinning), "
                 "interleaved with the cells above; ratios against the 1-thread cells:\n\n"
                 + markdown_table(["situation", "workload", "CPU ms/step, 2 threads passive",
                                   "CPU vs 1 thread", "wall ms/step, 2 threads passive",
                                   "wall vs 1 thread"], passive_rows))
    return body, right


# ------------------------------------------------------------------------------------- check
CHECK_TOLERANCE = {"rel": 0.5, "why": "CPU time per step moves with the machine's load and "
                   "cache contention; the thread defaults themselves are compared exactly"}


# the conv default follows the load average, so the check pins it: both cores busy, as they were
# when the full run recorded the defaults from inside its own measuring process
CHECK_LOAD = (2.0, 2.0, 2.0)


def check_rows() -> list[dict]:
    """gankit's default thread counts at a pinned load (exact), and CPU ms per step at one
    thread (tolerance)."""
    from unittest import mock

    with mock.patch("os.getloadavg", return_value=CHECK_LOAD):
        defaults = default_threads()
    rows = [{"row": "default threads", "settings": {"cores": os.cpu_count()},
             "values": defaults, "tolerance": {"kind": "exact"}}]
    for workload in WORKLOADS:
        cpu, _ = per_step(workload, 1, quick=True)
        rows.append({"row": f"{workload} at 1 thread", "settings": {"steps": "quick"},
                     "values": {"cpu_ms_per_step": round(1000 * cpu, 4)}})
    return rows


CHECKS = {"threads": check_rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer steps, nothing written")
    parser.add_argument("--passive", action="store_true",
                        help="also 2 threads with OMP_WAIT_POLICY=PASSIVE (in fresh processes)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if os.environ.get("OMP_NUM_THREADS"):
        print("note: OMP_NUM_THREADS is set; torch.set_num_threads overrides it per measurement",
              file=sys.stderr)
    started = time.strftime("%Y-%m-%d %H:%M")
    result = measure(1 if args.quick else args.repeats, args.quick, args.passive)
    body, _ = render(result, 1 if args.quick else args.repeats)
    body = f"Measured from {started} to {time.strftime('%H:%M')}.\n\n" + body
    print(body)
    if args.quick or args.no_write:
        return 0
    torch.set_num_threads(1)
    rows = check_rows()
    write_section("threads", "Threads chosen for the work: 1 and 2 threads per network family",
                  body, command_line("bench_threads", argv),
                  threads="1 and 2 torch threads, as each row says (set per measurement); the "
                          "check rows at 1 thread",
                  check=(rows, CHECK_TOLERANCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
