"""Stacked MNIST: 3-channel images whose channels are three independently drawn MNIST digits.

The mode-collapse benchmark of Metz et al. (2017), VEEGAN (Srivastava et al. 2017) and PacGAN
(Lin et al. 2018): each image stacks three digits, one per channel, so the data has 10^3 = 1,000
modes, one per triple (d1, d2, d3), labelled 100*d1 + 10*d2 + d3 (`--conditional` works on it).
The papers draw the digits from MNIST's 70k images; here the source is whatever MNIST-format
IDX folder is given, by default the 10k test images of `../shared/data/mnist` (the 60k training
files are not kept there). The stacks are built in memory from a seeded numpy stream, never
written to disk: the same digits, seed, count and size give the same images and fingerprint.

`gankit.metrics.stacked_mnist` reads generated stacks back with a digit judge per channel.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import GankitError
from .dataset import Dataset

NAME = "stacked-mnist"
N_TRIPLES = 1000
PUBLISHED_STACKS = 25_600  # the training-set size of VEEGAN's and PacGAN's experiments
MNIST_ENV = "GANKIT_MNIST"
_PLACES = np.array([100, 10, 1])


def is_stacked_mnist_name(text: str) -> bool:
    """`stacked-mnist` or `stacked-mnist:PATH`."""
    return text == NAME or text.startswith(NAME + ":")


def mnist_folder(path=None) -> Path:
    """The folder of MNIST-format IDX files to draw digits from: `path` when given, else
    $GANKIT_MNIST, else `shared/data/mnist` beside the working directory or the repository."""
    if path is not None and str(path) != "":
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise GankitError(f"MNIST folder {folder} does not exist; pass stacked-mnist:PATH with "
                              "a folder of MNIST-format IDX files")
        return folder
    candidates = [Path(os.environ[MNIST_ENV]).expanduser()] if os.environ.get(MNIST_ENV) else []
    # the repository's sibling folder, seen from the working directory and from an editable install
    repo = Path(__file__).resolve().parents[3]
    candidates += [Path.cwd().parent / "shared" / "data" / "mnist",
                   repo.parent / "shared" / "data" / "mnist"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise GankitError(f"no MNIST folder found for {NAME}; set {MNIST_ENV} or pass "
                      f"{NAME}:PATH (a folder of MNIST-format IDX files), or put them at "
                      f"{candidates[-1]}")


def load_mnist_digits(path=None, image_size: int | None = 32) -> Dataset:
    """The MNIST digits of `mnist_folder(path)` as 1-channel images in [-1, 1] with labels 0-9,
    at `image_size` (None: the native 28x28). Stacks and their digit judge are both built from
    this, so that the judge sees digits exactly as they appear in a channel."""
    from .images import find_idx_files, load_images

    folder = mnist_folder(path)
    if not find_idx_files(folder):
        raise GankitError(f"{folder} holds no MNIST-format IDX files (*-images-idx3-ubyte[.gz] "
                          f"with *-labels-idx1-ubyte[.gz]); point {NAME}:PATH at such a folder")
    digits = load_images(folder, image_size=image_size, channels=1)
    if digits.y is None or digits.num_classes != 10:
        raise GankitError(f"the IDX files in {folder} are not labelled digits 0-9 "
                          f"({digits.num_classes} classes); {NAME} needs MNIST's labels files")
    return digits


def stack_digits(digits: Dataset, n: int, seed: int = 0) -> Dataset:
    """n stacks of three digits drawn independently and uniformly (with replacement) from
    `digits` (1-channel, labels 0-9) by numpy's default generator seeded with `seed`."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise GankitError(f"the number of stacks (n_samples) must be a whole number >= 1, got {n!r}")
    if digits.x.ndim != 4 or digits.x.shape[1] != 1 or digits.y is None:
        raise GankitError(f"stack_digits needs labelled 1-channel digit images; {digits.name!r} "
                          f"has shape {tuple(digits.x.shape)}")
    index = np.random.default_rng(seed).integers(0, len(digits), size=(int(n), 3))
    x = torch.empty((int(n), 3, *digits.x.shape[2:]), dtype=torch.float32)
    for c in range(3):
        x[:, c] = digits.x[torch.from_numpy(index[:, c]), 0]
    y = triple_labels(digits.y.numpy()[index])
    meta = {key: digits.meta[key] for key in ("source", "image_size") if key in digits.meta}
    meta.update({
        "format": NAME, "channels": 3, "seed": int(seed), "n_digits": len(digits),
        "digits_fingerprint": digits.fingerprint,
        "description": (f"Stacked MNIST: stacks of 3 digits drawn independently (seed {int(seed)}) "
                        f"from the {len(digits):,} MNIST images of "
                        f"{meta.get('source', digits.name)}, one per channel; class = "
                        f"100*d1 + 10*d2 + d3 ({N_TRIPLES:,} classes)")})
    return Dataset(x=x, y=torch.from_numpy(y), kind="images", name=NAME, num_classes=N_TRIPLES,
                   meta=meta)


def load_stacked_mnist(path=None, n: int = PUBLISHED_STACKS, seed: int = 0,
                       image_size: int | None = 32, channels: int | None = None) -> Dataset:
    """`n` Stacked MNIST images (3, image_size, image_size) in [-1, 1] from the digits of
    `mnist_folder(path)` (by default the 10k MNIST test images of ../shared/data/mnist)."""
    if channels not in (None, 3):
        raise GankitError(f"{NAME} images have 3 channels, one digit each; got channels={channels!r}, "
                          "drop --channels or set it to 3")
    return stack_digits(load_mnist_digits(path, image_size), n, seed)


def triple_labels(digits) -> np.ndarray:
    """Digits (n, 3), one per channel -> Stacked MNIST labels 100*d1 + 10*d2 + d3."""
    return np.asarray(digits, dtype=np.int64) @ _PLACES


def triples(labels) -> np.ndarray:
    """Stacked MNIST labels (100*d1 + 10*d2 + d3) -> their digits, shape (n, 3)."""
    y = np.asarray(labels, dtype=np.int64)
    return np.stack([y // 100, y // 10 % 10, y % 10], axis=-1)
