"""Per-column fidelity of a generated table: each column's distribution against the real one.

Columns are compared in data units, one at a time: a numeric column by the two-sample
Kolmogorov-Smirnov statistic (the largest gap between the two empirical CDFs), a categorical
one by the total-variation distance of its category frequencies (half the summed absolute
differences; categories present on one side only count fully). Both lie in [0, 1], 0 for
identical distributions. A generator can match the joint feature space well on average and
still get one column badly wrong, so the worst column is reported by name beside the mean.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import GankitError
from ._arrays import as_2d_float64


def _frame_columns(data, name: str):
    """(column names, list of 1-D value arrays, set of names whose dtype is not numeric)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        values = [data[c].to_numpy() for c in data.columns]
        categorical = {str(c) for c in data.columns
                       if not pd.api.types.is_numeric_dtype(data[c].dtype)
                       or pd.api.types.is_bool_dtype(data[c].dtype)}
        return names, values, categorical
    arr = as_2d_float64(data, name)
    return [str(i) for i in range(arr.shape[1])], list(arr.T), set()


def total_variation(real: np.ndarray, fake: np.ndarray) -> float:
    """Half the L1 distance between the category frequencies of two 1-D arrays."""
    cats, codes = np.unique(np.concatenate([real.astype(str), fake.astype(str)]), return_inverse=True)
    p = np.bincount(codes[:len(real)], minlength=len(cats)) / len(real)
    q = np.bincount(codes[len(real):], minlength=len(cats)) / len(fake)
    return float(0.5 * np.abs(p - q).sum())


def column_fidelity(real, fake, columns: Sequence[str] | None = None,
                    categorical: Sequence[str] = ()) -> dict:
    """{"mean", "worst", "worst_column", "per_column", "statistic"} of `fake` against `real`.

    real, fake: pandas DataFrames with the same columns, or arrays (n, d) in data units with
    `columns` naming their d columns. Non-numeric DataFrame columns are categorical, and so is
    every column named in `categorical`. per_column: {column: value}; statistic: {column: "ks"
    or "tv"}.
    """
    real_names, real_values, real_cat = _frame_columns(real, "real")
    fake_names, fake_values, fake_cat = _frame_columns(fake, "fake")
    if real_names != fake_names:
        if len(real_names) != len(fake_names):
            raise GankitError(f"real has {len(real_names)} columns but fake has {len(fake_names)}; "
                              "pass the same columns on both sides")
        raise GankitError(f"real and fake columns differ ({real_names} vs {fake_names}); "
                          "pass the same columns in the same order")
    names = real_names
    if columns is not None:
        if len(columns) != len(names):
            raise GankitError(f"columns has {len(columns)} names but the data has {len(names)} "
                              "columns; pass one name per column")
        names = [str(c) for c in columns]
    unknown = [c for c in categorical if str(c) not in names]
    if unknown:
        raise GankitError(f"categorical columns {unknown} are not among the columns {names}")
    discrete = {str(c) for c in categorical} | real_cat | fake_cat
    if min(len(real_values[0]), len(fake_values[0])) == 0:
        raise GankitError("column_fidelity needs at least one real and one generated row")
    from scipy.stats import ks_2samp

    per_column, statistic = {}, {}
    for name, r, f in zip(names, real_values, fake_values):
        if name in discrete:
            per_column[name], statistic[name] = total_variation(r, f), "tv"
        else:
            r, f = np.asarray(r, dtype=np.float64), np.asarray(f, dtype=np.float64)
            if not (np.all(np.isfinite(r)) and np.all(np.isfinite(f))):
                raise GankitError(f"column {name!r} has NaN or infinite values; drop or fill them first")
            per_column[name], statistic[name] = float(ks_2samp(r, f).statistic), "ks"
    worst = max(per_column, key=per_column.get)
    return {"mean": float(np.mean(list(per_column.values()))), "worst": per_column[worst],
            "worst_column": worst, "per_column": per_column, "statistic": statistic}
