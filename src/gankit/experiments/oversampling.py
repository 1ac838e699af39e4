"""GAN oversampling measured against SMOTE, random oversampling and no oversampling.

Commands (registered under `gankit experiment`):
    oversample --data heart|heart-rare|breast-cancer|wine|digits|PATH.csv --target COL
               [--minority VALUE[,VALUE...]] [--folds 5 --repeats 2] --out DIR
    iris-demo  --out DIR     the reference material's GAN on Iris Setosa: four histograms
    heart-demo --out DIR     the material's exercise: minority F1 with and without GAN rows

Every data set is reduced to a binary task, minority (1) against the rest (0); how each built-in
one is made imbalanced is in `TASKS` (and docs/oversampling.md). Each sampler is fitted once per
training fold and its rows feed the three classifiers, so generated rows never reach a test
fold; `GANOverSampler` inside `imblearn.pipeline.Pipeline` gives the same guarantee to users.

Python: `load_task`, `evaluate_oversampling`, `summarise`, `fidelity`, `feature_histograms`,
`run_oversample`, `run_iris_demo`, `run_heart_demo`.
"""
from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import GankitError

SAMPLERS = ("none", "random", "smote", "gan")
CLASSIFIERS = ("logistic", "random-forest", "gradient-boosting")
METRICS = ("f1", "balanced_accuracy", "pr_auc")
HIST_MAX_COLUMNS = 16


# ---------------------------------------------------------------------------------------------
# tasks: a table reduced to minority (1) vs rest (0)

@dataclass
class Task:
    name: str
    X: pd.DataFrame
    y: np.ndarray                    # 1 = minority, 0 = rest
    discrete_columns: list
    description: str
    target: str
    minority: list

    @property
    def counts(self) -> tuple[int, int]:
        return int((self.y == 1).sum()), int((self.y == 0).sum())


# How each built-in data set becomes an imbalanced binary task (documented in docs/oversampling.md).
TASKS: dict[str, dict[str, Any]] = {
    "heart": dict(table="heart", target="num", minority=[1, 2, 3, 4],
                  description="UCI Cleveland heart disease: disease (num 1-4, 139 rows) vs none "
                              "(num 0, 164); the 6 missing cells of ca/thal filled with the "
                              "column's most frequent value"),
    "heart-rare": dict(table="heart", target="num", minority=[4],
                       description="UCI Cleveland heart disease: the rarest grade (num 4, 13 rows) "
                                   "vs all other rows (290); missing cells filled as for heart"),
    "breast-cancer": dict(table="breast-cancer", target="target", minority=[0], downsample=60,
                          description="Wisconsin breast cancer: malignant (target 0) down-sampled "
                                      "at random (seed 0) from 212 to 60 rows, vs the 357 benign"),
    "wine": dict(table="wine", target="target", minority=[0],
                 description="Wine: cultivar 0 (59 rows) vs cultivars 1 and 2 (119)"),
    "digits": dict(table="digits", target="target", minority=[0],
                   description="8x8 digits: digit 0 (178 rows) vs the other nine digits (1,619); "
                               "64 integer pixel columns (0-16) treated as numeric"),
}


def _read(table: str) -> pd.DataFrame:
    from ..data.tabular import read_table
    if table == "digits":
        from sklearn.datasets import load_digits
        return load_digits(as_frame=True).frame.reset_index(drop=True)
    return read_table(table)


