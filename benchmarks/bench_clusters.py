"""Each class or cluster at its own scale (issue 14, docs/mode_collapse_recipe.md).

Part "clusters" (`--clusters`): WGAN-GP trained on k-means clusters of its own data, each at its
own scale, and sampled by the clusters' shares (unconditional to its user), against the WGAN-GP
default, seed by seed, with issue 14's targets for unconditional models, ring8 and grid25
judged; and the sweeps behind its defaults (the number of clusters, the budget).

Rows are the mode-collapse experiment's (`gankit experiment mode-collapse --models wgan-gp
wgan-gp-clusters`), every run trained with the ordinary loop (`one_by_one`: a user's cost per
run) and scored as the experiment scores (modes, high quality, reverse KL and C2ST against
held-out points beside its real-vs-real floor on 2,500 samples; per-mode spread and offset on
10,000).

Part "classes" (class scaling, conditional WGAN-GP's default on points): conditional WGAN-GP
with each class standardised by its own mean and std, on blobs4-64, seed by seed, with issue
14's conditional targets judged, and its budget.

    python -m benchmarks.bench_clusters [--parts clusters classes] [--seeds 5] [--workers 2]
                                        [--skip sweep] [--quick]

Writes docs/benchmarks.md, sections "clusters" and "class_scaling".
"""
from __future__ import annotations

import argparse
import sys
import time

from gankit.experiments.mode_collapse import cpu_seconds, run_mode_collapse
from gankit.gans.wgan_gp import SCALED_POINTS_STEPS

from ._common import command_line, load_text, markdown_table, one_thread, verdict_all, write_section
from .bench_points_recipe import (C2ST_MARGIN, OFFSET_TARGET, SPREAD_RANGE, c2st_fits, c2st_gap,
                                  largest_gap)

MODEL = "wgan-gp-clusters"
DEFAULT_CLUSTERS = 100
BLOBS = ("blobs4", "blobs8", "blobs16", "blobs32")
MIXTURES = BLOBS + ("ring8", "grid25", "blobs64", "grid100")
# issue 14's targets: (high quality, reverse KL or None) on every seed
TARGETS = {**{b: (0.90, None) for b in BLOBS}, "ring8": (0.98, 0.02), "grid25": (0.95, 0.04)}
GRID25_CPU_TARGET = 120.0
# the sweeps: 3 seeds on the mixtures where the scale and the mode count bite
SWEEP_MIXTURES = ("ring8", "grid25", "blobs32", "grid100")
SWEEP_SEEDS = 3
SWEEP_CLUSTERS = (25, 50, 200)
SWEEP_STEPS = (500, 3000)
# class scaling (the default of the experiment's `cwgan-gp`): issue 14's conditional targets on
# blobs4-64
SCALED = "cwgan-gp"
SCALED_BLOBS = ("blobs4", "blobs8", "blobs16", "blobs32", "blobs64")
SCALED_SWEEP_BLOBS = ("blobs8", "blobs16", "blobs32", "blobs64")
CONDITIONAL_HQ_TARGET = 0.95
SCORES = ("modes_captured", "hq", "reverse_kl", "spread_mean", "spread_worst", "offset_mean",
          "offset_worst", "c2st", "c2st_floor", "spread_floor", "offset_floor")


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


def measure(model: str, data: str, seeds: list[int], workers: int, steps: int | None = None,
            **settings) -> list[dict]:
    """A record per seed of `model` on mixture `data` (scores, CPU seconds per run)."""
    where = {"modes": [int(data[5:])]} if data.startswith("blobs") else {"data": data}
    cpu0 = cpu_seconds()
    frame = run_mode_collapse(models=[model], seeds=seeds, steps=steps, one_by_one=True,
                              workers=workers, out=None, report=False, **where, **settings)
    per_run = (cpu_seconds() - cpu0) / max(1, len(frame))
    records = [{"model": model, "data": data, "modes": int(r["modes"]), "seed": int(r["seed"]),
                "steps": int(r["steps"]), "clusters": settings.get("clusters", DEFAULT_CLUSTERS)
                if model == MODEL else 0, "cpu_s": per_run, "status": r["status"],
                **{k: float(r[k]) for k in SCORES}} for _, r in frame.iterrows()]
    log(model, data, settings or "", f"{per_run:.1f} CPU s/run",
        " ".join(f"s{r['seed']}:{r['modes_captured']:.0f}/{r['modes']},{100 * r['hq']:.1f}%" for r in records))
    return records


