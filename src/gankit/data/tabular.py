"""Tables: DataFrames and CSV files to tensors and back.

This module owns the encoding of a pandas DataFrame into the float32 matrix a GAN trains on
(`TabularEncoder`), its exact decoding back to a frame with the original columns, dtypes,
category sets and value ranges, the built-in tables (`read_table`, `builtin_discrete_columns`)
and the step to a `Dataset` of kind "table" (`table_dataset`).

Encoding, column by column (the layout is described by `output_info_` for the generator):
- numeric, ``numeric="mode"``: mode-specific normalisation as in CTGAN (Xu et al. 2019): a
  Bayesian Gaussian mixture per column; a value becomes a scalar ``alpha = (x - mu_k) / (4
  sigma_k)`` in [-0.99, 0.99] ("tanh" span) plus the one-hot of its mode k ("softmax" span).
- numeric, ``numeric="quantile"``: scikit-learn's QuantileTransformer to a standard normal
  ("identity" span).
- numeric, ``numeric="minmax"``: the reference material's scaling to [-1, 1] ("tanh" span).
- discrete: one-hot over the categories seen in `fit` ("softmax" span).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.stats
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ..errors import GankitError
from .csv_files import read_csv
from .dataset import Dataset
from .limits import check_magnitude

NUMERIC_METHODS = ("mode", "quantile", "minmax")
MISSING_POLICIES = ("error", "impute")

# An integer column is inferred discrete when it has at most this many distinct values and
# they make up at most this share of the rows (so each value is seen ~5 times on average):
# a 0/1 flag or a 1-5 grade is a category, a count with 8 values in 12 rows is not.
DISCRETE_INT_MAX_UNIQUE = 10
DISCRETE_INT_MAX_SHARE = 0.2

# CTGAN's settings: a Dirichlet-process prior this small switches off unneeded modes, and modes
# carrying less than this weight are dropped.
MODE_WEIGHT_PRIOR = 1e-3
MODE_MIN_WEIGHT = 0.005
ALPHA_CLIP = 0.99
# Floats are rounded on decoding to the fewest decimals that reproduce every fitted value; past
# this many digits the column is left unrounded.
MAX_DECIMALS = 15
# QuantileTransformer's default; with at most this many rows every value is its own quantile,
# so decoding is exact.
MAX_QUANTILES = 1000
# QuantileTransformer maps its extreme quantiles to the normal quantile of 1e-7 and 1 - 1e-7.
Z_BOUND = float(scipy.stats.norm.ppf(1 - (1e-7 - np.spacing(1))))
Z_SNAP = 1e-4

HEART_FILE = "heart_cleveland.csv"
HEART_ENV = "GANKIT_HEART_CSV"
HEART_DISCRETE = ["sex", "cp", "fbs", "restecg", "exang", "slope", "ca", "thal"]
_SKLEARN_TABLES = {"iris": "load_iris", "wine": "load_wine", "breast-cancer": "load_breast_cancer"}
BUILTIN_TABLES = tuple(_SKLEARN_TABLES) + ("heart",)


# ---------------------------------------------------------------------------------------------
# dtypes and JSON-safe values

def _py(value):
    """numpy scalars -> Python scalars, so that json writes them and reads the same type back."""
    return value.item() if isinstance(value, np.generic) else value


def _dtype_to_dict(dtype) -> dict:
    if isinstance(dtype, pd.CategoricalDtype):
        return {"name": "category", "categories": [_py(c) for c in dtype.categories],
                "categories_dtype": str(dtype.categories.dtype), "ordered": bool(dtype.ordered)}
    return {"name": str(dtype)}


def _dtype_from_dict(d: dict):
    if d["name"] == "category":
        categories = pd.Index(d["categories"], dtype=pd.api.types.pandas_dtype(d["categories_dtype"]))
        return pd.CategoricalDtype(categories, ordered=d["ordered"])
    return pd.api.types.pandas_dtype(d["name"])


def _is_integer_dtype(dtype) -> bool:
    return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _is_numeric_dtype(dtype) -> bool:
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype))


def _is_discrete_dtype(dtype) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))


def _learn_decimals(values: np.ndarray) -> int | None:
    """Fewest decimals d with round(v, d) == v for every value (in the column's own dtype)."""
    with np.errstate(all="ignore"):
        for d in range(MAX_DECIMALS + 1):
            if np.array_equal(np.round(values, d), values):
                return d
    return None


def _restore(values: np.ndarray, dtype) -> pd.Series:
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(values, dtype=dtype))
    return pd.Series(values).astype(dtype)