def _parse_values(text, column: pd.Series) -> list:
    """'1,2' -> values in the column's own type."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        items = list(text)
    else:
        items = [t.strip() for t in str(text).split(",") if t.strip()]
    present = pd.unique(column.dropna())
    out = []
    for item in items:
        match = [v for v in present if str(v) == str(item) or _same_number(v, item)]
        if not match:
            raise GankitError(f"--minority value {item!r} is not a value of column "
                              f"{column.name!r}; its values are {sorted(map(str, present))[:20]}")
        out.extend(match)
    return out


def _same_number(value, text) -> bool:
    try:
        return float(value) == float(text)
    except (TypeError, ValueError):
        return False


def load_task(data: str, target: str | None = None, minority=None, downsample: int | None = None,
              discrete_columns: Sequence | None = None, seed: int = 0) -> Task:
    """A binary minority-vs-rest task from a built-in name (see `TASKS`) or a CSV path.

    target: the class column (built-ins know theirs). minority: the value(s) that make the
    minority class (default: the built-in's, else the rarest value). downsample: keep this many
    minority rows, drawn at random with `seed`. Missing feature cells are filled with the
    column's most frequent value (median for numeric columns with many values), and said so in
    the description; rows are never dropped.
    """
    from ..data.tabular import builtin_discrete_columns
    preset = TASKS.get(data)
    if preset is not None:
        df = _read(preset["table"])
        as_preset = (target in (None, preset["target"]) and minority is None
                     and downsample is None)
        target = target or preset["target"]
        if minority is None:
            minority = preset["minority"]
        if downsample is None:
            downsample = preset.get("downsample")
        if discrete_columns is None and preset["table"] == "heart":
            discrete_columns = builtin_discrete_columns("heart")
        name, source = data, preset["table"]
    else:
        from ..data.tabular import read_table
        df = read_table(data)
        if target is None:
            raise GankitError(f"--target is needed for {data}: name the class column (one of "
                              f"{list(df.columns)[:20]})")
        as_preset, name, source = False, Path(str(data)).stem, str(data)
    if target not in df.columns:
        raise GankitError(f"target column {target!r} is not in {data}; its columns are "
                          f"{list(df.columns)}")
    labels = df[target]
    if labels.isna().any():
        raise GankitError(f"target column {target!r} has {int(labels.isna().sum())} missing "
                          "values; fill or drop those rows first")
    if labels.nunique() < 2:
        raise GankitError(f"target column {target!r} has a single value; there is no minority")
    if minority is None:
        minority = [labels.value_counts().index[-1]]          # the rarest value
    else:
        minority = _parse_values(minority, labels)
    X = df.drop(columns=[target])
    if discrete_columns is not None:
        unknown = [c for c in discrete_columns if c not in X.columns]
        if unknown:
            raise GankitError(f"discrete columns {unknown} are not in {data}")
    y = labels.isin(minority).to_numpy().astype(int)
    if y.sum() == len(y):
        raise GankitError(f"every row of {data} is in the minority {minority}; choose fewer values")
    notes = []
    if downsample is not None:
        idx = np.flatnonzero(y == 1)
        if downsample < 2:
            raise GankitError(f"--downsample must keep at least 2 minority rows, got {downsample}")
        if downsample < len(idx):
            rng = np.random.default_rng(seed)
            drop = rng.choice(idx, size=len(idx) - downsample, replace=False)
            keep = np.setdiff1d(np.arange(len(y)), drop)
            X, y = X.iloc[keep].reset_index(drop=True), y[keep]
            notes.append(f"minority down-sampled at random (seed {seed}) from {len(idx)} to "
                         f"{downsample} rows")
    filled = {}
    for c in X.columns:
        if X[c].isna().any():
            n_missing = int(X[c].isna().sum())
            s = X[c]
            use_mode = (discrete_columns is not None and c in discrete_columns) or \
                not pd.api.types.is_numeric_dtype(s) or s.nunique() <= 10
            value = s.mode().iloc[0] if use_mode else s.median()
            X[c] = s.fillna(value)
            filled[c] = n_missing
    if filled:
        notes.append("missing cells filled with the column's most frequent value (median for "
                     "numeric columns of many values): "
                     + ", ".join(f"{c} ({n})" for c, n in filled.items()))
    if (y == 1).sum() < 2:
        raise GankitError(f"the minority {minority} has {(y == 1).sum()} row(s); at least 2 "
                          "are needed")
    if as_preset:
        description = preset["description"]
    else:
        description = "; ".join([f"{source}: minority = {target} in {[_plain(m) for m in minority]} "
                                 f"({int(y.sum())} rows) vs the other {int(len(y) - y.sum())} "
                                 "rows"] + notes)
    return Task(name=name, X=X.reset_index(drop=True), y=y,
                discrete_columns=list(discrete_columns) if discrete_columns is not None else
                _infer_discrete(X), description=description, target=target,
                minority=[_plain(m) for m in minority])


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _infer_discrete(X: pd.DataFrame) -> list:
    from ..data.tabular import TabularEncoder
    return sorted(TabularEncoder()._choose_discrete(X), key=list(X.columns).index)


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


def _scores(model, X_test, y_test) -> dict[str, float]:
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
                    scores = _scores(model, X_te, y_te)
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
# fidelity of generated rows

def _codes(real: pd.Series, fake: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers for a correlation matrix: numeric values as they are, other categories by code."""
    if pd.api.types.is_numeric_dtype(real) and not pd.api.types.is_bool_dtype(real):
        return real.to_numpy(dtype=float), fake.to_numpy(dtype=float)
    cats = sorted(set(real.astype(str)) | set(fake.astype(str)))
    index = {c: i for i, c in enumerate(cats)}
    return (real.astype(str).map(index).to_numpy(dtype=float),
            fake.astype(str).map(index).to_numpy(dtype=float))


def _corr(m: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        c = np.corrcoef(m, rowvar=False)
    return np.nan_to_num(np.atleast_2d(c), nan=0.0)


def fidelity(real: pd.DataFrame, fake: pd.DataFrame, discrete_columns: Sequence,
             seed: int = 0) -> tuple[dict[str, float], pd.DataFrame]:
    """Column-wise and joint distances between real and generated rows.

    Per column: the Kolmogorov-Smirnov statistic for numeric columns, the total-variation
    distance (half the L1 distance of the category frequencies) for categorical ones. Joint: the
    mean absolute difference of the off-diagonal Pearson correlations (categories by code), and
    the classifier two-sample test (k-NN, `gankit.metrics.c2st`) on one-hot + standardised rows:
    accuracy 0.5 = indistinguishable. Returns (summary, per-column table).
    """
    from scipy.stats import ks_2samp

    from ..metrics import c2st

    missing = [c for c in real.columns if c not in fake.columns]
    if missing:
        raise GankitError(f"generated rows lack columns {missing}")
    fake = fake[list(real.columns)]
    per = []
    discrete = set(discrete_columns)
    for c in real.columns:
        if c in discrete:
            p = real[c].astype(str).value_counts(normalize=True)
            q = fake[c].astype(str).value_counts(normalize=True)
            tv = 0.5 * float(p.subtract(q, fill_value=0.0).abs().sum())
            per.append({"column": c, "kind": "categorical", "ks": np.nan, "tv": tv})
        else:
            ks = float(ks_2samp(real[c].to_numpy(dtype=float), fake[c].to_numpy(dtype=float)).statistic)
            per.append({"column": c, "kind": "numeric", "ks": ks, "tv": np.nan})
    table = pd.DataFrame(per)
    a, b = zip(*(_codes(real[c], fake[c]) for c in real.columns))
    corr_diff = np.abs(_corr(np.column_stack(a)) - _corr(np.column_stack(b)))
    iu = np.triu_indices(len(real.columns), k=1)
    both = pd.concat([real, fake], ignore_index=True)
    cats = [c for c in real.columns if c in discrete]
    onehot = pd.get_dummies(both[cats].astype(str), dtype=float) if cats else pd.DataFrame(index=both.index)
    nums = both[[c for c in real.columns if c not in discrete]].astype(float)
    features = pd.concat([nums, onehot], axis=1).to_numpy()
    test = c2st(features[:len(real)], features[len(real):], classifier="knn", random_state=seed)
    summary = {
        "ks_mean": float(table["ks"].mean()) if table["ks"].notna().any() else float("nan"),
        "ks_max": float(table["ks"].max()) if table["ks"].notna().any() else float("nan"),
        "tv_mean": float(table["tv"].mean()) if table["tv"].notna().any() else float("nan"),
        "tv_max": float(table["tv"].max()) if table["tv"].notna().any() else float("nan"),
        "corr_diff": float(corr_diff[iu].mean()) if len(iu[0]) else 0.0,
        "c2st": float(test["accuracy"]),
    }
    return summary, table


# ---------------------------------------------------------------------------------------------
# pictures

def feature_histograms(real: pd.DataFrame, fake: pd.DataFrame, path, title: str,
                       discrete_columns: Sequence = (), max_columns: int = HIST_MAX_COLUMNS,
                       bins: int = 10) -> Path:
    """One panel per feature: density histograms of real and generated rows (as the material's
    Iris figure); categorical columns as side-by-side frequency bars. With more than
    `max_columns` features, the most varied ones (by coefficient of variation) are shown."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = list(real.columns)
    if len(columns) > max_columns:
        spread = {c: float(real[c].astype(float).std() / (abs(real[c].astype(float).mean()) + 1e-9))
                  if c not in set(discrete_columns) else 0.0 for c in columns}
        columns = sorted(columns, key=lambda c: -spread[c])[:max_columns]
        columns = [c for c in real.columns if c in set(columns)]
    n = len(columns)
    ncols = 2 if n <= 4 else 4
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), squeeze=False)
    for ax, c in zip(axes.flat, columns):
        if c in set(discrete_columns):
            p = real[c].astype(str).value_counts(normalize=True)
            q = fake[c].astype(str).value_counts(normalize=True)
            cats = sorted(set(p.index) | set(q.index))
            pos = np.arange(len(cats))
            ax.bar(pos - 0.2, [p.get(k, 0.0) for k in cats], 0.4, alpha=0.7, label="Real")
            ax.bar(pos + 0.2, [q.get(k, 0.0) for k in cats], 0.4, alpha=0.7, label="Generated")
            ax.set_xticks(pos, cats, fontsize=8)
            ax.set_ylabel("share of rows")
        else:
            r, g = real[c].to_numpy(dtype=float), fake[c].to_numpy(dtype=float)
            lo, hi = float(min(r.min(), g.min())), float(max(r.max(), g.max()))
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
            ax.hist(r, bins=edges, density=True, alpha=0.6, label="Real")
            ax.hist(g, bins=edges, density=True, alpha=0.6, label="Generated")
            ax.set_ylabel("density")
        ax.set_title(str(c), fontsize=10)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# the commands

def _write_report(out: Path, title: str, sections: list, intro: str = "") -> Path | None:
    """DIR/report.html through gankit.report, when that module offers it."""
    try:
        from ..report import write_experiment_report
    except ImportError:
        return None
    return write_experiment_report(out, title, sections, intro=intro)


def _gan_params(steps: int | None, extra: dict | None = None) -> dict:
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
    params = _gan_params(steps, gan_params)
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
    report = _write_report(out, f"GAN oversampling on {task.name}", [
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
    report = _write_report(out, "Iris Setosa GAN", [
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
    params = _gan_params(steps)
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
                    scores = _scores(model, X_te, y_te)
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
    report = _write_report(out, "Heart disease: F1 with and without GAN rows", [
        {"heading": "Minority F1", "text": "\n".join(lines[2:4]),
         "tables": [{"data": summary, "caption": "Minority F1 on the test splits"}]}])
    say("\n".join(lines[6:]))
    return {"summary": summary, "splits": df, "report": report}


# ---------------------------------------------------------------------------------------------
# command line

def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def register(subparsers) -> None:
    """Adds `oversample`, `iris-demo` and `heart-demo` to `gankit experiment`."""
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


def _cmd_oversample(args) -> int:
    run_oversample(args.data, args.out, target=args.target, minority=args.minority,
                   folds=args.folds, repeats=args.repeats, seed=args.seed, steps=args.steps,
                   samplers=args.samplers, classifiers=args.classifiers,
                   downsample=args.downsample, discrete_columns=args.discrete_columns)
    return 0


def _cmd_iris(args) -> int:
    run_iris_demo(args.out, steps=args.steps, model=args.model, numeric=args.numeric,
                  seed=args.seed)
    return 0


def _cmd_heart(args) -> int:
    run_heart_demo(args.out, steps=args.steps, splits=args.splits, seed=args.seed,
                   classifier=args.classifier)
    return 0
