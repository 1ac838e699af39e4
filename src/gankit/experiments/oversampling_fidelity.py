"""How close generated rows are to real ones: distances per column and jointly, and histograms.

`fidelity` measures generated against real rows (Kolmogorov-Smirnov or total variation per
column, the difference of their correlations, and a classifier two-sample test);
`feature_histograms` draws real and generated rows feature by feature (the material's Iris figure).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import GankitError

HIST_MAX_COLUMNS = 16


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
