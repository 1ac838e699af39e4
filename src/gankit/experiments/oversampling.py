"""GAN oversampling measured against SMOTE, random oversampling and no oversampling.

Command (registered under `gankit experiment`):
    oversample --data heart|heart-rare|breast-cancer|wine|digits|PATH.csv --target COL
               [--minority VALUE[,VALUE...]] [--folds 5 --repeats 2] --out DIR

Every data set is reduced to a binary task, minority (1) against the rest (0)
(`oversampling_tasks`). Each sampler is fitted once per training fold and its rows feed the three
classifiers, so generated rows never reach a test fold; `GANOverSampler` inside
`imblearn.pipeline.Pipeline` gives the same guarantee to users. This module owns the samplers,
the classifiers, the cross-validated comparison and its summaries, and the `oversample` command;
the fidelity of generated rows is in `oversampling_fidelity`, the material's two demos
(`iris-demo`, `heart-demo`) in `oversampling_demos`.

Python: `evaluate_oversampling`, `summarise`, `verdicts`, `results_markdown`, `run_oversample`.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from ..errors import GankitError
from .oversampling_fidelity import feature_histograms, fidelity
from .oversampling_tasks import TASKS, Task, load_task

SAMPLERS = ("none", "random", "smote", "gan")
CLASSIFIERS = ("logistic", "random-forest", "gradient-boosting")
METRICS = ("f1", "balanced_accuracy", "pr_auc")


# ---------------------------------------------------------------------------------------------
# samplers and classifiers

def make_sampler(name: str, discrete_columns: Sequence, n_minority: int, seed: int,
                 gan_params: dict | None = None):
    """A fresh sampler by name: none (None), random, smote (SMOTENC with categorical columns), gan."""
    if name == "none":
        return None
    if name == "random":
        from imblearn.over_sampling import RandomOverSampler
        return RandomOverSampler(random_state=seed)
    if name == "smote":
        k = max(1, min(5, n_minority - 1))
        if discrete_columns:
            from imblearn.over_sampling import SMOTENC
            return SMOTENC(categorical_features=list(discrete_columns), k_neighbors=k,
                           random_state=seed)
        from imblearn.over_sampling import SMOTE
        return SMOTE(k_neighbors=k, random_state=seed)
    if name == "gan":
        from ..oversampling import GANOverSampler
        params = dict(gan_params or {})
        sampler_keys = set(GANOverSampler._get_param_names())
        direct = {k: params.pop(k) for k in list(params) if k in sampler_keys}
        return GANOverSampler(random_state=seed, discrete_columns=list(discrete_columns),
                              gan_params=params or None, **direct)
    raise GankitError(f"unknown sampler {name!r}; choose from {SAMPLERS}")


def make_classifier(name: str, X: pd.DataFrame, discrete_columns: Sequence, seed: int):
    """Classifier with its preprocessing: one-hot categorical columns, standardised numeric ones."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    discrete = [c for c in X.columns if c in set(discrete_columns)]
    numeric = [c for c in X.columns if c not in set(discrete_columns)]
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), discrete),
                              ("num", StandardScaler(), numeric)])
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression
        model = LogisticRegression(max_iter=2000)
    elif name == "random-forest":
        from sklearn.ensemble import RandomForestClassifier
        model = RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)
    elif name == "gradient-boosting":
        from sklearn.ensemble import GradientBoostingClassifier
        model = GradientBoostingClassifier(random_state=seed)
    else:
        raise GankitError(f"unknown classifier {name!r}; choose from {CLASSIFIERS}")
    return make_pipeline(prep, model)


def classifier_scores(model, X_test, y_test) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
    pred = model.predict(X_test)
    proba = model.predict_proba(X_test)[:, list(model.classes_).index(1)]
    return {"f1": f1_score(y_test, pred, pos_label=1, zero_division=0),
            "balanced_accuracy": balanced_accuracy_score(y_test, pred),
            "pr_auc": average_precision_score(y_test, proba)}


