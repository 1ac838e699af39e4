import numpy as np
import pytest
from scipy.spatial.distance import pdist

from gankit.errors import GankitError
from gankit.metrics import diversity
from gankit.metrics.diversity import mean_pairwise_distance


def test_exact_small_case():
    real = np.array([[0.0], [3.0], [4.0]])  # distances 3, 4, 1 -> 8/3
    fake = np.array([[0.0], [6.0], [8.0]])  # twice as spread -> 16/3
    out = diversity(real, fake)
    assert out["real"] == pytest.approx(8 / 3)
    assert out["fake"] == pytest.approx(16 / 3)
    assert out["ratio"] == pytest.approx(2.0)


def test_collapsed_fake_has_zero_diversity():
    rng = np.random.default_rng(0)
    out = diversity(rng.standard_normal((50, 3)), np.ones((50, 3)))
    assert out["fake"] == 0.0 and out["ratio"] == 0.0


def test_sampled_pairs_estimate_the_mean_and_never_pair_a_sample_with_itself():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 5))
    est = mean_pairwise_distance(x, 20_000, np.random.default_rng(2))
    assert est == pytest.approx(pdist(x).mean(), rel=0.02)
    three = np.array([[0.0], [1.0], [3.0]])
    for seed in range(30):  # 3 pairs exist; with n_pairs=1 the sampled path is used
        assert mean_pairwise_distance(three, 1, np.random.default_rng(seed)) in (1.0, 2.0, 3.0)


def test_bad_input():
    x = np.zeros((5, 2))
    with pytest.raises(GankitError, match="features"):
        diversity(x, np.zeros((5, 3)))
    with pytest.raises(GankitError, match="at least 2"):
        diversity(x, x[:1])
