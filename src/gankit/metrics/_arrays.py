"""Turning whatever the caller holds (numpy arrays, tensors, lists) into checked 2-D arrays.

Every metric goes through these helpers so that bad input is refused the same way everywhere:
one `GankitError` line naming the argument, the problem and the fix.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import GankitError, check_finite


def to_numpy(x, name: str) -> np.ndarray:
    """A numpy view (or copy) of `x`, whatever it is; tensors are detached and moved to CPU."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.bfloat16, torch.float16):
            x = x.float()
        return x.numpy()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise GankitError(f"{name} could not be read as an array ({exc}); pass a numpy array or tensor") from exc


def _check_finite(arr: np.ndarray, name: str) -> None:
    check_finite(arr, name, fix="drop those samples before measuring")


def as_2d_float64(x, name: str, min_rows: int = 1) -> np.ndarray:
    """`x` as a finite float64 array of shape (n, d) with n >= min_rows.

    Images (n, C, H, W) are refused rather than flattened silently: metrics compare features, and
    the caller should say which features (an extractor, or `x.reshape(len(x), -1)` on purpose).
    """
    arr = to_numpy(x, name)
    if arr.dtype.kind not in "biuf":
        raise GankitError(f"{name} has dtype {arr.dtype}; expected numbers (float or int features)")
    if arr.ndim != 2:
        hint = (" (flatten images with x.reshape(len(x), -1) or pass extracted features)"
                if arr.ndim > 2 else " (use x.reshape(-1, 1) for one feature)")
        raise GankitError(f"{name} has shape {arr.shape}; expected 2-D (samples, features){hint}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise GankitError(f"{name} is empty (shape {arr.shape}); pass at least one sample with one feature")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    _check_finite(arr, name)
    if arr.shape[0] < min_rows:
        raise GankitError(
            f"{name} has {arr.shape[0]} samples; this metric needs at least {min_rows}, pass more samples")
    return arr


def same_width(a: np.ndarray, b: np.ndarray, name_a: str = "real", name_b: str = "fake") -> None:
    """Refuse two feature sets of different widths (the usual sign of mixed extractors)."""
    if a.shape[1] != b.shape[1]:
        raise GankitError(
            f"{name_a} has {a.shape[1]} features per sample but {name_b} has {b.shape[1]}; "
            "extract both with the same feature extractor")


def as_1d_int(x, name: str) -> np.ndarray:
    """Integer labels of shape (n,): floats are accepted only when they hold whole numbers."""
    arr = to_numpy(x, name)
    if arr.ndim != 1:
        raise GankitError(f"{name} has shape {arr.shape}; expected one label per sample, shape (n,)")
    if arr.shape[0] == 0:
        raise GankitError(f"{name} is empty; pass at least one label")
    if arr.dtype.kind == "f":
        _check_finite(arr, name)
        if not np.all(arr == np.round(arr)):
            raise GankitError(f"{name} holds non-integer values; pass class indices 0..K-1")
    elif arr.dtype.kind not in "biu":
        raise GankitError(f"{name} has dtype {arr.dtype}; expected integer class indices 0..K-1")
    return arr.astype(np.int64)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise GankitError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
