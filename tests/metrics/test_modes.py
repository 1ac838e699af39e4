import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics import material_coverage, mode_metrics

RING8 = np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], axis=1)
STD = 0.01


def test_all_samples_on_one_mode():
    rng = np.random.default_rng(0)
    samples = RING8[2] + STD * rng.standard_normal((2500, 2))
    samples = samples[np.linalg.norm(samples - RING8[2], axis=1) <= 3 * STD]
    out = mode_metrics(samples, RING8, STD)
    assert out["modes"] == 1
    assert out["hq"] == 1.0
    assert out["reverse_kl"] == pytest.approx(np.log(8))
    assert out["counts"][2] == len(samples)


def test_evenly_spread_samples():
    samples = np.repeat(RING8, 100, axis=0) + 0.5 * STD
    out = mode_metrics(samples, RING8, STD)
    assert out["modes"] == 8 and out["hq"] == 1.0
    assert out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_hand_computed_histogram_and_threshold():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    samples = np.array([
        [0.29, 0.0], [0.0, -0.2],   # mode 0: both within 3 * 0.1
        [10.0, 0.1],                # mode 1
        [0.0, 10.0],                # mode 2
        [10.0, 10.31],              # nearest mode 3 but 3.1 std away: not high quality
        [5.0, 5.0],                 # between modes: not high quality
    ])
    out = mode_metrics(samples, centers, 0.1)
    assert out["counts"] == [2, 1, 1, 0]
    assert out["modes"] == 3
    assert out["hq"] == pytest.approx(4 / 6)
    # p = (1/2, 1/4, 1/4, 0) against uniform 1/4: 1/2 log 2 + 0 + 0 (+ 0 log 0 = 0).
    assert out["reverse_kl"] == pytest.approx(0.5 * np.log(2))


def test_no_high_quality_sample_counts_as_total_collapse():
    out = mode_metrics(np.full((100, 2), 5.0), RING8, STD)
    assert out["modes"] == 0 and out["hq"] == 0.0
    assert out["reverse_kl"] == pytest.approx(np.log(8))


def test_material_coverage_cannot_tell_collapse_from_quality():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [5, 5], [5, -5], [-5, 5]], dtype=float) / 5.5
    real = np.concatenate([c + 0.02 * rng.standard_normal((200, 2)) for c in centers])
    # 9,996 samples on one point plus one lucky sample near each other centre.
    collapsed = np.concatenate([np.repeat(centers[:1], 9996, axis=0), centers[1:] + 0.01])
    assert material_coverage(real, collapsed, 4) == 1.0
    modes = mode_metrics(collapsed, centers, 0.02)
    assert modes["reverse_kl"] > 1.3  # nearly log 4 = 1.386: the standard metric sees the collapse
    assert material_coverage(real, centers[:2] + 0.01, 4) == 0.5


def test_bad_input():
    with pytest.raises(GankitError, match="features"):
        mode_metrics(np.zeros((5, 3)), RING8, STD)
    with pytest.raises(GankitError, match="std"):
        mode_metrics(np.zeros((5, 2)), RING8, -1.0)
    with pytest.raises(GankitError, match="std"):
        mode_metrics(np.zeros((5, 2)), RING8, [0.1, 0.2])
    with pytest.raises(GankitError, match="NaN"):
        mode_metrics(np.array([[np.nan, 0.0]]), RING8, STD)