# ---------------------------------------------------------------------------------------------
# one column each

class _Numeric:
    """A numeric column: its range, rounding, and one of the three normalisations."""

    kind = "numeric"

    def __init__(self, name, dtype, method: str, max_modes: int = 10):
        self.name, self.dtype, self.method, self.max_modes = name, dtype, method, max_modes
        self.is_integer = _is_integer_dtype(dtype)
        self.min = self.max = 0.0
        self.decimals: int | None = None
        self.means = self.stds = self.scales = self.weights = None   # mode
        self.quantiles = None                                        # quantile

    @property
    def spans(self) -> list[tuple[int, str]]:
        if self.method == "mode":
            return [(1, "tanh"), (len(self.means), "softmax")]
        return [(1, "identity" if self.method == "quantile" else "tanh")]

    def fit(self, x: np.ndarray, original: np.ndarray, seed: int) -> None:
        self.min, self.max = float(x.min()), float(x.max())
        self.decimals = None if self.is_integer else _learn_decimals(original)
        if self.method == "mode":
            self._fit_modes(x, seed)
        elif self.method == "quantile":
            n = min(MAX_QUANTILES, len(x))
            qt = QuantileTransformer(n_quantiles=n, output_distribution="normal",
                                     random_state=seed)
            qt.fit(x.reshape(-1, 1))
            self.quantiles = qt

    def _fit_modes(self, x: np.ndarray, seed: int) -> None:
        n_unique = len(np.unique(x))
        if n_unique == 1:
            self.means, self.stds, self.weights = np.array([x[0]]), np.ones(1), np.ones(1)
        else:
            # The mixture is fitted on the standardised column: its covariance floor (reg_covar)
            # is absolute, so on a raw column of tiny values every mode would be blurred.
            centre, spread = x.mean(), x.std()
            k = min(self.max_modes, n_unique, len(x))
            # In one dimension "diag" is the same model as CTGAN's "full" (fits agree to 1e-13
            # on the heart and breast-cancer columns) at half the cost; one thread is 2x faster
            # again on arrays this small, and much faster when the cores are shared.
            bgm = BayesianGaussianMixture(
                n_components=k, covariance_type="diag",
                weight_concentration_prior_type="dirichlet_process",
                weight_concentration_prior=MODE_WEIGHT_PRIOR, n_init=1, random_state=seed)
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore", ConvergenceWarning)
                bgm.fit(((x - centre) / spread).reshape(-1, 1))
            keep = bgm.weights_ > MODE_MIN_WEIGHT
            self.means = centre + spread * bgm.means_[keep, 0]
            self.stds = spread * np.sqrt(bgm.covariances_[keep].reshape(-1))
            self.weights = bgm.weights_[keep] / bgm.weights_[keep].sum()
        # CTGAN clips alpha at 0.99, so a value more than ~4 sigma from its mode cannot be
        # decoded; widening that mode's scale to cover its farthest fitted value makes decoding
        # of the training data exact. The assignment still uses the mixture's own sigma.
        comp = self._assign(x)
        reach = np.zeros(len(self.means))
        np.maximum.at(reach, comp, np.abs(x - self.means[comp]))
        self.scales = np.maximum(4.0 * self.stds, reach / ALPHA_CLIP)

    def _assign(self, x: np.ndarray) -> np.ndarray:
        # The most probable mode under the fitted mixture, computed from the stored parameters
        # alone so that a reloaded encoder assigns exactly the same modes. (CTGAN samples the
        # mode instead; argmax keeps `transform` deterministic and invertible.)
        z = (x[:, None] - self.means[None, :]) / self.stds[None, :]
        log_p = np.log(self.weights)[None, :] - np.log(self.stds)[None, :] - 0.5 * z * z
        return np.argmax(log_p, axis=1)

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.method == "minmax":
            width = self.max - self.min
            out = np.zeros_like(x) if width == 0 else 2.0 * (x - self.min) / width - 1.0
            return out[:, None]
        if self.method == "quantile":
            return self.quantiles.transform(x.reshape(-1, 1))
        comp = self._assign(x)
        alpha = np.clip((x - self.means[comp]) / self.scales[comp], -ALPHA_CLIP, ALPHA_CLIP)
        onehot = np.zeros((len(x), len(self.means)))
        onehot[np.arange(len(x)), comp] = 1.0
        return np.concatenate([alpha[:, None], onehot], axis=1)

    def inverse(self, block: np.ndarray) -> pd.Series:
        if self.method == "minmax":
            a = np.clip(block[:, 0], -1.0, 1.0)
            x = (a + 1.0) / 2.0 * (self.max - self.min) + self.min
        elif self.method == "quantile":
            # The column's min and max encode to +-Z_BOUND; float32 moves them just inside it,
            # where the steep tail of the quantile map lands short of the extreme value.
            z = block[:, :1].copy()
            z[z >= Z_BOUND - Z_SNAP] = Z_BOUND
            z[z <= -Z_BOUND + Z_SNAP] = -Z_BOUND
            x = self.quantiles.inverse_transform(z).reshape(-1)
        else:
            comp = np.argmax(block[:, 1:], axis=1)
            x = np.clip(block[:, 0], -1.0, 1.0) * self.scales[comp] + self.means[comp]
        x = np.clip(x, self.min, self.max)
        if self.is_integer:
            x = np.rint(x)
        elif self.decimals is not None:
            x = np.round(x, self.decimals)
        return _restore(x, self.dtype)

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "dtype": _dtype_to_dict(self.dtype),
             "method": self.method, "min": self.min, "max": self.max, "decimals": self.decimals}
        if self.method == "mode":
            d.update(means=self.means.tolist(), stds=self.stds.tolist(),
                     scales=self.scales.tolist(), weights=self.weights.tolist())
        elif self.method == "quantile":
            d.update(quantiles=self.quantiles.quantiles_[:, 0].tolist(),
                     references=self.quantiles.references_.tolist())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "_Numeric":
        col = cls(d["name"], _dtype_from_dict(d["dtype"]), d["method"])
        col.min, col.max, col.decimals = d["min"], d["max"], d["decimals"]
        if col.method == "mode":
            col.means, col.stds, col.scales, col.weights = (
                np.asarray(d[k], dtype=np.float64) for k in ("means", "stds", "scales", "weights"))
        elif col.method == "quantile":
            # Rebuilt from its fitted state: these four attributes are all that
            # QuantileTransformer's transform and inverse_transform read.
            qt = QuantileTransformer(n_quantiles=len(d["quantiles"]),
                                     output_distribution="normal")
            qt.quantiles_ = np.asarray(d["quantiles"], dtype=np.float64)[:, None]
            qt.references_ = np.asarray(d["references"], dtype=np.float64)
            qt.n_quantiles_ = len(d["quantiles"])
            qt.n_features_in_ = 1
            col.quantiles = qt
        return col


