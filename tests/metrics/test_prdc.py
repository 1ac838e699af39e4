import numpy as np
import pytest
from scipy.spatial.distance import cdist

from gankit.errors import GankitError
from gankit.metrics import prdc


def _reference(real, fake, k):
    """Direct transcription of the published definitions, with full distance matrices."""
    drr, dff, drf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_real = np.sort(drr, axis=1)[:, k]  # column 0 is the point itself
    r_fake = np.sort(dff, axis=1)[:, k]
    in_real = drf <= r_real[:, None]  # (real, fake)
    return {
        "precision": in_real.any(axis=0).mean(),
        "recall": (drf <= r_fake[None, :]).any(axis=1).mean(),
        "density": in_real.sum(axis=0).mean() / k,
        "coverage": (drf.min(axis=1) <= r_real).mean(),
    }


def test_hand_computed_one_dimensional_case():
    # k=1. Real 0,1,3,7 have radii 1,1,2,4; fake 0.5,2.5,12,20 have radii 2,2,8,8.
    # precision: 0.5 (in balls of 0 and 1) and 2.5 (ball of 3) -> 2/4.
    # density: 0.5 lies in 2 real balls, 2.5 in 1, others 0 -> (2+1)/4/1 = 0.75.
    # recall: 0,1 near 0.5; 3 near 2.5; 7 is 5 from 12 whose radius is 8 -> 4/4.
    # coverage: nearest fakes are 0.5, 0.5, 0.5 away for 0,1,3; 7's is 4.5 > 4 -> 3/4.
    real = np.array([[0.0], [1.0], [3.0], [7.0]])
    fake = np.array([[0.5], [2.5], [12.0], [20.0]])
    for dtype in ("float32", "float64"):
        out = prdc(real, fake, k=1, dtype=dtype)
        assert out == pytest.approx({"precision": 0.5, "recall": 1.0, "density": 0.75, "coverage": 0.75})


def test_matches_full_matrix_reference_with_small_batches():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((57, 6))
    fake = rng.standard_normal((43, 6)) * 1.3 + 0.4
    ref = _reference(real, fake, k=3)
    for dtype in ("float64", "float32"):
        out = prdc(real, fake, k=3, batch_size=7, dtype=dtype)
        assert out == pytest.approx(ref, abs=1e-12)


def test_identical_sets_are_fully_precise_and_covered():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((80, 4))
    out = prdc(x, x.copy(), k=5)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["coverage"] == 1.0


def test_far_away_fake_scores_zero():
    rng = np.random.default_rng(2)
    out = prdc(rng.standard_normal((50, 3)), rng.standard_normal((50, 3)) + 100, k=3)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_bad_input():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 3))
    with pytest.raises(GankitError, match="k\\+1=6"):
        prdc(x[:5], x, k=5)
    with pytest.raises(GankitError, match="k\\+1=6"):
        prdc(x, x[:4], k=5)
    with pytest.raises(GankitError, match="features"):
        prdc(x, rng.standard_normal((10, 4)))
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(GankitError, match="NaN or infinite"):
        prdc(x, bad, k=2)
    with pytest.raises(GankitError, match="k must"):
        prdc(x, x, k=0)


def test_progress_reports_every_block_up_to_the_whole_work():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((50, 2)), rng.standard_normal((30, 2))
    seen = []
    out = prdc(real, fake, k=3, batch_size=8, progress=lambda done, total: seen.append((done, total)))
    # blocks on and above the diagonal of real (7 blocks of 8 rows: 28) and fake (4: 10), then
    # each fake block against all real (4); the entries add up to the whole work
    assert len(seen) == 28 + 10 + 4
    # (50^2 + 6 * 8^2 + 2^2) / 2 + (30^2 + 3 * 8^2 + 6^2) / 2 + 50 * 30 distance entries
    assert seen[-1] == (1444 + 564 + 1500, 1444 + 564 + 1500)
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert out == prdc(real, fake, k=3, batch_size=8)
