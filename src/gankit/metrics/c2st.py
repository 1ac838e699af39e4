"""The classifier two-sample test (Lopez-Paz & Oquab 2017): can a classifier tell real from fake?

Equal numbers of real and generated samples are labelled 0 and 1, split into train and test
(the same share of each class held out), standardised with statistics of the training part only, and a classifier is fitted.
Its held-out accuracy is the statistic: 0.5 means indistinguishable, 1.0 means perfectly separable.
A 95% Wilson interval on the accuracy and a one-sided binomial p-value (H0: accuracy = 0.5) say
how much of a departure from 0.5 the test size can resolve.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import binomtest

from ..errors import GankitError
from ._arrays import as_2d_float64, same_width

CLASSIFIERS = ("knn", "logistic", "mlp")
_Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n <= 0:
        raise GankitError("a confidence interval needs at least one trial")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _make_classifier(classifier, n_train: int, random_state):
    from sklearn.base import clone

    if hasattr(classifier, "fit") and hasattr(classifier, "predict"):
        return clone(classifier)
    if classifier == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        # k ~ sqrt(n), odd: consistent as n grows, and votes never tie between two classes.
        k = max(1, int(round(math.sqrt(n_train))))
        k = min(k if k % 2 else k + 1, n_train)
        return KNeighborsClassifier(n_neighbors=k)
    if classifier == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000)
    if classifier == "mlp":
        from sklearn.neural_network import MLPClassifier

        # Early stopping only with enough data for a meaningful validation split: on a few hundred
        # samples it stops after a handful of full-batch steps, before the network has learnt.
        return MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=300, early_stopping=n_train >= 2000,
                             random_state=random_state)
    raise GankitError(
        f"unknown c2st classifier {classifier!r}; use one of {CLASSIFIERS} or a scikit-learn classifier")


def c2st(real, fake, classifier="knn", test_size: float = 0.5, random_state=0) -> dict:
    """Held-out accuracy of `classifier` ("knn", "logistic", "mlp" or a scikit-learn estimator)
    telling `real` from `fake` features, shape (n, d) each.

    The larger set is subsampled (seeded) to the size of the smaller so that chance level is 0.5.
    Returns {"accuracy", "ci_low", "ci_high", "n_test", "p_value", "classifier"}.
    """
    from sklearn import config_context
    from sklearn.preprocessing import StandardScaler

    x = as_2d_float64(real, "real")
    y = as_2d_float64(fake, "fake")
    same_width(x, y)
    if not 0.0 < float(test_size) < 1.0:
        raise GankitError(f"c2st test_size must be in (0, 1), got {test_size}")
    n = min(x.shape[0], y.shape[0])
    n_test_each = int(round(n * test_size))
    if n < 4 or n_test_each < 1 or n - n_test_each < 1:
        raise GankitError(
            f"c2st needs at least 4 real and 4 generated samples with test_size={test_size}; "
            f"got {x.shape[0]} real and {y.shape[0]} generated")
    rng = np.random.default_rng(random_state)
    # Split indices per class, then copy each part once: the stacked data set is never built, so
    # peak memory is about one copy of the (balanced) inputs however large they are.
    parts = []
    for arr in (x, y):
        chosen = rng.permutation(arr.shape[0])[:n]
        parts.append((arr, chosen[n_test_each:], chosen[:n_test_each]))
    x_train = np.concatenate([arr[np.sort(tr)] for arr, tr, _ in parts])
    x_test = np.concatenate([arr[np.sort(te)] for arr, _, te in parts])
    l_train = np.repeat([0, 1], n - n_test_each)
    l_test = np.repeat([0, 1], n_test_each)
    scaler = StandardScaler(copy=False).fit(x_train)
    x_train = scaler.transform(x_train)
    x_test = scaler.transform(x_test)
    seed = int(rng.integers(2**31 - 1))
    model = _make_classifier(classifier, len(x_train), seed)
    with warnings.catch_warnings():
        # Not converging fully is fine here: a classifier that stops early is just a weaker test.
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        # Bound sklearn's chunked distance computations (k-NN) to 128 MiB instead of its 1 GiB default.
        with config_context(working_memory=128):
            model.fit(x_train, l_train)
            correct = int((model.predict(x_test) == l_test).sum())
    n_test = len(l_test)
    low, high = wilson_interval(correct, n_test)
    name = classifier if isinstance(classifier, str) else type(classifier).__name__
    return {
        "accuracy": correct / n_test,
        "ci_low": low,
        "ci_high": high,
        "n_test": n_test,
        "p_value": float(binomtest(correct, n_test, 0.5, alternative="greater").pvalue),
        "classifier": name,
    }