def clusters_alone(data: str, seeds: list[int], clusters: int = DEFAULT_CLUSTERS) -> list[dict]:
    """The clusters without the GAN, on the runs' own training data: a sample draws a cluster by
    its share and a standard normal offset at the cluster's scale (a Gaussian mixture of the
    clusters' means and per-axis stds). What the generator adds is the difference."""
    import torch

    from gankit.experiments.mode_collapse import plan_runs
    from gankit.experiments.mode_collapse_scoring import MATERIAL_SAMPLES, score_module
    from gankit.models import DataSpec
    from gankit.training import build_module, prepare_data

    where = {"modes": [int(data[5:])]} if data.startswith("blobs") else {"data": data}
    records = []
    for run in plan_runs(models=[MODEL], seeds=seeds, clusters=clusters, **where):
        cpu0 = cpu_seconds()
        train, held_out = prepare_data(run.config)
        module = build_module(run.config, DataSpec.of(train))
        module.fit_scaling(train.x, None, run.config.seed)
        rng = torch.Generator().manual_seed(run.seed)
        labels = module.generator_labels(MATERIAL_SAMPLES, None, "cpu", rng)
        samples = module.decode(torch.randn(MATERIAL_SAMPLES, train.x.shape[1], generator=rng), labels)
        scores, _ = score_module(module, train, run.seed, held_out, samples=samples.double().numpy())
        records.append({"model": "clusters-alone", "data": data, "modes": run.modes,
                        "seed": run.seed, "steps": 0, "clusters": clusters,
                        "cpu_s": cpu_seconds() - cpu0, "status": "ok",
                        **{k: float(scores[k]) for k in SCORES}})
    log("clusters alone", data, " ".join(f"s{r['seed']}:{100 * r['hq']:.1f}%" for r in records))
    return records


def label(r: dict) -> str:
    if r["model"] == SCALED:
        return f"conditional WGAN-GP, each class at its scale, {r['steps']:,} steps"
    if r["model"] == "clusters-alone":
        return f"{r['clusters']} clusters alone (no GAN: a Gaussian per cluster)"
    if r["model"] != MODEL:
        return f"WGAN-GP (default), {r['steps']:,} steps"
    return f"WGAN-GP, {r['clusters']} clusters, {r['steps']:,} steps"


def summary_table(records: list[dict]) -> str:
    rows, seen = [], []
    for r in records:
        key = (r["data"], label(r))
        if key in seen:
            continue
        seen.append(key)
        rs = [s for s in records if (s["data"], label(s)) == key]
        rows.append([r["data"], label(r), f"{sum(s['modes_captured'] == s['modes'] for s in rs)}/{len(rs)}",
                     f"{100 * min(s['hq'] for s in rs):.1f}", f"{max(s['reverse_kl'] for s in rs):.3f}",
                     f"{min(s['spread_mean'] for s in rs):.2f}-{max(s['spread_mean'] for s in rs):.2f}",
                     f"{max(s['offset_mean'] for s in rs):.2f} "
                     f"({max(s['offset_floor'] for s in rs):.2f})",
                     f"{largest_gap(rs):+.3f}",
                     f"{sum(s['cpu_s'] for s in rs) / len(rs):.0f}"])
    return markdown_table(["data", "row", "seeds with every mode", "lowest high quality %",
                           "largest reverse KL", "spread mean, range over seeds",
                           "largest mean offset (std) (largest of a real sample)",
                           "largest C2ST gap to floor (either side)", "CPU s/run"], rows)