class _Discrete:
    """A discrete column: one-hot over the categories seen in `fit`."""

    kind = "discrete"

    def __init__(self, name, dtype, categories: list):
        self.name, self.dtype, self.categories = name, dtype, list(categories)
        self._index = pd.Index(self.categories, dtype=object)

    @property
    def spans(self) -> list[tuple[int, str]]:
        return [(len(self.categories), "softmax")]

    @classmethod
    def fit(cls, name, dtype, values: pd.Series) -> "_Discrete":
        seen = pd.unique(values.to_numpy(dtype=object))
        if isinstance(dtype, pd.CategoricalDtype):
            order = [c for c in dtype.categories if c in set(seen)]   # the dtype's own order
        else:
            try:
                order = sorted(seen)
            except TypeError:                                       # mixed types: first seen
                order = list(seen)
        return cls(name, dtype, [_py(c) for c in order])

    def transform(self, values: pd.Series) -> np.ndarray:
        codes = self._index.get_indexer(values.to_numpy(dtype=object))
        if (codes < 0).any():
            unseen = pd.unique(values.to_numpy(dtype=object)[codes < 0])[:5]
            raise GankitError(
                f"column {self.name!r} has categories not seen in fit: "
                f"{[_py(u) for u in unseen]}; refit the encoder on data that includes them")
        onehot = np.zeros((len(codes), len(self.categories)))
        onehot[np.arange(len(codes)), codes] = 1.0
        return onehot

    def inverse(self, block: np.ndarray) -> pd.Series:
        values = np.empty(len(self.categories), dtype=object)
        values[:] = self.categories
        return _restore(values[np.argmax(block, axis=1)], self.dtype)

    def to_dict(self) -> dict:
        for c in self.categories:
            if not isinstance(c, (str, int, float, bool)):
                raise GankitError(
                    f"column {self.name!r} has a category of type {type(c).__name__}, which "
                    "cannot be saved as JSON; convert the column to strings or numbers first")
        return {"name": self.name, "kind": self.kind, "dtype": _dtype_to_dict(self.dtype),
                "categories": list(self.categories)}

    @classmethod
    def from_dict(cls, d: dict) -> "_Discrete":
        return cls(d["name"], _dtype_from_dict(d["dtype"]), d["categories"])


