"""Tables in: reading CSV files and the built-in tables, class columns, and the step to a Dataset.

This module owns reading a table (`read_table`, `builtin_discrete_columns`), turning a class
column into codes 0..K-1 (`factorize_classes`), the step from a DataFrame to a `Dataset` of kind
"table" (`table_dataset`, with a `gankit.data.tabular.TabularEncoder`), and the dtype helpers
both share with the encoder: which columns are numeric, integer or discrete, and dtypes and
values written as JSON and read back unchanged.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd
import torch

from ..errors import GankitError
from .csv_files import read_csv
from .dataset import Dataset

if TYPE_CHECKING:
    from .tabular import TabularEncoder

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


def as_frame(df) -> pd.DataFrame:
    """A DataFrame with a fresh 0..n-1 index from a frame, a 2-D array or a 2-D tensor."""
    if isinstance(df, pd.DataFrame):
        return df.reset_index(drop=True)
    if isinstance(df, torch.Tensor):
        df = df.detach().cpu().numpy()
    arr = np.asarray(df)
    if arr.ndim != 2:
        raise GankitError(f"expected a DataFrame or a 2-D array, got shape {arr.shape}")
    return pd.DataFrame(arr)


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


# ---------------------------------------------------------------------------------------------
# to a Dataset

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
    df = as_frame(df)
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
