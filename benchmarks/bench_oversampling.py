"""GAN oversampling against SMOTE, random oversampling and none; fidelity against CTGAN.

1. Oversampling: for each imbalanced task (gankit.experiments.oversampling_tasks.TASKS: heart,
   heart-rare, breast-cancer, wine, digits), repeated stratified k-fold (5 x 2 by default),
   classifiers logistic regression / random forest / gradient boosting, samplers none / random /
   SMOTE(NC) / GAN; minority F1, balanced accuracy, PR-AUC (mean ± std over test folds) and the
   sampler's CPU time per training fold.
2. `GANOverSampler.fit_resample` on the whole heart table (303 rows), CPU seconds.
3. Fidelity of generated minority rows (KS per numeric column, total variation per categorical
   column, mean absolute difference of correlation matrices, k-NN two-sample test): gankit's
   TabularGAN at its defaults, gankit with a budget of a tenth of CTGAN's CPU time, and CTGAN
   (package `ctgan`, its defaults: 300 epochs), all fitted on the same minority rows; a split of
   the real rows into halves gives the noise floor. CTGAN runs in its own interpreter
   ($GANKIT_CTGAN_PYTHON, default /tmp/ctgan-venv/bin/python), because installing it into the
   project's environment would replace pandas 3 with pandas 2; when it is missing, the CTGAN
   rows are left out and the section says so.

    python -m benchmarks.bench_oversampling [--tasks heart,wine] [--folds 5 --repeats 2]
        [--seeds 2] [--skip-cv] [--skip-fidelity] [--no-write]

Per-task results are kept in runs/bench_oversampling/. Every run measures afresh by default;
--reuse re-publishes the cached per-task results instead (to resume a long run), and the section
then says which figures were re-used and when they were measured.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gankit.experiments.oversampling import evaluate_oversampling, summarise, verdicts
from gankit.experiments.oversampling_fidelity import fidelity
from gankit.experiments.oversampling_tasks import TASKS, load_task
from gankit.oversampling import GANOverSampler
from gankit.tabular_gan import DEFAULT_STEPS, TabularGAN

from ._common import ROOT, command_line, load_text, one_thread, verdict, verdict_count, write_section

CACHE = ROOT / "runs" / "bench_oversampling"
RUNNER = Path(__file__).resolve().parent / "_ctgan_runner.py"
CTGAN_PYTHON = os.environ.get("GANKIT_CTGAN_PYTHON", "/tmp/ctgan-venv/bin/python")
DEFAULT_TASKS = ("heart", "heart-rare", "breast-cancer", "wine", "digits")


REUSED: list[str] = []      # cached files this run re-published (--reuse), with their dates


def _cached(path: Path, reuse: bool) -> pd.DataFrame | None:
    if reuse and path.exists():
        REUSED.append(f"`{path.relative_to(ROOT)}` (measured "
                      f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(path.stat().st_mtime))})")
        return pd.read_csv(path)
    return None


def cv_results(name: str, folds: int, repeats: int, reuse: bool) -> pd.DataFrame:
    path = CACHE / f"cv_{name}_{folds}x{repeats}.csv"
    cached = _cached(path, reuse)
    if cached is not None:
        return cached
    task = load_task(name)
    t0 = time.perf_counter()
    df = evaluate_oversampling(task, folds=folds, repeats=repeats,
                               progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def heart_fit_resample_time(seed: int = 0) -> dict:
    task = load_task("heart")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    X_res, y_res = GANOverSampler(random_state=seed,
                                  discrete_columns=task.discrete_columns).fit_resample(task.X, task.y)
    return {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0,
            "rows_in": len(task.X), "rows_added": len(X_res) - len(task.X)}


def ctgan_available() -> bool:
    if not Path(CTGAN_PYTHON).exists():
        return False
    ok = subprocess.run([CTGAN_PYTHON, "-c", "import ctgan"], capture_output=True)
    return ok.returncode == 0


def run_ctgan(real: pd.DataFrame, discrete: list, seed: int) -> tuple[pd.DataFrame, dict]:
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.csv", Path(d) / "out.csv"
        real.to_csv(src, index=False)
        spec = {"discrete": discrete, "seed": seed, "n": len(real), "threads": 1}
        out = subprocess.run([CTGAN_PYTHON, str(RUNNER), str(src), str(dst), json.dumps(spec)],
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"CTGAN failed: {out.stderr[-1500:]}")
        info = json.loads(out.stdout.strip().splitlines()[-1])
        fake = pd.read_csv(dst)
    for c in real.columns:      # CTGAN returns floats for integer columns
        try:
            fake[c] = fake[c].astype(real[c].dtype)
        except (TypeError, ValueError):
            pass
    return fake, info


def gankit_fit(real: pd.DataFrame, discrete: list, seed: int, steps: int | None = None):
    cpu0, wall0 = time.process_time(), time.perf_counter()
    gan = TabularGAN(random_state=seed, steps=steps).fit(real, discrete_columns=discrete)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return gan.sample(len(real), random_state=seed), {"fit_cpu_s": cpu, "fit_wall_s": wall,
                                                      "steps": gan.steps_}


def fidelity_rows(name: str, seeds: int, use_ctgan: bool, reuse: bool) -> pd.DataFrame:
    path = CACHE / f"fidelity_{name}_{seeds}{'_ctgan' if use_ctgan else ''}.csv"
    cached = _cached(path, reuse)
    if cached is not None:
        return cached
    task = load_task(name)
    real = task.X[task.y == 1].reset_index(drop=True)
    discrete = list(task.discrete_columns)
    rows = []
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(real))
    half = len(real) // 2
    floor, _ = fidelity(real.iloc[perm[:half]].reset_index(drop=True),
                        real.iloc[perm[half:]].reset_index(drop=True), discrete)
    rows.append({"data": name, "model": "real halves (noise floor)", "seed": 0, **floor,
                 "fit_cpu_s": 0.0, "fit_wall_s": 0.0, "steps": 0})
    for seed in range(seeds):
        fake, info = gankit_fit(real, discrete, seed)
        f, _ = fidelity(real, fake, discrete, seed=seed)
        rows.append({"data": name, "model": "gankit TabularGAN (defaults)", "seed": seed, **f,
                     **info})
        per_step = info["fit_cpu_s"] / max(1, info["steps"])
        if use_ctgan:
            cfake, cinfo = run_ctgan(real, discrete, seed)
            f, _ = fidelity(real, cfake, discrete, seed=seed)
            rows.append({"data": name, "model": "CTGAN 0.12 (defaults, 300 epochs)", "seed": seed,
                         **f, "fit_cpu_s": cinfo["fit_cpu_s"], "fit_wall_s": cinfo["fit_wall_s"],
                         "steps": cinfo["epochs"]})
            # a tenth of CTGAN's CPU time, from gankit's measured cost per step (the encoder's
            # fit is part of that cost, so this slightly overshoots the step count)
            steps = max(10, int(0.1 * cinfo["fit_cpu_s"] / per_step))
            sfake, sinfo = gankit_fit(real, discrete, seed, steps=steps)
            f, _ = fidelity(real, sfake, discrete, seed=seed)
            rows.append({"data": name, "model": "gankit TabularGAN (1/10 of CTGAN's CPU time)",
                         "seed": seed, **f, **sinfo})
        print(f"{name} fidelity seed {seed} done", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def _pm(m, s, d=3):
    return f"{m:.{d}f}" if pd.isna(s) else f"{m:.{d}f} ± {s:.{d}f}"


def cv_markdown(summary: pd.DataFrame) -> str:
    lines = ["| data | classifier | none | random | SMOTE(NC) | GAN | GAN CPU-s / fold |",
             "|---|---|---|---|---|---|---|"]
    for (data, clf), g in summary.groupby(["data", "classifier"], sort=False):
        by = g.set_index("sampler")
        cells = [_pm(by.loc[s, "f1_mean"], by.loc[s, "f1_std"]) if s in by.index else "n/a"
                 for s in ("none", "random", "smote", "gan")]
        best = max(by.loc[s, "f1_mean"] for s in ("none", "random", "smote", "gan")
                   if s in by.index)
        cells = [f"**{c}**" if s in by.index and by.loc[s, "f1_mean"] == best else c
                 for c, s in zip(cells, ("none", "random", "smote", "gan"))]
        gan_cpu = by.loc["gan", "sampler_cpu_s_mean"] if "gan" in by.index else float("nan")
        lines.append(f"| {data} | {clf} | " + " | ".join(cells) + f" | {gan_cpu:.1f} |")
    return "\n".join(lines)


def other_metrics_markdown(summary: pd.DataFrame) -> str:
    lines = ["| data | classifier | sampler | balanced accuracy | PR-AUC | sampler CPU-s |",
             "|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        lines.append(f"| {r.data} | {r.classifier} | {r.sampler} | "
                     f"{_pm(r.balanced_accuracy_mean, r.balanced_accuracy_std)} | "
                     f"{_pm(r.pr_auc_mean, r.pr_auc_std)} | {r.sampler_cpu_s_mean:.2f} |")
    return "\n".join(lines)


def fidelity_markdown(fid: pd.DataFrame) -> str:
    cols = ["ks_mean", "tv_mean", "corr_diff", "c2st", "fit_cpu_s"]
    g = fid.groupby(["data", "model"], sort=False)[cols].agg(["mean", "std"]).reset_index()
    lines = ["| data | model | KS mean | TV mean | corr. diff | c2st acc. | fit CPU-s |",
             "|---|---|---|---|---|---|---|"]
    for _, r in g.iterrows():
        cells = []
        for c in cols:
            m, s = r[(c, "mean")], r[(c, "std")]
            cells.append("n/a" if pd.isna(m) else _pm(m, s, 1 if c == "fit_cpu_s" else 3))
        lines.append(f"| {r[('data', '')]} | {r[('model', '')]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_rows() -> list[dict]:
    """gankit's TabularGAN on the heart task's minority rows, seed 0, 30 steps: the fidelity
    distances of the section's second table (exact)."""
    task = load_task("heart")
    real = task.X[task.y == 1].reset_index(drop=True)
    discrete = list(task.discrete_columns)
    fake, _ = gankit_fit(real, discrete, 0, steps=30)
    f, _ = fidelity(real, fake, discrete, seed=0)
    return [{"row": "heart TabularGAN seed 0", "settings": {"steps": 30},
             "values": {k: float(f[k]) for k in ("ks_mean", "tv_mean", "corr_diff", "c2st")}}]


