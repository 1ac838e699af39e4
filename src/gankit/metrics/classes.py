"""Which classes a generator produces: class histogram, entropy, and per-class accuracy.

Feed it the predictions of a classifier trained on the real data (never an untrained one, the
reference material's mistake) on generated samples. Entropy is in nats; the normalised entropy
divides by log K, so 1 means every class equally often and 0 means a single class.
"""
from __future__ import annotations

import numpy as np

from ..errors import GankitError
from ._arrays import as_1d_int, check_positive_int, to_numpy


def _labels(labels_or_logits, num_classes: int, name: str) -> np.ndarray:
    """Class indices from integer labels (n,) or from scores/logits (n, num_classes) by argmax."""
    arr = to_numpy(labels_or_logits, name)
    if arr.ndim == 2:
        if arr.shape[1] != num_classes:
            raise GankitError(
                f"{name} has {arr.shape[1]} columns of scores but num_classes={num_classes}; "
                "pass logits with one column per class, or integer labels")
        if arr.shape[0] == 0:
            raise GankitError(f"{name} is empty; pass at least one sample")
        arr = np.asarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise GankitError(f"{name} contains NaN or infinite scores; check the classifier's output")
        return arr.argmax(axis=1)
    labels = as_1d_int(arr, name)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise GankitError(
            f"{name} holds labels outside 0..{num_classes - 1} (min {labels.min()}, max {labels.max()}); "
            "check num_classes")
    return labels


def class_distribution(labels_or_logits, num_classes: int) -> dict:
    """{"counts", "proportions", "entropy", "normalised_entropy"} of predicted classes.

    counts and proportions are lists of length num_classes (JSON-ready). With num_classes == 1
    the normalised entropy is 1 (one class is trivially spread evenly).
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    labels = _labels(labels_or_logits, num_classes, "labels_or_logits")
    counts = np.bincount(labels, minlength=num_classes)
    p = counts / counts.sum()
    nz = p[p > 0]
    entropy = max(0.0, float(-(nz * np.log(nz)).sum()))   # one class: 0, not -0.0
    normalised = 1.0 if num_classes == 1 else entropy / float(np.log(num_classes))
    return {
        "counts": [int(c) for c in counts],
        "proportions": [float(v) for v in p],
        "entropy": entropy,
        # Clipped because rounding can leave log K / log K a hair above 1.
        "normalised_entropy": float(min(max(normalised, 0.0), 1.0)),
    }


def per_class_accuracy(predicted, intended, num_classes: int) -> dict:
    """How often a conditional generator's samples are classified as the class it was asked for.

    predicted: labels (n,) or logits (n, num_classes) from a classifier; intended: the labels the
    generator was conditioned on. Returns {"per_class": list (NaN for classes never asked for),
    "accuracy": overall share correct, "counts": samples per intended class}.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    pred = _labels(predicted, num_classes, "predicted")
    want = _labels(intended, num_classes, "intended")
    if pred.shape[0] != want.shape[0]:
        raise GankitError(
            f"predicted has {pred.shape[0]} samples but intended has {want.shape[0]}; pass one intended label per sample")
    correct = pred == want
    counts = np.bincount(want, minlength=num_classes)
    hits = np.bincount(want, weights=correct.astype(np.float64), minlength=num_classes)
    per_class = [float(h / c) if c else float("nan") for h, c in zip(hits, counts)]
    return {"per_class": per_class, "accuracy": float(correct.mean()), "counts": [int(c) for c in counts]}
