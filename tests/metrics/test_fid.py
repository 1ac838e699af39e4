import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.metrics.pairwise import polynomial_kernel

from gankit.errors import GankitError
from gankit.metrics import fid, frechet_distance, inception_score, kid
from gankit.metrics.fid import feature_statistics, trace_sqrt_product


def _spd(d, rng, floor=0.5):
    a = rng.standard_normal((d, d)) / np.sqrt(d)
    return a @ a.T + floor * np.eye(d)


def _scipy_fid(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_closed_form_diagonal_gaussians():
    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    v1, v2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    expected = ((mu1 - mu2) ** 2).sum() + (v1 + v2 - 2 * np.sqrt(v1 * v2)).sum()
    got = frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_singular_diagonal_uses_the_eigh_path_and_stays_exact():
    # Zero variances make Cholesky fail; tr sqrt(diag(0,1,4) diag(1,0,9)) = 0 + 0 + 6.
    s1, s2 = np.diag([0.0, 1.0, 4.0]), np.diag([1.0, 0.0, 9.0])
    assert trace_sqrt_product(s1, s2) == pytest.approx(6.0, rel=1e-12)
    assert frechet_distance(np.zeros(3), s1, np.ones(3), s2) == pytest.approx(3 + 5 + 10 - 12, rel=1e-12)


def test_agrees_with_scipy_sqrtm_on_well_conditioned_covariances():
    rng = np.random.default_rng(1)
    d = 40
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d) * 0.1
    s1, s2 = _spd(d, rng), _spd(d, rng)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_scipy_fid(mu1, s1, mu2, s2), rel=1e-6)


def test_trace_sqrt_is_the_sum_of_root_eigenvalues_of_the_product():
    rng = np.random.default_rng(8)
    s1, s2 = _spd(30, rng, floor=0.2), _spd(30, rng, floor=0.2)
    ref = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()  # eigenvalues of S1 S2 are real, >= 0
    assert trace_sqrt_product(s1, s2) == pytest.approx(ref, rel=1e-10)
    # Rank-deficient S1 (Cholesky fails, eigh path): still the same identity.
    low = s1[:, :5] @ s1[:, :5].T
    ref_low = np.sqrt(np.clip(np.linalg.eigvals(low @ s2).real, 0, None)).sum()
    assert trace_sqrt_product(low, s2) == pytest.approx(ref_low, rel=1e-6)


def test_fid_from_samples_matches_numpy_statistics_and_tensors():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 5))
    y = rng.standard_normal((200, 5)) @ np.diag([1, 2, 0.5, 1, 1]) + 0.3
    ref = _scipy_fid(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert fid(x, y) == pytest.approx(ref, rel=1e-8)
    assert fid(torch.from_numpy(x).float(), torch.from_numpy(y).float()) == pytest.approx(ref, rel=1e-5)
    assert fid(y, x) == pytest.approx(fid(x, y), rel=1e-8)


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 20)) * 3 + 5
    mu, s = feature_statistics(x)
    assert fid(x, x) < 1e-9 * np.trace(s)
    assert fid(x, x) >= 0.0


def test_singular_covariances_never_negative_or_complex():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((10, 50))  # rank 9 covariance in 50 dimensions
    y = rng.standard_normal((12, 50)) + 0.1
    value = fid(x, y)
    assert isinstance(value, float) and np.isfinite(value) and value > 0
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9 * np.trace(np.cov(x, rowvar=False)))
    # Mean shift alone adds exactly ||shift||^2 when the covariances are equal, singular or not.
    assert fid(x, x + 2.0) == pytest.approx(50 * 4.0, rel=1e-8)


def test_fid_rejects_bad_input():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20, 4))
    with pytest.raises(GankitError, match="features"):
        fid(x, rng.standard_normal((20, 5)))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(GankitError, match="NaN"):
        fid(bad, x)
    with pytest.raises(GankitError, match="2-D"):
        fid(x[:, 0], x)
    with pytest.raises(GankitError, match="at least 2"):
        fid(x[:1], x)
    with pytest.raises(GankitError, match="empty"):
        fid(np.zeros((0, 4)), x)
    with pytest.raises(GankitError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))


def test_kid_equals_unbiased_mmd_from_sklearn_kernel():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((60, 8)), rng.standard_normal((60, 8)) + 0.2
    kxx = polynomial_kernel(x, x, degree=3, gamma=1 / 8, coef0=1)
    kyy = polynomial_kernel(y, y, degree=3, gamma=1 / 8, coef0=1)
    kxy = polynomial_kernel(x, y, degree=3, gamma=1 / 8, coef0=1)
    m = 60
    ref = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
           - 2 * kxy.mean())
    # One subset holding every sample is the whole-set estimate (MMD ignores order).
    out = kid(x, y, subsets=1, subset_size=1000, dtype="float64")
    assert out["subset_size"] == 60
    assert out["mean"] == pytest.approx(ref, rel=1e-10)
    assert kid(x, y, subsets=1, subset_size=1000)["mean"] == pytest.approx(ref, rel=1e-5)  # float32 dots


def test_kid_near_zero_for_one_distribution_and_positive_for_shifted():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 16))
    same = kid(x, rng.standard_normal((400, 16)), subsets=10, subset_size=200)
    shifted = kid(x, rng.standard_normal((400, 16)) + 0.5, subsets=10, subset_size=200)
    assert abs(same["mean"]) < 3 * same["std"] + 1e-3
    assert shifted["mean"] > 20 * max(abs(same["mean"]), same["std"])
    assert shifted["mean"] > 0.1


def test_inception_score_bounds():
    c = 10
    flat = np.zeros((100, c))
    assert inception_score(flat, splits=1)["mean"] == pytest.approx(1.0, abs=1e-12)
    confident = 1e4 * np.eye(c)[np.arange(100) % c]  # huge logits: log-space keeps this finite
    out = inception_score(confident, splits=1)
    assert out["mean"] == pytest.approx(c, rel=1e-9)
    # Every sample confidently the same class: no diversity, score 1.
    collapsed = 1e4 * np.eye(c)[np.zeros(100, dtype=int)]
    assert inception_score(collapsed, splits=5)["mean"] == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(GankitError, match="splits"):
        inception_score(flat[:3], splits=10)
