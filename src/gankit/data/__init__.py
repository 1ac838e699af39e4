"""Data sources: one entry point, `load_data`, from a name or a path to a `Dataset`.

Built-in names: the toy mixtures (ring8, grid25, blobsK), `digits` (images), `stacked-mnist`
(3-channel stacks of MNIST digits, from ../shared/data/mnist or `stacked-mnist:PATH`), and the
scikit-learn tables `iris`, `wine` and `breast-cancer` as numeric points with their class as
label. Paths: `.csv` (numeric points), `.npy`/`.npz` (points if 2-D, images if 3-D or 4-D), a
folder of images (class sub-folders become labels) or a folder of MNIST-format IDX files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GankitError
from .dataset import Dataset, validate_labels
from .stacked_mnist import NAME as STACKED_MNIST, is_stacked_mnist_name
from .toy import TOY_NAMES, is_toy_name, load_toy, mixture_spec

IMAGE_NAMES = ("digits",)
TABLE_NAMES = ("iris", "wine", "breast-cancer")
BUILTIN_NAMES = TOY_NAMES + IMAGE_NAMES + (STACKED_MNIST,) + TABLE_NAMES

__all__ = ["Dataset", "load_data", "load_toy", "mixture_spec", "validate_labels", "BUILTIN_NAMES"]


def _sklearn_points(name: str) -> Dataset:
    from sklearn import datasets

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine,
              "breast-cancer": datasets.load_breast_cancer}[name]
    bunch = loader()
    return Dataset(x=bunch.data.astype(np.float32), y=bunch.target.astype(np.int64), kind="points",
                   name=name, class_names=[str(c) for c in bunch.target_names],
                   meta={"source": f"sklearn:{name}", "columns": [str(c) for c in bunch.feature_names]})


def load_data(source: str | Path, *, label_column: str | None = None, image_size: int | None = 32,
              channels: int | None = None, n: int = 10_000, seed: int = 0,
              label_map=None) -> Dataset:
    """Load a built-in data set by name or a data file/folder by path.

    Images only: image_size (32 or 64 for the conv nets; None keeps the native size), channels
    (1 or 3; None keeps the source's) and label_map (renumbers raw labels or class-folder names
    to 0..K-1: a dict {raw: index} or a list in index order; see `images.load_images`).
    n and seed: how many points of a toy mixture, or stacks of `stacked-mnist`, and their seed."""
    text = str(source)
    if is_toy_name(text):
        return load_toy(text, n=n, seed=seed)
    if text in IMAGE_NAMES:
        from .images import load_images
        return load_images(text, image_size=image_size, channels=channels, label_map=label_map)
    if text in TABLE_NAMES:
        return _sklearn_points(text)
    if is_stacked_mnist_name(text):
        from .stacked_mnist import load_stacked_mnist
        return load_stacked_mnist(text.partition(":")[2] or None, n=n, seed=seed,
                                  image_size=image_size, channels=channels)
    path = Path(text)
    if not path.exists():
        if path.suffix or "/" in text or "\\" in text:
            raise GankitError(f"data path {text} does not exist")
        raise GankitError(f"unknown data name {text!r}; built-in names are "
                          f"{', '.join(BUILTIN_NAMES)}, or pass a path to a .csv, .npy/.npz "
                          "file or an image folder")
    if path.is_dir():
        from .images import load_images
        return load_images(path, image_size=image_size, channels=channels,
                           label_map=label_map)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from .arrays import load_csv_points
        return load_csv_points(path, label_column=label_column)
    if suffix in (".npy", ".npz"):
        from .arrays import points_dataset, read_array_file
        x, y = read_array_file(path)
        if np.ndim(x) in (3, 4):
            from .images import load_images
            return load_images(path, image_size=image_size, channels=channels,
                               label_map=label_map)
        return points_dataset(x, y, name=path.name, meta={"source": str(path.resolve())})
    raise GankitError(f"cannot tell what kind of data {path.name} holds; use .csv, .npy, .npz, "
                      "an image folder or a folder of MNIST IDX files")
