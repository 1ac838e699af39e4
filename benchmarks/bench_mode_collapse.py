"""Mode-collapse experiment benchmark (issue "mode-collapse experiments", parts 1-3).

1. The full grid: blobs 4/8/16/32 x vanilla GAN / WGAN-GP / conditional WGAN-GP x 5 seeds at the
   experiment's default budgets (1,000 steps, conditional WGAN-GP's class-scaled points recipe
   included),
   vectorised, one torch thread: wall and CPU time, and issue 14's targets judged seed by seed
   (every mode, high quality, and the fit inside each mode: spread, offset, C2ST).
2. Speed of the vectorised ensembles against the one-by-one loop: CPU milliseconds per run-step
   for each model (ensembles as large as the grid's against the ordinary training loop).
3. Remedies as extra rows: minibatch discrimination and PacGAN on a reduced set.
4. ring8 and grid25 beside the published figures of PacGAN (Lin et al. 2018, Table 1).
5. Larger mixtures: blobs64 and the 10x10 grid (grid100), to show where each model stops scaling.
6. Optionally (--long STEPS) conditional WGAN-GP at another budget.

    python -m benchmarks.bench_mode_collapse [--seeds 5] [--steps N] [--long 1500] [--quick]

Experiment folders (results.csv, results.md, samples.png, report.html) go to
runs/bench_mode_collapse/; the summary goes to docs/benchmarks.md, section "mode_collapse".
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from gankit.config import TrainConfig
from gankit.experiments.mode_collapse import (DEFAULT_STEPS, cpu_seconds, row_label, row_steps,
                                               run_mode_collapse)
from gankit.experiments.mode_collapse_outputs import PUBLISHED, budget_text, summarise
from gankit.models import DataSpec
from gankit.training import build_module, prepare_data
from gankit.training.ensemble import train_many

from ._common import (ROOT, command_line, markdown_table, one_thread, verdict, verdict_all,
                      write_section)
from .bench_points_recipe import C2ST_MARGIN, OFFSET_TARGET, SPREAD_RANGE, c2st_fits, c2st_gap

OUT = ROOT / "runs" / "bench_mode_collapse"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min)"


def pm(mean, std, fmt="{:.1f}", scale=1.0) -> str:
    if mean is None or not np.isfinite(mean):
        return "n/a"
    text = fmt.format(mean * scale)
    return text + (f" ± {fmt.format(std * scale)}" if std is not None and np.isfinite(std) else "")


def summary_rows(frame, with_remedy=True) -> list[list]:
    rows = []
    for _, r in summarise(frame).iterrows():
        name = row_label(r["model"])
        if with_remedy and r["remedy"] != "none":
            name += f" + {r['remedy']}"
        rows.append([r["data"], name,
                     f"{pm(r['modes_captured_mean'], r['modes_captured_std'])} / {r['modes']}",
                     pm(r["hq_mean"], r["hq_std"], scale=100),
                     pm(r["reverse_kl_mean"], r["reverse_kl_std"], "{:.3f}"),
                     pm(r["spread_mean_mean"], None, "{:.2f}"),
                     pm(r["offset_mean_mean"], None, "{:.2f}"),
                     f"{pm(r['c2st_mean'], None, '{:.3f}')} / {pm(r['c2st_floor_mean'], None, '{:.3f}')}",
                     pm(r["material_coverage_mean"], r["material_coverage_std"], "{:.0f}", 100),
                     f"{r['runs']}" + (f" ({r['diverged']} diverged)" if r["diverged"] else "")])
    return rows


HEADER = ["data", "model", "modes captured", "high quality %", "reverse KL", "spread",
          "offset (std)", "C2ST / floor", "material coverage %", "runs"]
# issue 14's high-quality targets, judged on every seed (its fit targets: bench_points_recipe's)
HQ_TARGET = {"cwgan-gp": 0.95, "wgan-gp": 0.90}


def target_lines(frame, model: str) -> list[str]:
    """Issue 14's targets for `model`'s rows of `frame`, each judged on every seed."""
    rs = frame[(frame["model"] == model) & (frame["sampling"] == "raw")]
    label = row_label(model)

    def items(test, shown):
        return [(f"{r['data']} s{int(r['seed'])}", bool(test(r)), shown(r)) for _, r in rs.iterrows()]

    low, high = SPREAD_RANGE
    hq = HQ_TARGET[model]
    return [
        verdict_all(f"({label}) every mode on every seed, >= {100 * hq:.0f}% high quality",
                    items(lambda r: r["modes_captured"] == r["modes"] and r["hq"] >= hq,
                          lambda r: f"{r['modes_captured']:.0f}/{r['modes']} {100 * r['hq']:.1f}%")),
        verdict_all(f"({label}) the fit inside each mode: mean spread ratio {low}-{high}, mean "
                    f"offset <= {OFFSET_TARGET} std, C2ST within {C2ST_MARGIN} of its floor "
                    f"(either side)",
                    items(lambda r: low <= r["spread_mean"] <= high and r["offset_mean"] <= OFFSET_TARGET
                          and c2st_fits(r),
                          lambda r: f"{r['spread_mean']:.2f}/{r['offset_mean']:.2f}/"
                                    f"{c2st_gap(r):+.3f}")),
    ]


def timed(label: str, **kwargs):
    wall, cpu = time.perf_counter(), cpu_seconds()
    print(f"[{time.strftime('%H:%M:%S')}] {label}: load {load()}", file=sys.stderr, flush=True)
    started = load()
    frame = run_mode_collapse(progress=True, **kwargs)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    frame.attrs["load_start"] = started
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {len(frame)} runs, {wall:.0f} s wall, {cpu:.0f} s CPU",
          file=sys.stderr, flush=True)
    return frame, wall, cpu


def speed_probe(model: str, conditional: bool, steps: int, members: int, loop_members: int) -> dict:
    """CPU ms per run-step: one ensemble of `members` runs (as the grid's: the seeds of one
    mixture, blobs16) against `loop_members` runs of the ordinary loop."""
    def build(n):
        mods, data, configs = [], [], []
        for i in range(n):
            c = TrainConfig(data="blobs16", model=model, conditional=conditional,
                            seed=i, steps=steps, progress=False, tensorboard=False).resolve("points")
            train, _ = prepare_data(c)
            mods.append(build_module(c, DataSpec.of(train)))
            data.append(train)
            configs.append(c)
        return mods, data, configs

    mods, data, configs = build(2)             # warm up (first calls allocate and initialise)
    for c in configs:
        c.steps = 3
    train_many(mods, data, configs, vectorised=True)
    train_many(mods, data, configs, vectorised=False)
    out = {}
    for vectorised, n in ((False, loop_members), (True, members)):
        mods, data, configs = build(n)
        cpu = time.process_time()
        train_many(mods, data, configs, vectorised=vectorised)
        out["vectorised" if vectorised else "loop"] = (time.process_time() - cpu) / (n * steps) * 1000
    return out


def minibatch_cost(steps: int) -> dict:
    """CPU ms per generator step with and without minibatch discrimination (blobs8, defaults)."""
    from gankit.training.loop import training_loop

    out = {"steps": steps, "models": {}}
    for model in ("gan", "wgan-gp"):
        costs = {}
        for remedy in (None, "minibatch"):
            config = TrainConfig(data="blobs8", model=model, remedy=remedy, steps=steps + 1,
                                 progress=False, tensorboard=False, log_every=1).resolve("points")
            train, _ = prepare_data(config)
            module = build_module(config, DataSpec.of(train))
            marks = {}
            training_loop(module, train, config,
                          on_step=lambda step, _l: marks.__setitem__(step, time.process_time()))
            costs["minibatch" if remedy else "plain"] = (marks[steps + 1] - marks[1]) / steps * 1000
        out["models"][row_label(model)] = costs
    return out


def schedule_text(frame, wall: float, workers: int) -> str:
    """Where the grid's wall time goes: the ensembles (one per model and mixture, the units a
    worker trains), the longest-first schedule over the workers, and the rest (scoring, files,
    start-up)."""
    raw = frame[frame["sampling"] == "raw"]
    units = raw.groupby(["model", "data"], sort=False)["seconds"].sum()  # an ensemble's wall s
    loads = [0.0] * max(1, workers)
    for seconds in units.sort_values(ascending=False):
        loads[loads.index(min(loads))] += seconds
    per_model = units.groupby(level=0, sort=False)
    train = frame.attrs.get("train_seconds", float("nan"))
    return ("Where the wall time goes: the ensembles trained "
            + ", ".join(f"{row_label(m)} {v.sum():.0f} s ({len(v)} ensembles, "
                        f"{v.min():.0f}-{v.max():.0f} s each)" for m, v in per_model)
            + f" (wall, in their worker); longest first on {workers} worker(s) that is "
            + " and ".join(f"{v:.0f} s" for v in loads)
            + f" of training per worker, against {units.sum() / max(1, workers):.0f} s if the work "
            f"split evenly; training (worker start-up and the transfer of the weights included) took "
            f"{train:.0f} s of the {wall:.0f} s wall, the rest is "
            "start-up, scoring (mode metrics and the material's KMeans test on 10,000 samples per "
            "run) and the files.")


def check_rows() -> list[dict]:
    """Seed 0 of each grid model on blobs8 at 200 steps, through `run_mode_collapse` (vectorised
    ensembles of one run, one process, one thread)."""
    frame = run_mode_collapse(modes=[8], models=["gan", "wgan-gp", "cwgan-gp"], seeds=[0],
                              steps=200, out=None, report=False)
    return [{"row": f"blobs8 {r['model']} seed 0", "settings": {"steps": 200},
             "values": {"modes_captured": int(r["modes_captured"]), "hq": float(r["hq"]),
                        "reverse_kl": float(r["reverse_kl"])}}
            for _, r in frame.iterrows() if r.get("sampling", "raw") == "raw"]


CHECK_TOLERANCE = {"kind": "exact"}
CHECKS = {"mode_collapse": check_rows}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help=f"default: the experiment's ({DEFAULT_STEPS})")
    parser.add_argument("--remedy-seeds", type=int, default=3)
    parser.add_argument("--standard-seeds", type=int, default=5)
    parser.add_argument("--minibatch", type=int, default=0, metavar="STEPS",
                        help="also run minibatch discrimination, at this budget (it costs about "
                             "0.4 s (GAN) and 1.1 s (WGAN-GP) of CPU per run-step at batch 256)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes for the experiments (one torch thread each)")
    parser.add_argument("--long", type=int, default=0, help="also run cwgan-gp at this many steps")
    parser.add_argument("--balance", type=int, default=0, metavar="N",
                        help="also time the grid with --max-members N (ensembles cut to even pieces)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["grid", "speed", "remedies", "standard", "larger"])
    parser.add_argument("--quick", action="store_true", help="tiny budget, prints instead of writing docs")
    args = parser.parse_args(argv)
    one_thread()
    steps = 3 if args.quick else args.steps      # None: each row's own budget
    seeds = 1 if args.quick else args.seeds
    started = load()
    parts = []
    headline = {}

    if "grid" not in args.skip:
        grid, wall, cpu = timed("grid", modes=[4, 8, 16, 32], models=["gan", "wgan-gp", "cwgan-gp"],
                                seeds=seeds, steps=steps, out=OUT / "grid", workers=args.workers)
        headline.update(grid_wall=wall, grid_cpu=cpu, grid_runs=len(grid))
        parts.append(
            f"### Full grid: {len(grid)} runs, {budget_text(grid)} generator steps each\n\n"
            f"Blobs with 4/8/16/32 modes x vanilla GAN / WGAN-GP / conditional WGAN-GP x {seeds} seeds, "
            f"every setting the `gankit train` default for the model (conditional WGAN-GP: the "
            f"points recipe with each class at its own scale, docs/mode_collapse_recipe.md) "
            f"except the budget "
            f"(`gankit experiment mode-collapse --seeds {seeds} --workers {args.workers} --out DIR`). "
            f"{args.workers} process(es), one torch thread each, vectorised ensembles (one per model "
            f"and mixture: {seeds} runs). **Total {wall:.0f} s wall, "
            f"{cpu:.0f} s CPU**; training {grid.attrs['train_seconds']:.0f} s "
            f"wall of it. Load average when it started: {grid.attrs.get('load_start', '?')}. "
            "Mean ± std over seeds; material coverage is the reference material's own "
            f"test (one sample within 0.1 of a KMeans centre), shown beside the standard metrics only "
            f"to compare. Spread: generated std / true std per axis, mean over captured modes; "
            "offset: distance of a class's mean from its centre in std, mean over modes (both "
            "per label for the conditional model, per nearest centre otherwise; both on 10,000 "
            "samples, the mode metrics on the first 2,500); C2ST: accuracy "
            "of a kNN classifier telling 2,500 generated from held-out real points, beside two "
            "real samples' (the floor).\n\n" + markdown_table(HEADER, summary_rows(grid, False))
            + "\n\n" + verdict(f"the {len(grid)}-run grid, wall seconds on this machine "
                                 f"(`--workers {args.workers}`)", wall, 600, higher_is_better=False,
                                 fmt="{:.0f}", unit=" s")
            + "\n" + "\n".join(target_lines(grid, "cwgan-gp") + target_lines(grid, "wgan-gp"))
            + "\n\n" + schedule_text(grid, wall, args.workers))
        if args.balance:
            bal, bwall, bcpu = timed("grid balanced", modes=[4, 8, 16, 32],
                                     models=["gan", "wgan-gp", "cwgan-gp"], seeds=seeds, steps=steps,
                                     out=OUT / "grid_balanced", workers=args.workers,
                                     max_members=args.balance)
            parts.append(
                f"#### The same grid with `--max-members {args.balance}`\n\n"
                f"Ensembles of at most {args.balance} runs, so the {args.workers} workers get "
                f"pieces of even size. **Total {bwall:.0f} s wall, {bcpu:.0f} s CPU** (same machine, "
                f"right after the grid above; load average {bal.attrs.get('load_start', '?')} "
                "at its start). Ensembles of another size round differently, so the rows are "
                "statistically, not digit for digit, those above (docs/distributed.md).\n\n"
                + markdown_table(HEADER, summary_rows(bal, False)) + "\n\n"
                + verdict(f"the {len(bal)}-run grid with `--max-members {args.balance}`, wall seconds",
                          bwall, 600, higher_is_better=False, fmt="{:.0f}", unit=" s")
                + "\n\n" + schedule_text(bal, bwall, args.workers))

    if "speed" not in args.skip:
        probe_steps = 3 if args.quick else 30
        rows, total_loop, total_vec = [], 0.0, 0.0
        projected = {"loop": 0.0, "vectorised": 0.0}     # ms per run, each model at its budget
        for name, model, cond in (("gan", "gan", False), ("wgan-gp", "wgan-gp", False),
                                  ("cwgan-gp", "wgan-gp", True)):
            print(f"[{time.strftime('%H:%M:%S')}] speed probe {name}", file=sys.stderr, flush=True)
            s = speed_probe(model, cond, probe_steps, seeds, 2 if args.quick else 4)
            total_loop += s["loop"]
            total_vec += s["vectorised"]
            for way in projected:
                projected[way] += s[way] * row_steps(name, steps)
            rows.append([row_label(name), f"{s['loop']:.1f}", f"{s['vectorised']:.1f}",
                         f"{s['loop'] / s['vectorised']:.2f}x"])
        rows.append(["grid mix (one run of each model)", f"{total_loop:.1f}", f"{total_vec:.1f}",
                     f"{total_loop / total_vec:.2f}x"])
        headline["speedup"] = total_loop / total_vec
        runs_per_model = 4 * seeds
        parts.append(
            "### Vectorised ensembles against the one-by-one loop\n\n"
            f"CPU milliseconds per run and generator step (one torch thread; {probe_steps} steps; the "
            f"loop on 4 runs, the ensemble on {seeds} runs of blobs16, as the grid's). Both compute "
            "the same thing (same weights, data, random streams and update order per run; "
            "`tests/training/test_ensemble.py`). The work is dominated by 256 x 128 x 128 matrix "
            "products, which one thread already runs near its arithmetic peak, so batching removes the "
            "per-operation overhead but not the arithmetic: the gain is modest on this CPU. Projected "
            f"training time of the grid one by one: {projected['loop'] * runs_per_model / 1000:.0f} s CPU, "
            f"vectorised: {projected['vectorised'] * runs_per_model / 1000:.0f} s CPU (each model "
            "at its budget).\n\n"
            + markdown_table(["model", "one-by-one ms", "vectorised ms", "speed-up"], rows))

    if "remedies" not in args.skip:
        rseeds = 1 if args.quick else args.remedy_seeds
        rem, wall, cpu = timed("remedies", modes=[8, 32], models=["gan", "wgan-gp"],
                               remedies=["pac"], seeds=rseeds, steps=steps,
                               out=OUT / "remedies", workers=args.workers)
        rows = summary_rows(rem)
        text = (f"PacGAN (4 packed samples) on 8 and 32 modes, {rseeds} seeds, "
                f"{budget_text(rem)} steps; compare "
                f"with the rows of the same models above. {len(rem)} runs, {wall:.0f} s wall, "
                f"{cpu:.0f} s CPU.")
        if args.minibatch:
            mb, wall, cpu = timed("minibatch", modes=[8, 32], models=["gan", "wgan-gp"],
                                  remedies=["minibatch"], seeds=1, steps=args.minibatch,
                                  out=OUT / "minibatch", workers=args.workers)
            rows += [[r[0], r[1] + f" ({args.minibatch} steps, 1 seed)"] + r[2:] for r in summary_rows(mb)]
            text += (f" Minibatch discrimination (16 kernels of 8) at {args.minibatch} steps and one seed "
                     f"only: {len(mb)} runs, {wall:.0f} s wall, {cpu:.0f} s CPU.")
        else:
            cost = minibatch_cost(2 if args.quick else 5)
            text += (" Minibatch discrimination is left out (`--minibatch STEPS` adds it): its "
                     "pairwise L1 tensor (batch x batch x 16 kernels x 8, three batches per critic "
                     "step, twice differentiated under the penalty) costs, measured now at gankit's "
                     "defaults on blobs8 (CPU ms per generator step, one thread, "
                     f"{cost['steps']} steps after one warm-up step): "
                     + "; ".join(f"{m}: {c['minibatch']:.0f} ms against {c['plain']:.1f} ms plain "
                                 f"({c['minibatch'] / c['plain']:.0f}x)" for m, c in cost["models"].items())
                     + ".")
        parts.append(f"### Remedies (extra rows, reduced set)\n\n{text}\n\n" + markdown_table(HEADER, rows))

    if "standard" not in args.skip:
        sseeds = 1 if args.quick else args.standard_seeds
        rows = []
        for data in ("ring8", "grid25"):
            frame, wall, cpu = timed(data, models=["gan", "wgan-gp"], remedies=["none", "pac"],
                                     data=data, seeds=sseeds, steps=steps, out=OUT / data,
                                     workers=args.workers)
            rows += summary_rows(frame)
            k = 8 if data == "ring8" else 25
            for label, m, hq, rkl in PUBLISHED[data]:
                rows.append([data, f"{label} (PacGAN Table 1)", f"{m} / {k}", f"{hq}", f"{rkl}",
                             "-", "-", "-", "-", "10"])
        parts.append(
            f"### ring8 and grid25 beside the published figures ({sseeds} seeds, "
            f"{row_steps('wgan-gp', steps)} steps)\n\n"
            "Same definitions as PacGAN (Lin et al. 2018), whose Table 1 rows are mean over 10 runs of "
            "400 epochs of 100k samples on a GPU with their own networks: a far larger budget than "
            "here. VEEGAN (Srivastava et al. 2017, Table 1) and Unrolled GAN (Metz et al. 2017) report "
            "these mixtures under other protocols (VEEGAN: its own networks and budget, no reverse KL; "
            "Metz et al.: pictures of the ring only); their figures are not copied here.\n\n"
            + markdown_table(HEADER, rows))

    if "larger" not in args.skip:
        gseeds = 1 if args.quick else args.seeds
        big, wall, cpu = timed("blobs64", modes=[64], models=["gan", "wgan-gp", "cwgan-gp"],
                               seeds=gseeds, steps=steps, out=OUT / "blobs64", workers=args.workers)
        grid100, wall2, cpu2 = timed("grid100", data="grid100", models=["gan", "wgan-gp"],
                                     seeds=gseeds, steps=steps, out=OUT / "grid100",
                                     workers=args.workers)
        parts.append(
            f"### Larger mixtures: blobs64 and grid100 ({gseeds} seeds)\n\n"
            "Where each model stops scaling: 64 blobs (the grid's layout) and the 10x10 grid "
            f"(grid25's spacing and width). blobs64: {budget_text(big)} steps, {len(big)} runs, "
            f"{wall:.0f} s wall, {cpu:.0f} s CPU; grid100: {budget_text(grid100)} steps, "
            f"{len(grid100)} runs, {wall2:.0f} s wall, {cpu2:.0f} s CPU.\n\n"
            + markdown_table(HEADER, summary_rows(big, False) + summary_rows(grid100, False))
            + "\n\n" + "\n".join(target_lines(big, "cwgan-gp")))

    if args.long:
        lseeds = 1 if args.quick else min(args.seeds, 3)
        long, wall, cpu = timed("long", modes=[4, 8, 16, 32], models=["cwgan-gp"], seeds=lseeds,
                                steps=args.long, out=OUT / f"cwgan-{args.long}", workers=args.workers)
        parts.append(
            f"### Conditional WGAN-GP at {args.long} steps ({lseeds} seeds)\n\n"
            f"Does a longer budget meet the quality target? {len(long)} runs, {wall:.0f} s wall, "
            f"{cpu:.0f} s CPU.\n\n"
            + markdown_table(HEADER, summary_rows(long, False))
            + "\n\n" + "\n".join(target_lines(long, "cwgan-gp")))

    body = (f"Shared 2-core machine: load average {started} when the benchmark started, {load()} at "
            "the end (other jobs were running, so wall times are inflated; CPU times are this "
            "process's and its worker processes' own). Experiment folders: "
            "`runs/bench_mode_collapse/`.\n\n"
            + "\n\n".join(parts))
    if args.quick:
        print(body)
    else:
        write_section("mode_collapse", "Mode collapse: 4/8/16/32 modes x 3 models x 5 seeds, remedies, "
                      "ring8 and grid25, blobs64 and grid100", body,
                      command_line("bench_mode_collapse", argv),
                      threads=f"one torch thread per process; {args.workers} worker process(es) "
                              "for the experiments",
                      check=(check_rows(), CHECK_TOLERANCE))
    print(headline, file=sys.stderr)


if __name__ == "__main__":
    main()
