"""Points and feature vectors from files: CSV (numeric columns) and .npy/.npz arrays.

Images in arrays are the image loader's business (`data/images.py`); this module reads flat
(N, D) data. A CSV's labels come from its `label` column, or the one named by `label_column`.
Every source ends in `points_dataset`, which refuses values too large for float32 training
(`limits.check_magnitude`) before casting.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import GankitError
from .csv_files import read_csv
from .dataset import Dataset
from .limits import check_magnitude


def _encode_labels(values, source: str):
    """Integer labels must already be 0..K-1; text labels are mapped to 0..K-1 in sorted order."""
    values = np.asarray(values)
    if pd.isna(values).any():
        raise GankitError(f"the label column of {source} has missing values; fill or drop those rows")
    if values.dtype.kind in "iuf":
        return values, None            # checked as 0..K-1 by the Dataset
    classes = np.unique(values.astype(str))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[str(v)] for v in values], dtype=np.int64), [str(c) for c in classes]


def load_csv_points(path: str | Path, label_column: str | None = None) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise GankitError(f"data file {path} does not exist")
    frame = read_csv(path)
    if label_column is not None and label_column not in frame.columns:
        raise GankitError(f"label column {label_column!r} is not in {path.name}; "
                          f"columns are {list(frame.columns)}")
    label_column = label_column or ("label" if "label" in frame.columns else None)
    labels, class_names = (None, None)
    if label_column is not None:
        labels, class_names = _encode_labels(frame[label_column].to_numpy(), path.name)
        frame = frame.drop(columns=[label_column])
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise GankitError(f"{path.name} has non-numeric columns {non_numeric}; for tables with "
                          "categorical columns use gankit.TabularGAN, or pass --label-column")
    if frame.shape[1] == 0:
        raise GankitError(f"{path.name} has no feature columns")
    columns = [str(c) for c in frame.columns]
    # float64 first: the magnitude check must see the numbers as written, not float32's inf
    return points_dataset(frame.to_numpy(dtype=np.float64), labels, name=path.name,
                          meta={"source": str(path.resolve()), "columns": columns},
                          class_names=class_names, columns=columns)


def _npz_arrays(path: Path):
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        x_key = next((k for k in ("x", "X", "data", "samples", "images") if k in keys), None)
        if x_key is None:
            if len(keys) == 1:
                x_key = keys[0]
            else:
                raise GankitError(f"{path.name} holds arrays {keys}; name the samples 'x' "
                                  "(and labels 'y')")
        y_key = next((k for k in ("y", "labels", "label", "targets") if k in keys), None)
        return archive[x_key], (archive[y_key] if y_key else None)


def read_array_file(path: str | Path):
    """(samples, labels or None) from .npy or .npz, never unpickling."""
    path = Path(path)
    if not path.exists():
        raise GankitError(f"data file {path} does not exist")
    try:
        if path.suffix == ".npz":
            return _npz_arrays(path)
        return np.load(path, allow_pickle=False), None
    except GankitError:
        raise
    except Exception as exc:
        raise GankitError(f"cannot read {path} as a numpy array: {exc}") from None


def points_dataset(x, y=None, name: str = "array", meta: dict | None = None,
                   class_names: list[str] | None = None, columns=None) -> Dataset:
    """A kind="points" `Dataset` from an (N, D) array; `columns` names the features in errors."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise GankitError(f"{name} has dtype {x.dtype}; expected numbers")
    if x.ndim == 1:
        raise GankitError(f"{name} has shape {x.shape}; expected (N, features): "
                          "reshape a single feature with x.reshape(-1, 1)")
    if x.ndim != 2:
        raise GankitError(f"{name} has shape {x.shape}; expected (N, features) for points "
                          "(images are (N, H, W) or (N, C, H, W))")
    check_magnitude(x, f"data {name!r}", columns)
    # a copy: the Dataset must not share memory with (or warn about) a caller's read-only array
    return Dataset(x=torch.from_numpy(np.array(x, dtype=np.float32)),
                   y=None if y is None else np.asarray(y),
                   kind="points", name=name, class_names=class_names, meta=meta or {})