def per_seed_table(records: list[dict]) -> str:
    rows = [[r["data"], label(r), r["seed"], f"{r['modes_captured']:.0f}/{r['modes']}",
             f"{100 * r['hq']:.1f}", f"{r['reverse_kl']:.3f}",
             f"{r['spread_mean']:.2f} / {r['spread_worst']:.2f} ({r['spread_floor']:.2f})",
             f"{r['offset_mean']:.2f} / {r['offset_worst']:.2f} ({r['offset_floor']:.2f})",
             f"{r['c2st']:.3f} / {r['c2st_floor']:.3f}", f"{r['cpu_s']:.0f}"] for r in records]
    return markdown_table(["data", "row", "seed", "modes", "high quality %", "reverse KL",
                           "spread mean / worst (real sample)",
                           "offset mean / worst (real sample), std", "C2ST / floor",
                           "CPU s/run"], rows)


def seed_items(records: list[dict], test, shown) -> list[tuple[str, bool, str]]:
    return [(f"{r['data']} s{r['seed']}", bool(test(r)), shown(r)) for r in records]


def modes_verdict(who: str, records: list[dict], hq: float, where: str = "") -> str:
    return verdict_all(f"({who}) {where}every mode on every seed, >= {100 * hq:.0f}% high quality",
                       seed_items(records, lambda r: r["modes_captured"] == r["modes"] and r["hq"] >= hq,
                                  lambda r: f"{r['modes_captured']:.0f}/{r['modes']} {100 * r['hq']:.1f}%"))


def fit_verdict(who: str, records: list[dict]) -> str:
    low, high = SPREAD_RANGE
    return verdict_all(
        f"({who}) the fit inside each mode: mean spread ratio {low}-{high}, mean offset "
        f"<= {OFFSET_TARGET} std, C2ST within {C2ST_MARGIN} of its floor (either side)",
        seed_items(records, lambda r: low <= r["spread_mean"] <= high and r["offset_mean"] <= OFFSET_TARGET
                   and c2st_fits(r),
                   lambda r: f"{r['spread_mean']:.2f}/{r['offset_mean']:.2f}/{c2st_gap(r):+.3f}"))


def verdicts(records: list[dict]) -> list[str]:
    """Issue 14's targets, judged on every seed of the clustered default."""
    def on(names):
        return [r for r in records if r["data"] in names]

    lines = [modes_verdict(f"unconditional: WGAN-GP, {DEFAULT_CLUSTERS} clusters", on(BLOBS),
                           TARGETS[BLOBS[0]][0], where="blobs4-32: ")]
    for data in ("ring8", "grid25"):
        hq, rkl = TARGETS[data]
        lines.append(verdict_all(
            f"({data}) every mode on every seed, >= {100 * hq:.0f}% high quality, reverse KL "
            f"<= {rkl}, without refinement",
            seed_items(on([data]), lambda r: r["modes_captured"] == r["modes"] and r["hq"] >= hq
                       and r["reverse_kl"] <= rkl,
                       lambda r: f"{r['modes_captured']:.0f}/{r['modes']} {100 * r['hq']:.1f}% "
                                 f"{r['reverse_kl']:.3f}")))
    lines.append(verdict_all(
        f"(grid25) within {GRID25_CPU_TARGET:.0f} CPU s per run (training and scoring, one thread)",
        seed_items(on(["grid25"]), lambda r: r["cpu_s"] <= GRID25_CPU_TARGET,
                   lambda r: f"{r['cpu_s']:.0f} s")))
    lines.append(fit_verdict("every row above", on(TARGETS)))
    return lines


def scaled_verdicts(records: list[dict]) -> list[str]:
    """Issue 14's conditional targets, judged on every seed of the class-scaled row."""
    who = "conditional WGAN-GP, class scaling"
    return [modes_verdict(who, records, CONDITIONAL_HQ_TARGET), fit_verdict(who, records)]