# ---------------------------------------------------------------------------------------------

class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encodes a DataFrame as a float32 matrix for a GAN and decodes generated rows back.

    Parameters
    ----------
    numeric : "mode" | "quantile" | "minmax"
        How numeric columns are normalised (see the module docstring).
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
        df = self._as_frame(df)
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
                self._columns.append(_Discrete.fit(name, dtype, s))
                continue
            col = _Numeric(name, dtype, self.numeric, self.max_modes)
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

    @staticmethod
    def _as_frame(df) -> pd.DataFrame:
        if isinstance(df, pd.DataFrame):
            return df.reset_index(drop=True)
        if isinstance(df, torch.Tensor):
            df = df.detach().cpu().numpy()
        arr = np.asarray(df)
        if arr.ndim != 2:
            raise GankitError(f"expected a DataFrame or a 2-D array, got shape {arr.shape}")
        return pd.DataFrame(arr)

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
        decimals = _learn_decimals(observed) if isinstance(s.dtype, np.dtype) else None
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
        df = self._as_frame(df)
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
        enc._columns = [(_Discrete if c["kind"] == "discrete" else _Numeric).from_dict(c)
                        for c in d["columns"]]
        enc._set_layout()
        return enc

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "TabularEncoder":
        return cls.from_dict(json.loads(text))


# ---------------------------------------------------------------------------------------------
# sources

def _heart_path() -> Path:
    candidates = []
    env = os.environ.get(HEART_ENV)
    if env:
        p = Path(env)
        candidates.append(p / HEART_FILE if p.is_dir() else p)
    # the repository's sibling folder, seen from an editable install and from the working
    # directory (a wheel install has no repository above it)
    repo = Path(__file__).resolve().parents[3]
    candidates.append(Path.cwd().parent / "shared" / "data" / HEART_FILE)
    candidates.append(repo.parent / "shared" / "data" / HEART_FILE)
    for p in candidates:
        if p.is_file():
            return p
    raise GankitError(
        f"the heart data ({HEART_FILE}, UCI processed.cleveland.data with a header row) was not "
        f"found; set {HEART_ENV} to its path or put it at {candidates[-1]}")


