"""The oversampling experiment's data: a table reduced to a binary task, minority (1) vs rest (0).

`TASKS` says how each built-in data set is made imbalanced (documented in docs/oversampling.md);
`load_task` builds a `Task` from a built-in name or a CSV path, with the minority chosen by value,
optionally down-sampled, and missing feature cells filled (rows are never dropped).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import GankitError


@dataclass
class Task:
    """A table reduced to minority (1) vs rest (0), and how it was made (`description`)."""

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
    from ..data.tables import read_table
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
    from ..data.tables import builtin_discrete_columns
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
        from ..data.tables import read_table
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
