"""One table column each: how `TabularEncoder` encodes and decodes a numeric or a discrete column.

`NumericColumn` holds a numeric column's range, rounding and one of three normalisations:
- ``"mode"``: mode-specific normalisation as in CTGAN (Xu et al. 2019): a Bayesian Gaussian
  mixture per column; a value becomes a scalar ``alpha = (x - mu_k) / (4 sigma_k)`` in
  [-0.99, 0.99] ("tanh" span) plus the one-hot of its mode k ("softmax" span).
- ``"quantile"``: scikit-learn's QuantileTransformer to a standard normal ("identity" span).
- ``"minmax"``: the reference material's scaling to [-1, 1] ("tanh" span).
`DiscreteColumn` one-hots the categories seen in `fit` ("softmax" span). Both save themselves as
JSON-serialisable dicts (`to_dict` / `from_dict`), without pickle.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture
from sklearn.preprocessing import QuantileTransformer
from threadpoolctl import threadpool_limits

from ..errors import GankitError
from .tables import _dtype_from_dict, _dtype_to_dict, _is_integer_dtype, _py

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


def learn_decimals(values: np.ndarray) -> int | None:
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


class NumericColumn:
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
        self.decimals = None if self.is_integer else learn_decimals(original)
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
            # In one dimension "diag" is CTGAN's "full" model at half the cost, and one thread is
            # faster on arrays this small (docs/benchmarks.md, "Figures behind the defaults").
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
    def from_dict(cls, d: dict) -> "NumericColumn":
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


class DiscreteColumn:
    """A discrete column: one-hot over the categories seen in `fit`."""

    kind = "discrete"

    def __init__(self, name, dtype, categories: list):
        self.name, self.dtype, self.categories = name, dtype, list(categories)
        self._index = pd.Index(self.categories, dtype=object)

    @property
    def spans(self) -> list[tuple[int, str]]:
        return [(len(self.categories), "softmax")]

    @classmethod
    def fit(cls, name, dtype, values: pd.Series) -> "DiscreteColumn":
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
    def from_dict(cls, d: dict) -> "DiscreteColumn":
        return cls(d["name"], _dtype_from_dict(d["dtype"]), d["categories"])