def check_row(model: str, row: str, **where) -> list[dict]:
    """`model` on one mixture, seed 0, 100 steps, one process (exact)."""
    frame = run_mode_collapse(models=[model], seeds=[0], steps=100, one_by_one=True, out=None,
                              report=False, **where)
    r = frame.iloc[0]
    return [{"row": row, "settings": {"steps": 100},
             "values": {"modes_captured": int(r["modes_captured"]), "hq": float(r["hq"]),
                        "spread_mean": float(r["spread_mean"]),
                        "offset_mean": float(r["offset_mean"])}}]


def check_rows() -> list[dict]:
    return check_row(MODEL, "ring8 wgan-gp-clusters seed 0", data="ring8")


def check_class_rows() -> list[dict]:
    return check_row(SCALED, "blobs8 cwgan-gp seed 0", modes=[8])


CHECKS = {"clusters": check_rows, "class_scaling": check_class_rows}


def clusters_part(args, seeds: list[int], load0: str) -> None:
    """Cluster conditioning against the WGAN-GP default, the clusters alone, and the sweeps."""
    mixtures = ("ring8", "blobs4") if args.quick else MIXTURES
    steps = 30 if args.quick else None
    main_records, sweep = [], []
    if "default" not in args.skip:
        for data in mixtures:
            for model in (MODEL, "wgan-gp"):
                main_records += measure(model, data, seeds, args.workers, steps)
            main_records += clusters_alone(data, seeds)
    if "sweep" not in args.skip:
        for data in (("ring8",) if args.quick else SWEEP_MIXTURES):
            for k in SWEEP_CLUSTERS:
                sweep += measure(MODEL, data, seeds[:SWEEP_SEEDS], args.workers, steps, clusters=k)
            for budget in ((20,) if args.quick else SWEEP_STEPS):
                sweep += measure(MODEL, data, seeds[:SWEEP_SEEDS], args.workers, budget)
    if args.quick:
        print(summary_table(main_records + sweep))
        return
    clustered = [r for r in main_records if r["model"] == MODEL]
    alone = [r for r in main_records if r["model"] == "clusters-alone"]
    default_first = [r for r in clustered if r["data"] in SWEEP_MIXTURES and r["seed"] < SWEEP_SEEDS]
    bad = [r for r in main_records + sweep if r["status"] != "ok"]
    body = f"""Load average {load0} at the start, {load_text()} at the end. {args.workers} worker
processes, one torch thread each; every run trained with the ordinary loop. Rows of
`gankit experiment mode-collapse`: `wgan-gp-clusters` (`gankit train --clusters
{DEFAULT_CLUSTERS}`: WGAN-GP conditioned on {DEFAULT_CLUSTERS} k-means clusters of its training
data, each cluster standardised by its own mean and std, the conditional points recipe's
settings, {SCALED_POINTS_STEPS:,} steps; samples draw a cluster by its share of the data, so
the model needs no labels) and `wgan-gp` (gankit's WGAN-GP default on points, 1,000 steps), on
{', '.join(mixtures)}, seeds {seeds[0]}-{seeds[-1]}. 2,500 samples per run for the mode metrics
and the C2ST, 10,000 for spread and offset; high quality: within 3 std of a centre (PacGAN's
definition; real samples score 98.9%). CPU s/run: training and
scoring, per run. In brackets beside spread and offset: the same figure for a fresh real sample
as large (what a perfect sampler would read). {len(bad)} run(s) diverged or failed.

{summary_table(main_records)}

The third row of each mixture is the clusters without the GAN: each cluster a Gaussian of its
own mean and per-axis std, drawn by its share (fitted to each run's own training data, no
training; {len(alone)} runs). On these mixtures, whose modes are Gaussian, the clusters carry most of the
structure; the generator's part is each cluster's shape, which a Gaussian per cluster already
has here.

Targets (issue 14; `wgan-gp-clusters`, judged on every seed, no refinement):

{chr(10).join(verdicts(clustered))}

The sweeps behind its defaults ({SWEEP_SEEDS} seeds; the default's own first {SWEEP_SEEDS}
seeds beside them): the number of clusters at {SCALED_POINTS_STEPS:,} steps, and the budget
at {DEFAULT_CLUSTERS} clusters.

{summary_table(sorted(default_first + sweep, key=lambda r: (SWEEP_MIXTURES.index(r['data']), r['clusters'], r['steps'])))}

Per seed (the default rows):

{per_seed_table(main_records)}
"""
    write_section("clusters", "Cluster conditioning: WGAN-GP on k-means clusters of its data",
                  body, command_line("bench_clusters", args.argv),
                  threads=f"one torch thread per process; {args.workers} worker process(es)",
                  check=(check_rows(), {"kind": "exact"}))


