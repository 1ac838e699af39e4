"""The reference material's two tabular demos, run for real.

Commands (registered under `gankit experiment`):
    iris-demo  --out DIR     the material's GAN on Iris Setosa: four histograms real vs generated
    heart-demo --out DIR     the material's exercise: minority F1 with and without GAN rows

Python: `run_iris_demo`, `run_heart_demo`.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from .oversampling import (CLASSIFIERS, classifier_scores, gan_settings, make_classifier,
                           make_sampler, write_report)
from .oversampling_fidelity import feature_histograms, fidelity
from .oversampling_tasks import load_task


def run_iris_demo(out, steps: int | None = None, model: str = "wgan-gp", numeric: str = "minmax",
                  seed: int = 0, n: int = 50, quiet: bool = False) -> dict[str, Any]:
    """The reference material's Iris experiment: a GAN on the 50 Setosa rows, scaled to
    [-1, 1] (min-max, as the material) and scaled back, four histograms real vs generated."""
    from sklearn.datasets import load_iris

    from ..tabular_gan import TabularGAN

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    iris = load_iris(as_frame=True)
    real = iris.data[iris.target == 0].reset_index(drop=True)
    gan = TabularGAN(numeric=numeric, model=model, steps=steps, random_state=seed)
    gan.fit(real, discrete_columns=[])
    fake = gan.sample(n, random_state=seed)
    fid, per_column = fidelity(real, fake, [], seed=seed)
    hist = feature_histograms(real, fake, out / "iris_setosa_histograms.png",
                              "Iris Setosa: real vs GAN-generated (in cm, after inverse scaling)")
    fake.to_csv(out / "generated_setosa.csv", index=False)
    gan.save(out / "model")
    text = ["# Iris Setosa GAN (the reference material's tabular example)", "",
            f"- {len(real)} real Setosa rows; model {model}, numeric scaling {numeric!r}, "
            f"{gan.steps_} generator steps, {gan.fit_seconds_:.1f} s; {n} rows generated.",
            "", "First 5 real rows:", "", real.head().to_markdown(index=False) if _has_tabulate()
            else real.head().to_string(), "", "First 5 generated rows:", "",
            fake.head().to_markdown(index=False) if _has_tabulate() else fake.head().to_string(),
            "", "Per-column Kolmogorov-Smirnov distance (0 = same distribution):", "",
            "\n".join(f"- {r.column}: {r.ks:.3f}" for r in per_column.itertuples()),
            f"- c2st accuracy (0.5 = indistinguishable): {fid['c2st']:.3f}", "",
            "![histograms](iris_setosa_histograms.png)", ""]
    (out / "results.md").write_text("\n".join(text))
    report = write_report(out, "Iris Setosa GAN", [
        {"heading": "Real vs generated", "text": "\n".join(text[2:3]),
         "tables": [{"data": per_column[["column", "ks"]], "caption": "KS distance per column"}],
         "figures": [(hist, "Four histograms, real vs generated Setosa rows")]}])
    if not quiet:
        print("first 5 real rows:\n" + real.head().to_string())
        print("first 5 generated rows:\n" + fake.head().to_string())
        print(f"wrote {hist}")
    return {"real": real, "fake": fake, "fidelity": fid, "histograms": hist, "model": gan,
            "report": report}


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


def run_heart_demo(out, steps: int | None = None, splits: int = 5, seed: int = 0,
                   test_size: float = 0.25, classifier: str = "random-forest",
                   quiet: bool = False) -> dict[str, Any]:
    """The material's exercise: learn the patient rows of the heart data with a GAN, add the
    generated rows to the training split, and compare the minority F1 on the test split with and
    without them; for patients (num 1-4) and for the rarest grade (num 4). Several stratified
    splits, because one split of 303 rows moves F1 by several points."""
    from sklearn.model_selection import StratifiedShuffleSplit

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = gan_settings(steps)
    rows = []
    say = (lambda m: None) if quiet else (lambda m: print(m, flush=True))
    for name in ("heart", "heart-rare"):
        task = load_task(name)
        cv = StratifiedShuffleSplit(n_splits=splits, test_size=test_size, random_state=seed)
        for i, (train, test) in enumerate(cv.split(task.X, task.y)):
            X_tr, y_tr = task.X.iloc[train].reset_index(drop=True), task.y[train]
            X_te, y_te = task.X.iloc[test].reset_index(drop=True), task.y[test]
            for with_gan in (False, True):
                X_fit, y_fit = X_tr, y_tr
                cpu = 0.0
                if with_gan:
                    sampler = make_sampler("gan", task.discrete_columns, int(y_tr.sum()),
                                           seed + i, params)
                    c0 = time.process_time()
                    X_fit, y_fit = sampler.fit_resample(X_tr, y_tr)
                    cpu = time.process_time() - c0
                model = make_classifier(classifier, task.X, task.discrete_columns, seed + i)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X_fit, y_fit)
                    scores = classifier_scores(model, X_te, y_te)
                rows.append({"data": name, "split": i, "training rows": "real + GAN" if with_gan
                             else "real only", "f1": scores["f1"], "gan_cpu_s": cpu,
                             "added_rows": len(y_fit) - len(y_tr)})
            say(f"{name} split {i + 1}/{splits}: F1 without {rows[-2]['f1']:.3f}, "
                f"with GAN rows {rows[-1]['f1']:.3f}")
    df = pd.DataFrame(rows)
    df.to_csv(out / "splits.csv", index=False)
    summary = (df.groupby(["data", "training rows"], sort=False)
               .agg(f1_mean=("f1", "mean"), f1_std=("f1", "std"),
                    gan_cpu_s=("gan_cpu_s", "mean"), added_rows=("added_rows", "mean"))
               .reset_index())
    summary.to_csv(out / "results.csv", index=False)
    lines = ["# The heart-disease exercise: minority F1 with and without GAN rows", "",
             f"- Classifier: {classifier} (one-hot categorical columns, standardised numeric "
             f"ones); {splits} stratified splits, {int(test_size * 100)}% test, seed {seed}.",
             "- heart: patients (num 1-4) vs healthy (num 0); heart-rare: num 4 (13 rows) vs all "
             "others. The GAN (one per split, fitted on the training split's minority rows) adds "
             "rows until the classes are balanced.", "",
             "| data | training rows | minority F1 (mean ± std) | GAN CPU-s |", "|---|---|---|---|"]
    for r in summary.itertuples():
        lines.append(f"| {r.data} | {r._2} | {r.f1_mean:.3f} ± {r.f1_std:.3f} | "
                     f"{r.gan_cpu_s:.1f} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    report = write_report(out, "Heart disease: F1 with and without GAN rows", [
        {"heading": "Minority F1", "text": "\n".join(lines[2:4]),
         "tables": [{"data": summary, "caption": "Minority F1 on the test splits"}]}])
    say("\n".join(lines[6:]))
    return {"summary": summary, "splits": df, "report": report}


# ---------------------------------------------------------------------------------------------
# command line

def register(subparsers) -> None:
    """Adds `iris-demo` and `heart-demo` to `gankit experiment`."""
    i = subparsers.add_parser("iris-demo", help="the material's GAN on Iris Setosa, "
                              "four histograms real vs generated")
    i.add_argument("--out", required=True)
    i.add_argument("--steps", type=int)
    i.add_argument("--model", choices=("wgan-gp", "gan"), default="wgan-gp",
                   help="gan = the material's BCE GAN")
    i.add_argument("--numeric", choices=("minmax", "mode", "quantile"), default="minmax",
                   help="minmax = the material's scaling to [-1, 1]")
    i.add_argument("--seed", type=int, default=0)
    i.set_defaults(handler=_cmd_iris)

    h = subparsers.add_parser("heart-demo", help="the material's exercise: heart-disease "
                              "minority F1 with and without GAN rows")
    h.add_argument("--out", required=True)
    h.add_argument("--steps", type=int)
    h.add_argument("--splits", type=int, default=5, help="stratified train/test splits")
    h.add_argument("--classifier", choices=CLASSIFIERS, default="random-forest")
    h.add_argument("--seed", type=int, default=0)
    h.set_defaults(handler=_cmd_heart)


def _cmd_iris(args) -> int:
    run_iris_demo(args.out, steps=args.steps, model=args.model, numeric=args.numeric,
                  seed=args.seed)
    return 0


def _cmd_heart(args) -> int:
    run_heart_demo(args.out, steps=args.steps, splits=args.splits, seed=args.seed,
                   classifier=args.classifier)
    return 0
