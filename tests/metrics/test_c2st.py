import numpy as np
import pytest
from scipy.stats import binomtest

from gankit.errors import GankitError
from gankit.metrics import c2st
from gankit.metrics.c2st import wilson_interval


def test_wilson_interval_matches_scipy():
    for k, n in [(45, 100), (0, 20), (20, 20), (730, 1000)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


@pytest.mark.parametrize("classifier", ["knn", "logistic"])
def test_one_distribution_is_near_chance(classifier):
    rng = np.random.default_rng(0)
    out = c2st(rng.standard_normal((400, 5)), rng.standard_normal((400, 5)), classifier=classifier)
    assert 0.42 < out["accuracy"] < 0.58
    assert out["ci_low"] < 0.5 < out["ci_high"] or out["p_value"] > 0.01
    assert out["n_test"] == 400


@pytest.mark.parametrize("classifier", ["knn", "logistic", "mlp"])
def test_separated_distributions_are_told_apart(classifier):
    rng = np.random.default_rng(1)
    out = c2st(rng.standard_normal((200, 4)), rng.standard_normal((200, 4)) + 6, classifier=classifier)
    assert out["accuracy"] >= 0.98
    assert out["ci_low"] > 0.9
    assert out["p_value"] < 1e-10


def test_larger_set_is_subsampled_to_balance():
    rng = np.random.default_rng(2)
    out = c2st(rng.standard_normal((500, 3)), rng.standard_normal((100, 3)), test_size=0.5)
    assert out["n_test"] == 100  # 100 + 100 balanced samples, half held out


def test_bad_input():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 3))
    with pytest.raises(GankitError, match="unknown c2st classifier"):
        c2st(x, x, classifier="forest")
    with pytest.raises(GankitError, match="at least 4"):
        c2st(x[:3], x)
    with pytest.raises(GankitError, match="test_size"):
        c2st(x, x, test_size=1.5)
    with pytest.raises(GankitError, match="features"):
        c2st(x, rng.standard_normal((50, 2)))