CHECKS = {"oversampling": check_rows}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default=",".join(DEFAULT_TASKS))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--seeds", type=int, default=2, help="seeds for the fidelity comparison")
    p.add_argument("--skip-cv", action="store_true")
    p.add_argument("--skip-fidelity", action="store_true")
    p.add_argument("--reuse", action="store_true",
                   help="re-publish cached per-task results instead of measuring them again "
                        "(the section names the re-used files and their dates)")
    p.add_argument("--no-write", action="store_true", help="print, do not edit docs/benchmarks.md")
    args = p.parse_args(argv)
    one_thread()
    tasks = [t for t in args.tasks.split(",") if t]
    for t in tasks:
        if t not in TASKS:
            raise SystemExit(f"unknown task {t!r}; choose from {list(TASKS)}")
    load_start = load_text()
    parts = []
    cv_rows, summary = [], None
    if not args.skip_cv:
        cv_rows = [cv_results(t, args.folds, args.repeats, args.reuse) for t in tasks]
        summary = summarise(pd.concat(cv_rows, ignore_index=True))
        per_pair = verdicts(summary)
        wins = int(per_pair["gan_ge_smote"].sum())
        within = int(per_pair["gan_within_1sd_of_none"].sum())
        timing = heart_fit_resample_time()
        parts += [
            "### Minority F1 under repeated stratified k-fold",
            "",
            "Tasks (how each data set is made imbalanced):",
            "",
            "\n".join(f"- **{t}**: {TASKS[t]['description']}." for t in tasks),
            "",
            f"Repeated stratified {args.folds}-fold, {args.repeats} repeats (seed 0); mean ± std "
            f"over the {args.folds * args.repeats} test folds. Each sampler is fitted on the "
            "training fold only (its rows feed all three classifiers), every class grown to the "
            "majority's size; classifiers see one-hot categorical and standardised numeric "
            "columns. GAN = `GANOverSampler()` at its defaults (one TabularGAN per class, "
            f"WGAN-GP + PacGAN 10, {DEFAULT_STEPS} generator steps, 5 critic steps each). Best "
            "F1 of each row in bold.",
            "",
            cv_markdown(summary),
            "",
            "**Targets.**",
            "",
            verdict_count("GAN minority F1 >= SMOTE's, data-set/classifier pairs", wins,
                          len(per_pair), (len(per_pair) + 1) // 2),
            verdict_count("GAN F1 within one standard deviation (of the no-oversampling F1 across "
                          "folds) of no oversampling, or above it", within, len(per_pair),
                          len(per_pair)),
            verdict(f"`GANOverSampler().fit_resample` on the whole heart table ({timing['rows_in']} "
                    f"rows, {timing['rows_added']} generated), CPU seconds", timing["cpu_s"], 30,
                    higher_is_better=False, fmt="{:.1f}", unit=" s")
            + f" ({timing['wall_s']:.1f} s wall).",
            "",
            "Pairs where GAN oversampling is below no oversampling by more than one std: "
            + (", ".join(f"{r.data}/{r.classifier}" for r in per_pair.itertuples()
                         if not r.gan_within_1sd_of_none) or "none") + ".",
            "",
            "<details><summary>Balanced accuracy and PR-AUC</summary>",
            "",
            other_metrics_markdown(summary),
            "",
            "</details>",
            "",
        ]
    if not args.skip_fidelity:
        use_ctgan = ctgan_available()
        fid = pd.concat([fidelity_rows(t, args.seeds, use_ctgan, args.reuse) for t in tasks],
                        ignore_index=True)
        note = ("CTGAN 0.12.1 ran from a separate virtual environment sharing this torch build "
                "(pip would have replaced pandas 3 with pandas 2 in the project's environment)."
                if use_ctgan else
                f"CTGAN rows are missing: no `ctgan` at {CTGAN_PYTHON} (set GANKIT_CTGAN_PYTHON).")
        parts += [
            "### Fidelity of generated minority rows",
            "",
            "Each model is fitted on the minority rows of the task and draws as many rows; "
            "distances against the same real rows, mean ± std over "
            f"{args.seeds} seeds. KS: mean Kolmogorov-Smirnov statistic over numeric columns; "
            "TV: mean total-variation distance over categorical columns; corr. diff: mean "
            "absolute difference of the off-diagonal Pearson correlations; c2st: held-out "
            "accuracy of a k-NN telling real from generated (0.5 = indistinguishable). All "
            "lower is better. The noise floor compares two random halves of the real rows (half "
            "the rows each, so its KS is inflated by the smaller samples). One torch thread "
            f"for both libraries. {note}",
            "",
            fidelity_markdown(fid),
            "",
        ]
    body = "\n".join(parts) + (
        f"\nLoad average {load_start} at the start, {load_text()} at the "
        "end, on a shared 2-core machine: wall times are upper bounds; CPU seconds are the "
        "figures to compare.\n")
    if REUSED:
        body += ("\n**Re-used, not measured by this run (--reuse):** " + ", ".join(REUSED)
                 + ".\n")
    command = command_line("bench_oversampling", argv)
    if args.no_write:
        print(body)
    else:
        write_section("oversampling", "GAN oversampling vs SMOTE, and fidelity vs CTGAN", body,
                      command, threads="one torch thread (gankit and CTGAN); scikit-learn's "
                                       "classifiers at one BLAS thread",
                      check=(check_rows(), {"kind": "exact"}))
        print(body)


if __name__ == "__main__":
    main()