def evaluate_oversampling(task: Task, folds: int = 5, repeats: int = 2,
                          samplers: Sequence[str] = SAMPLERS,
                          classifiers: Sequence[str] = CLASSIFIERS, seed: int = 0,
                          gan_params: dict | None = None,
                          progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per (repeat, fold, sampler, classifier) with the three scores and sampler times.

    Repeated stratified k-fold; each sampler is fitted on the training fold only (once, its rows
    shared by the classifiers); the test fold is never resampled.
    """
    from sklearn.model_selection import RepeatedStratifiedKFold

    n_min = task.counts[0]
    if folds < 2:
        raise GankitError(f"--folds must be at least 2, got {folds}")
    if n_min < folds:
        raise GankitError(f"the minority has {n_min} rows, fewer than --folds {folds}; use "
                          "fewer folds")
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    rows = []
    for i, (train, test) in enumerate(cv.split(task.X, task.y)):
        X_tr, y_tr = task.X.iloc[train].reset_index(drop=True), task.y[train]
        X_te, y_te = task.X.iloc[test].reset_index(drop=True), task.y[test]
        for s in samplers:
            sampler = make_sampler(s, task.discrete_columns, int((y_tr == 1).sum()), seed + i,
                                   gan_params)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if sampler is None:
                X_rs, y_rs = X_tr, y_tr
            else:
                X_rs, y_rs = sampler.fit_resample(X_tr, y_tr)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            added = int(len(y_rs) - len(y_tr))
            for c in classifiers:
                model = make_classifier(c, task.X, task.discrete_columns, seed + i)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X_rs, y_rs)
                    scores = classifier_scores(model, X_te, y_te)
                rows.append({"data": task.name, "repeat": i // folds, "fold": i % folds,
                             "sampler": s, "classifier": c, **scores,
                             "sampler_cpu_s": cpu, "sampler_wall_s": wall, "rows_added": added})
            if progress is not None:
                progress(f"{task.name} fold {i + 1}/{folds * repeats} {s}: {cpu:.1f} CPU-s")
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over folds per (data, classifier, sampler), with sampler times."""
    keys = ["data", "classifier", "sampler"]
    agg = {}
    for m in METRICS + ("sampler_cpu_s", "sampler_wall_s"):
        agg[f"{m}_mean"] = (m, "mean")
        agg[f"{m}_std"] = (m, "std")
    out = results.groupby(keys, sort=False).agg(**agg).reset_index()
    return out


def verdicts(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (data, classifier): GAN's minority F1 against SMOTE's and against no oversampling."""
    rows = []
    for (data, clf), g in summary.groupby(["data", "classifier"], sort=False):
        by = g.set_index("sampler")
        if "gan" not in by.index:
            continue
        gan = by.loc["gan"]
        row = {"data": data, "classifier": clf, "gan_f1": gan.f1_mean, "gan_f1_std": gan.f1_std}
        if "smote" in by.index:
            row["smote_f1"] = by.loc["smote"].f1_mean
            row["gan_ge_smote"] = bool(gan.f1_mean >= by.loc["smote"].f1_mean)
        if "none" in by.index:
            none = by.loc["none"]
            row["none_f1"] = none.f1_mean
            row["none_f1_std"] = none.f1_std
            # "never below no oversampling by more than one standard deviation" (of the
            # no-oversampling F1 across folds)
            row["gan_within_1sd_of_none"] = bool(gan.f1_mean >= none.f1_mean - none.f1_std)
        rows.append(row)
    return pd.DataFrame(rows)


def results_markdown(summary: pd.DataFrame, digits: int = 3) -> str:
    def cell(m, s):
        if pd.isna(s):
            return f"{m:.{digits}f}"
        return f"{m:.{digits}f} ± {s:.{digits}f}"
    header = ["data", "classifier", "sampler", "minority F1", "balanced accuracy", "PR-AUC",
              "sampler CPU-s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in summary.itertuples():
        lines.append("| " + " | ".join([
            str(r.data), str(r.classifier), str(r.sampler), cell(r.f1_mean, r.f1_std),
            cell(r.balanced_accuracy_mean, r.balanced_accuracy_std),
            cell(r.pr_auc_mean, r.pr_auc_std),
            f"{r.sampler_cpu_s_mean:.2f}"]) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the command

def write_report(out: Path, title: str, sections: list, intro: str = "") -> Path | None:
    """DIR/report.html through gankit.report, when that module offers it."""
    try:
        from ..report import write_experiment_report
    except ImportError:
        return None
    return write_experiment_report(out, title, sections, intro=intro)


def gan_settings(steps: int | None, extra: dict | None = None) -> dict:
    """The GAN sampler's settings: `extra`, with `steps` when given."""
    params = dict(extra or {})
    if steps is not None:
        params["steps"] = steps
    return params


def generate_minority(task: Task, seed: int = 0, gan_params: dict | None = None):
    """(real minority rows, generated minority rows, sampler): a GANOverSampler fitted on the
    whole task, its generated rows being those after the original ones."""
    sampler = make_sampler("gan", task.discrete_columns, task.counts[0], seed, gan_params)
    X_res, y_res = sampler.fit_resample(task.X, task.y)
    real = task.X[task.y == 1].reset_index(drop=True)
    fake = X_res.iloc[len(task.X):].reset_index(drop=True)
    return real, fake, sampler


def run_oversample(data: str, out, target: str | None = None, minority=None, folds: int = 5,
                   repeats: int = 2, seed: int = 0, steps: int | None = None,
                   samplers: Sequence[str] = SAMPLERS, classifiers: Sequence[str] = CLASSIFIERS,
                   downsample: int | None = None, discrete_columns: Sequence | None = None,
                   gan_params: dict | None = None, quiet: bool = False) -> dict[str, Any]:
    """The `oversample` experiment: writes results.csv (mean and std per data/classifier/sampler),
    folds.csv (every fold), results.md, generated_minority.csv, histograms.png, report.html."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for s in samplers:
        if s not in SAMPLERS:
            raise GankitError(f"unknown sampler {s!r}; choose from {', '.join(SAMPLERS)}")
    for c in classifiers:
        if c not in CLASSIFIERS:
            raise GankitError(f"unknown classifier {c!r}; choose from {', '.join(CLASSIFIERS)}")
    task = load_task(data, target=target, minority=minority, downsample=downsample,
                     discrete_columns=discrete_columns, seed=seed)
    params = gan_settings(steps, gan_params)
    say = (lambda m: None) if quiet else (lambda m: print(m, flush=True))
    n_min, n_rest = task.counts
    say(f"{task.name}: {n_min} minority vs {n_rest} other rows; {folds}-fold x {repeats}")
    t0 = time.perf_counter()
    folds_df = evaluate_oversampling(task, folds=folds, repeats=repeats, samplers=samplers,
                                     classifiers=classifiers, seed=seed, gan_params=params,
                                     progress=say)
    summary = summarise(folds_df)
    folds_df.to_csv(out / "folds.csv", index=False)
    summary.to_csv(out / "results.csv", index=False)
    verdict = verdicts(summary)

    real, fake, sampler = generate_minority(task, seed=seed, gan_params=params)
    fake.to_csv(out / "generated_minority.csv", index=False)
    fid, per_column = fidelity(real, fake, task.discrete_columns, seed=seed)
    per_column.to_csv(out / "fidelity_columns.csv", index=False)
    hist = feature_histograms(real, fake, out / "histograms.png",
                              f"{task.name}: real vs GAN-generated minority rows",
                              task.discrete_columns)
    table = results_markdown(summary)
    lines = [f"# GAN oversampling on {task.name}", "",
             f"- Data: {task.description}.",
             f"- Task: minority (1) = {task.target} in {task.minority}: {n_min} rows; rest (0): "
             f"{n_rest} rows.",
             f"- Categorical columns: {task.discrete_columns or 'none'}.",
             f"- Evaluation: repeated stratified {folds}-fold, {repeats} repeat(s), seed {seed}; "
             "each sampler fitted on the training fold only; mean ± std over the "
             f"{folds * repeats} test folds.",
             f"- GAN settings: {params or 'defaults'}.",
             f"- Wall time: {time.perf_counter() - t0:.0f} s.", "", table, ""]
    if len(verdict):
        wins = int(verdict.get("gan_ge_smote", pd.Series(dtype=bool)).sum())
        lines += [f"GAN minority F1 at least SMOTE's for {wins} of {len(verdict)} classifiers; "
                  "within one standard deviation of no oversampling for "
                  f"{int(verdict.get('gan_within_1sd_of_none', pd.Series(dtype=bool)).sum())} "
                  f"of {len(verdict)}.", ""]
    lines += ["## Fidelity of the generated minority rows (GAN fitted on all rows)", "",
              "| KS mean | KS max | TV mean | TV max | corr. diff | c2st accuracy |",
              "|---|---|---|---|---|---|",
              "| " + " | ".join("n/a" if pd.isna(fid[k]) else f"{fid[k]:.3f}" for k in
                              ("ks_mean", "ks_max", "tv_mean", "tv_max", "corr_diff", "c2st"))
              + " |", "", "![histograms](histograms.png)", ""]
    (out / "results.md").write_text("\n".join(lines))
    (out / "fidelity.json").write_text(json.dumps(fid, indent=1))
    report = write_report(out, f"GAN oversampling on {task.name}", [
        {"heading": "Scores", "text": "\n".join(lines[2:9]),
         "tables": [{"data": summary, "caption": "Mean ± std over test folds, per classifier "
                     "and sampler", "units": {"sampler_cpu_s": "CPU-s", "sampler_wall_s": "s"}}]},
        {"heading": "Generated minority rows",
         "tables": [{"data": pd.DataFrame([fid]), "caption": "Fidelity (lower is better; "
                     "c2st 0.5 = indistinguishable)"}],
         "figures": [(hist, "Per-feature histograms, real vs generated minority rows")]},
    ])
    say(f"wrote {out / 'results.md'}")
    return {"summary": summary, "folds": folds_df, "verdicts": verdict, "fidelity": fid,
            "histograms": hist, "report": report, "task": task}


# ---------------------------------------------------------------------------------------------
# command line

def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def register(subparsers) -> None:
    """Adds `oversample` to `gankit experiment`."""
    p = subparsers.add_parser(
        "oversample", help="GAN oversampling vs SMOTE, random oversampling and none",
        description="Repeated stratified k-fold comparison of samplers (none, random, SMOTE or "
                    "SMOTENC, GAN) under logistic regression, random forest and gradient "
                    "boosting: minority F1, balanced accuracy, PR-AUC and sampler time.")
    p.add_argument("--data", required=True,
                   help=f"a built-in task ({', '.join(TASKS)}) or a CSV path")
    p.add_argument("--target", help="the class column (built-ins know theirs)")
    p.add_argument("--minority", help="the value(s) forming the minority class, comma-separated "
                   "(default: the built-in's, else the rarest value)")
    p.add_argument("--downsample", type=int, help="keep this many minority rows (seeded)")
    p.add_argument("--discrete-columns", type=_csv_list,
                   help="categorical columns, comma-separated (default: inferred)")
    p.add_argument("--folds", type=int, default=5, help="stratified folds (default 5)")
    p.add_argument("--repeats", type=int, default=2, help="repeats of the k-fold (default 2)")
    p.add_argument("--samplers", type=_csv_list, default=list(SAMPLERS),
                   help=f"comma-separated subset of {','.join(SAMPLERS)}")
    p.add_argument("--classifiers", type=_csv_list, default=list(CLASSIFIERS),
                   help=f"comma-separated subset of {','.join(CLASSIFIERS)}")
    p.add_argument("--steps", type=int, help="GAN generator steps (default: TabularGAN's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for results.csv, results.md, "
                   "folds.csv, histograms.png, report.html")
    p.set_defaults(handler=_cmd_oversample)


def _cmd_oversample(args) -> int:
    run_oversample(args.data, args.out, target=args.target, minority=args.minority,
                   folds=args.folds, repeats=args.repeats, seed=args.seed, steps=args.steps,
                   samplers=args.samplers, classifiers=args.classifiers,
                   downsample=args.downsample, discrete_columns=args.discrete_columns)
    return 0