def classes_part(args, seeds: list[int], load0: str) -> None:
    """Conditional WGAN-GP with each class at its own scale, on blobs4-64, and its budget."""
    blobs = ("blobs8",) if args.quick else SCALED_BLOBS
    steps = 30 if args.quick else None
    records, sweep = [], []
    for data in blobs:
        records += measure(SCALED, data, seeds, args.workers, steps)
    if "sweep" not in args.skip:
        for data in (() if args.quick else SCALED_SWEEP_BLOBS):
            for budget in SWEEP_STEPS:
                sweep += measure(SCALED, data, seeds[:SWEEP_SEEDS], args.workers, budget)
    if args.quick:
        print(summary_table(records + sweep))
        return
    first = [r for r in records if r["data"] in SCALED_SWEEP_BLOBS and r["seed"] < SWEEP_SEEDS]
    bad = [r for r in records + sweep if r["status"] != "ok"]
    body = f"""Load average {load0} at the start, {load_text()} at the end. {args.workers} worker
processes, one torch thread each; every run trained with the ordinary loop. The row
`cwgan-gp` of `gankit experiment mode-collapse` (`gankit train --conditional`, whose class
scaling is on by default on points): conditional WGAN-GP whose classes are each standardised by
their own mean and std (per axis) before training and mapped back when sampled, with the
conditional points recipe's settings and {SCALED_POINTS_STEPS:,} steps, on {', '.join(blobs)},
seeds {seeds[0]}-{seeds[-1]}. Scored as the mode-collapse experiment scores (labels cycling over
the classes; 2,500 samples for the mode metrics and the C2ST, 10,000 for spread and offset); in
brackets beside spread and offset, the same figure for a fresh real sample as large (what a
perfect sampler would read). The recipe with one scale for all classes (`--no-class-scaling`,
3,000 steps) on the same mixtures and seeds: section "Conditional points recipe". {len(bad)}
run(s) diverged or failed.

{summary_table(records)}

Targets (issue 14, conditional WGAN-GP, judged on every seed):

{chr(10).join(scaled_verdicts(records))}

Its budget ({SWEEP_SEEDS} seeds, beside the default's own first {SWEEP_SEEDS}):

{summary_table(sorted(first + sweep, key=lambda r: (SCALED_BLOBS.index(r['data']), r['steps'])))}

Per seed:

{per_seed_table(records)}
"""
    write_section("class_scaling", "Conditional WGAN-GP's default on points: each class at its "
                  "own scale", body, command_line("bench_clusters", args.argv),
                  threads=f"one torch thread per process; {args.workers} worker process(es)",
                  check=(check_class_rows(), {"kind": "exact"}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes (one torch thread each)")
    parser.add_argument("--parts", nargs="*", default=["clusters", "classes"],
                        choices=["clusters", "classes"])
    parser.add_argument("--skip", nargs="*", default=[], choices=["default", "sweep"])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run (1 seed, a few mixtures, 30 steps; no document)")
    args = parser.parse_args(argv)
    args.argv = argv
    one_thread()
    load0 = load_text()
    seeds = list(range(1 if args.quick else args.seeds))
    if "clusters" in args.parts:
        clusters_part(args, seeds, load0)
    if "classes" in args.parts:
        classes_part(args, seeds, load_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
