"""The table encoder: a DataFrame to the float32 matrix a GAN trains on, and exactly back.

This module owns `TabularEncoder`: which columns are discrete, missing values (refused or
imputed), the layout of the encoding (`output_info_`, read by the generator), decoding back to a
frame with the original columns, dtypes, category sets and value ranges, and saving without
pickle. Each column's own encoding (numeric ``"mode"``, CTGAN's mode-specific normalisation,
``"quantile"`` or ``"minmax"``; discrete: one-hot) is in `table_columns`; reading tables and the
step to a `Dataset` are in `tables`.
"""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state

from ..errors import GankitError
from .limits import check_magnitude
from .table_columns import DiscreteColumn, NumericColumn, learn_decimals
from .tables import _is_discrete_dtype, _is_integer_dtype, _is_numeric_dtype, _py, as_frame
# re-exported: README.md and docs/oversampling.md import read_table and builtin_discrete_columns
# from here, gankit.tabular_gan the rest
from .tables import (_dtype_from_dict, _dtype_to_dict, builtin_discrete_columns,  # noqa: F401
                     factorize_classes, read_table)

NUMERIC_METHODS = ("mode", "quantile", "minmax")
MISSING_POLICIES = ("error", "impute")

# An integer column is inferred discrete when it has at most this many distinct values and
# they make up at most this share of the rows (so each value is seen ~5 times on average):
# a 0/1 flag or a 1-5 grade is a category, a count with 8 values in 12 rows is not.
DISCRETE_INT_MAX_UNIQUE = 10
DISCRETE_INT_MAX_SHARE = 0.2


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encodes a DataFrame as a float32 matrix for a GAN and decodes generated rows back.

    Parameters
    ----------
    numeric : "mode" | "quantile" | "minmax"
        How numeric columns are normalised (see `gankit.data.table_columns`).
    discrete_columns : list of column names, optional
        The columns to one-hot. When None they are inferred: bool, object, string and category
        columns, and integer columns with at most 10 distinct values that are also at most 20%
        of the rows. When given, the list replaces the integer rule (unlisted numeric columns
        are numeric); non-numeric columns are always discrete.
    missing : "error" | "impute"
        Missing cells raise a `GankitError` naming the columns ("error"), or are filled with the
        column's median (numeric) or most frequent value (discrete), recorded in
        `impute_values_` and reused by `transform` ("impute"). Rows are never dropped.
    max_modes : int
        Most mixture components per numeric column for ``numeric="mode"``.
    random_state : int, RandomState or None
        Seeds the mixtures and quantile subsampling.

    Learned attributes: `columns_`, `discrete_columns_`, `impute_values_`, `output_info_` (a list
    of ``(start, width, activation)`` with activation "tanh", "identity" or "softmax"),
    `column_spans_` (``(column, start, width)`` per column), `output_dim_`.

    Decoding (`inverse_transform`) accepts any real matrix of the right width: one-hot blocks are
    read by argmax, so categories and modes come from the fitted set only; numeric values are
    clipped into the column's fitted [min, max], integers rounded, floats rounded to the fewest
    decimals that reproduced every fitted value; column order and dtypes are restored.
    Encode-then-decode returns the fitted frame exactly: integers, booleans and categories always,
    floats whenever float32 (which carries the encoding, about 7 significant digits of the
    column's spread) resolves their decimals; for "quantile" only when the frame has at most
    1,000 rows (beyond that the quantiles are a subsample and decoding interpolates).
    """

    def __init__(self, numeric: str = "mode", discrete_columns: Sequence | None = None,
                 missing: str = "error", max_modes: int = 10, random_state=None):
        self.numeric = numeric
        self.discrete_columns = discrete_columns
        self.missing = missing
        self.max_modes = max_modes
        self.random_state = random_state

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, df, y=None) -> "TabularEncoder":
        self._fit(df)
        return self

    def fit_transform(self, df, y=None) -> np.ndarray:
        return self._fit(df)

    def _fit(self, df) -> np.ndarray:
        self._check_params()
        df = as_frame(df)
        if len(df) == 0 or df.shape[1] == 0:
            raise GankitError(f"the table has shape {df.shape}; it needs at least one row and column")
        if df.columns.has_duplicates:
            dup = df.columns[df.columns.duplicated()].unique().tolist()
            raise GankitError(f"the table has duplicate column names {dup}; rename them")
        discrete = self._choose_discrete(df)
        empty = [c for c in df.columns if df[c].isna().all()]
        if empty:
            raise GankitError(f"columns {empty} have no values at all; drop them before fitting")
        self._check_missing(df)
        self.impute_values_ = {}
        if self.missing == "impute":
            for c in df.columns:
                if df[c].isna().any():
                    self.impute_values_[c] = self._fill_value(df[c], c in discrete)
        df = self._impute(df)

        rs = check_random_state(self.random_state)
        seeds = rs.randint(np.iinfo(np.int32).max, size=df.shape[1])
        self._columns = []
        for name, seed in zip(df.columns, seeds):
            s, dtype = df[name], df[name].dtype
            if name in discrete:
                self._columns.append(DiscreteColumn.fit(name, dtype, s))
                continue
            col = NumericColumn(name, dtype, self.numeric, self.max_modes)
            floats = self._floats(s)
            # decimals are learned in the column's own precision (float32 0.1 is not 0.1)
            col.fit(floats, s.to_numpy() if isinstance(dtype, np.dtype) else floats, int(seed))
            self._columns.append(col)
        self._set_layout()
        return self._encode(df)

    def _check_params(self) -> None:
        if self.numeric not in NUMERIC_METHODS:
            raise GankitError(f"numeric={self.numeric!r} is not known; use one of {NUMERIC_METHODS}")
        if self.missing not in MISSING_POLICIES:
            raise GankitError(f"missing={self.missing!r} is not known; use one of {MISSING_POLICIES}")
        if not isinstance(self.max_modes, (int, np.integer)) or self.max_modes < 1:
            raise GankitError(f"max_modes must be a positive integer, got {self.max_modes!r}")

    def _choose_discrete(self, df: pd.DataFrame) -> set:
        for c in df.columns:
            dtype = df[c].dtype
            if not (_is_numeric_dtype(dtype) or _is_discrete_dtype(dtype)):
                raise GankitError(
                    f"column {c!r} has dtype {dtype}, which cannot be encoded; convert it to "
                    "numbers or strings (or drop it) first")
        if self.discrete_columns is not None:
            listed = ([self.discrete_columns] if isinstance(self.discrete_columns, str)
                      else list(self.discrete_columns))
            unknown = [c for c in listed if c not in df.columns]
            if unknown:
                raise GankitError(f"discrete_columns {unknown} are not in the table; "
                                  f"available columns: {list(df.columns)}")
            chosen = set(listed)
        else:
            chosen = set()
            for c in df.columns:
                if _is_integer_dtype(df[c].dtype):
                    k = df[c].nunique()
                    if k <= DISCRETE_INT_MAX_UNIQUE and k <= DISCRETE_INT_MAX_SHARE * len(df):
                        chosen.add(c)
        return chosen | {c for c in df.columns if _is_discrete_dtype(df[c].dtype)}

    def _check_missing(self, df: pd.DataFrame) -> None:
        counts = df.isna().sum()
        counts = counts[counts > 0]
        if len(counts) and self.missing == "error":
            listed = ", ".join(f"{c} ({n})" for c, n in counts.items())
            raise GankitError(
                f"missing values in columns {listed}; pass missing='impute' to fill them with "
                "the median or most frequent value, or fill them yourself")
        for c in df.columns:
            if _is_numeric_dtype(df[c].dtype):
                floats = self._floats(df[c])
                if np.isinf(floats).any():
                    raise GankitError(f"column {c!r} has infinite values; replace them first")
                check_magnitude(floats, "the table", [c], precision="float64")

    @staticmethod
    def _fill_value(s: pd.Series, discrete: bool):
        if discrete:
            counts = s.value_counts(dropna=True, sort=True)
            return _py(counts.index[0])
        value = float(np.nanmedian(TabularEncoder._floats(s)))
        if _is_integer_dtype(s.dtype):
            return float(np.rint(value))
        # a median between two values can have one more decimal than the data; keeping the
        # data's decimals keeps the filled cells decodable exactly
        observed = s.dropna().to_numpy()
        decimals = learn_decimals(observed) if isinstance(s.dtype, np.dtype) else None
        return value if decimals is None else float(np.round(value, decimals))

    def _impute(self, df: pd.DataFrame) -> pd.DataFrame:
        fills = {c: v for c, v in getattr(self, "impute_values_", {}).items() if c in df.columns}
        if not fills or not df[list(fills)].isna().any().any():
            return df
        df = df.copy()
        for c, v in fills.items():
            df[c] = df[c].fillna(v)
        return df

    @staticmethod
    def _floats(s: pd.Series) -> np.ndarray:
        return s.to_numpy(dtype=np.float64, na_value=np.nan)

    def _set_layout(self) -> None:
        self.columns_ = [c.name for c in self._columns]
        self.discrete_columns_ = [c.name for c in self._columns if c.kind == "discrete"]
        self.output_info_, self.column_spans_, start = [], [], 0
        for col in self._columns:
            first = start
            for width, activation in col.spans:
                self.output_info_.append((start, width, activation))
                start += width
            self.column_spans_.append((col.name, first, start - first))
        self.output_dim_ = start
        self.n_features_in_ = len(self._columns)

    # -- encoding and decoding ------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "_columns"):
            raise GankitError("this TabularEncoder is not fitted yet; call fit(df) first")

    def transform(self, df) -> np.ndarray:
        """The float32 matrix (n_rows, output_dim_) for a frame with the fitted columns."""
        self._check_fitted()
        df = as_frame(df)
        missing = [c for c in self.columns_ if c not in df.columns]
        extra = [c for c in df.columns if c not in set(self.columns_)]
        if missing or extra:
            raise GankitError(
                f"the table's columns differ from the fitted ones (missing {missing}, "
                f"unexpected {extra}); pass the columns the encoder was fitted on")
        df = self._impute(df[self.columns_])
        self._check_missing(df)
        return self._encode(df)

    def _encode(self, df: pd.DataFrame) -> np.ndarray:
        blocks = []
        for col in self._columns:
            s = df[col.name]
            blocks.append(col.transform(s) if col.kind == "discrete"
                          else col.transform(self._floats(s)))
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def inverse_transform(self, X) -> pd.DataFrame:
        """A frame with the fitted columns, dtypes, categories and ranges, from any real matrix."""
        self._check_fitted()
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.output_dim_:
            raise GankitError(f"expected an array of shape (n, {self.output_dim_}) to decode, "
                              f"got {X.shape}")
        if not np.isfinite(X).all():
            raise GankitError(f"the array to decode has {int((~np.isfinite(X)).sum())} NaN or "
                              "infinite values; the generator diverged or the input is wrong")
        out = {}
        for col, (_, start, width) in zip(self._columns, self.column_spans_):
            out[col.name] = col.inverse(X[:, start:start + width])
        return pd.DataFrame(out)

    # -- saving without pickle ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The fitted encoder as JSON-serialisable data (no pickle); see `from_dict`."""
        self._check_fitted()
        rs = self.random_state
        return {
            "format": "gankit.TabularEncoder", "version": 1,
            "params": {"numeric": self.numeric,
                       "discrete_columns": None if self.discrete_columns is None
                       else list(self.discrete_columns),
                       "missing": self.missing, "max_modes": int(self.max_modes),
                       "random_state": int(rs) if isinstance(rs, (int, np.integer)) else None},
            "impute_values": [[c, v] for c, v in self.impute_values_.items()],
            "columns": [col.to_dict() for col in self._columns],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TabularEncoder":
        if not isinstance(d, dict) or d.get("format") != "gankit.TabularEncoder":
            raise GankitError("this is not a saved TabularEncoder (expected the dict written by "
                              "TabularEncoder.to_dict)")
        if d.get("version") != 1:
            raise GankitError(f"saved TabularEncoder version {d.get('version')} is not supported "
                              "by this gankit; upgrade gankit")
        enc = cls(**d["params"])
        enc.impute_values_ = {c: v for c, v in d["impute_values"]}
        enc._columns = [(DiscreteColumn if c["kind"] == "discrete" else NumericColumn).from_dict(c)
                        for c in d["columns"]]
        enc._set_layout()
        return enc

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "TabularEncoder":
        return cls.from_dict(json.loads(text))