def read_table(source, na_values: Iterable[str] = ("?", "", "NA")) -> pd.DataFrame:
    """A DataFrame from a CSV path or a built-in name ("iris", "wine", "breast-cancer", "heart").

    Only the strings in `na_values` mark missing cells (pandas' longer default list is off, so
    that a category spelled "None" stays a category). The sklearn tables come with an integer
    `target` column; "heart" reads `heart_cleveland.csv` from $GANKIT_HEART_CSV (a file or its
    folder) or `<repo>/../shared/data/`. See `builtin_discrete_columns` for its categories.
    """
    na = list(na_values)
    if isinstance(source, str) and source in _SKLEARN_TABLES:
        import sklearn.datasets
        bunch = getattr(sklearn.datasets, _SKLEARN_TABLES[source])(as_frame=True)
        return bunch.frame.reset_index(drop=True)
    if isinstance(source, str) and source == "heart":
        path = _heart_path()
    else:
        path = Path(source)
        if not path.is_file():
            raise GankitError(
                f"table {str(source)!r} is neither a built-in name {BUILTIN_TABLES} nor an "
                "existing CSV file; check the path")
    return read_csv(path, na_values=na, keep_default_na=False)


def builtin_discrete_columns(name: str) -> list[str]:
    """The known categorical feature columns of a built-in table (label columns excluded)."""
    if name == "heart":
        return list(HEART_DISCRETE)
    if name in _SKLEARN_TABLES:
        return []
    raise GankitError(f"{name!r} is not a built-in table; choose one of {BUILTIN_TABLES}")


def factorize_classes(labels, what: str, need: str) -> tuple[np.ndarray, list]:
    """Codes 0..K-1 (classes in sorted order) and the class values of a class column.

    Refuses missing values and a column with a single class, naming `what`; `need` says why
    two classes are needed.
    """
    labels = pd.Series(labels).reset_index(drop=True)
    if labels.isna().any():
        raise GankitError(f"{what} has {int(labels.isna().sum())} missing values; "
                          "fill or drop those rows")
    codes, classes = pd.factorize(labels, sort=True)
    if len(classes) < 2:
        raise GankitError(f"{what} has a single value {_py(classes[0])!r} (a single class); {need}")
    return codes, [_py(c) for c in classes]


def table_dataset(df: pd.DataFrame, encoder: TabularEncoder, label_column=None,
                  name: str = "table") -> Dataset:
    """A kind="table" `Dataset`: the encoded features and, with `label_column`, labels 0..K-1.

    The label column is left out of the features; its classes are sorted, kept as
    `class_names` (strings) and, with their original values and dtype, in `meta`. An unfitted
    encoder is fitted on the feature columns here.
    """
    df = TabularEncoder._as_frame(df)
    y = class_names = None
    meta: dict[str, Any] = {"encoder": encoder.numeric}
    if label_column is not None:
        if label_column not in df.columns:
            raise GankitError(f"label column {label_column!r} is not in the table; "
                              f"available columns: {list(df.columns)}")
        labels = df[label_column]
        codes, values = factorize_classes(labels, f"label column {label_column!r}",
                                          "a conditional model needs at least two")
        y = torch.as_tensor(codes.astype(np.int64))
        class_names = [str(c) for c in values]
        meta.update(label_column=label_column, label_values=values,
                    label_dtype=str(labels.dtype))
        df = df.drop(columns=[label_column])
    x = encoder.transform(df) if hasattr(encoder, "_columns") else encoder.fit_transform(df)
    meta.update(columns=[_py(c) for c in encoder.columns_],
                output_info=[list(span) for span in encoder.output_info_])
    return Dataset(x=torch.from_numpy(x), y=y, kind="table", name=name,
                   num_classes=0 if y is None else len(class_names), class_names=class_names,
                   meta=meta)
