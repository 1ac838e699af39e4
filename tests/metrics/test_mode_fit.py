"""mode_fit on cases with a known answer: the true mixture, collapsed modes, shifted modes."""
import numpy as np
import pytest

from gankit.data.toy import mixture_spec, sample_mixture
from gankit.errors import GankitError
from gankit.metrics import mode_fit
from gankit.metrics.mode_fit import window_std_factor

RING8, STD = mixture_spec("ring8")
PER_MODE = 4000


def true_mixture(seed=0, shift=(0.0, 0.0)):
    points, labels = sample_mixture(RING8, STD, 8 * PER_MODE, seed)
    return points.astype(np.float64) + STD * np.asarray(shift), labels


def test_samples_from_the_true_mixture_fit_every_mode():
    out = mode_fit(true_mixture()[0], RING8, STD)
    assert out["measured"] == 8 and sum(out["per_mode"]["n"]) > 0.98 * 8 * PER_MODE
    # each axis std has a standard error of about 1/sqrt(2 * 4000) = 0.011, 0.003 for the mean
    # of 16; without the window correction the mean would read 0.974
    assert out["spread"]["mean"] == pytest.approx(1.0, abs=0.01)
    assert abs(np.log(out["spread"]["worst"])) < 0.05
    # each mode's mean is off by about sqrt(pi/2)/sqrt(4000) = 0.02 std by chance alone
    assert out["offset"]["mean"] < 4 / np.sqrt(PER_MODE)
    assert out["offset"]["worst"] < 5 / np.sqrt(PER_MODE)


def test_the_window_correction_is_what_makes_a_true_mode_read_one():
    # A 2-D Gaussian seen within 3 std keeps E[r^2 | r^2 <= 9] = 2 - 9 e^-4.5 / (1 - e^-4.5)
    expected = np.sqrt((2 - 9 * np.exp(-4.5) / (1 - np.exp(-4.5))) / 2)
    assert window_std_factor(2) == pytest.approx(expected, rel=1e-12)
    z = np.random.default_rng(3).standard_normal((400_000, 2))
    kept = z[np.linalg.norm(z, axis=1) <= 3]
    assert kept.std(axis=0) == pytest.approx([window_std_factor(2)] * 2, abs=0.005)


def test_samples_collapsed_onto_the_centres_have_no_spread():
    out = mode_fit(np.repeat(RING8, 50, axis=0), RING8, STD)
    assert out["measured"] == 8
    assert out["spread"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert out["spread"]["worst"] == pytest.approx(0.0, abs=1e-9)
    assert out["offset"]["mean"] == pytest.approx(0.0, abs=1e-9)


def test_point_masses_beside_the_centres_give_their_offset_exactly():
    shifts = np.zeros((8, 2))
    shifts[:, 0] = 0.5
    shifts[5] = [0.0, 2.0]                        # mode 5 sits 2 std off, the worst
    samples = np.repeat(RING8 + STD * shifts, 20, axis=0)
    out = mode_fit(samples, RING8, STD)
    assert out["per_mode"]["offset"] == pytest.approx([0.5] * 5 + [2.0] + [0.5] * 2)
    assert out["offset"]["mean"] == pytest.approx((7 * 0.5 + 2.0) / 8)
    assert out["offset"]["worst"] == pytest.approx(2.0) and out["offset"]["worst_mode"] == 5


def test_gaussian_modes_shifted_by_one_std_read_the_windowed_shift():
    # The mean of N((1, 0), I) within 3 of the origin, by quadrature: the window keeps less of
    # the far side, so a shift of 1 std reads a little less.
    g = np.linspace(-4.5, 4.5, 1801)
    x, y = np.meshgrid(g, g)
    w = np.exp(-((x - 1) ** 2 + y ** 2) / 2) * (x ** 2 + y ** 2 <= 9)
    windowed = float((x * w).sum() / w.sum())
    assert 0.9 < windowed < 0.93
    out = mode_fit(true_mixture(seed=1, shift=(1.0, 0.0))[0], RING8, STD)
    assert out["offset"]["mean"] == pytest.approx(windowed, abs=0.02)


def test_a_wider_mode_is_the_worst():
    points, labels = true_mixture(seed=2)
    wide = labels == 3
    points[wide] = RING8[3] + 1.3 * (points[wide] - RING8[3])   # 1.3 std: most stay in the window
    out = mode_fit(points, RING8, STD)
    assert out["spread"]["worst_mode"] == 3
    assert out["spread"]["worst"] > 1.1
    assert all(abs(s - 1) < 0.1 for m, pair in enumerate(out["per_mode"]["spread"]) if m != 3
               for s in pair)


def test_modes_without_two_samples_are_not_measured():
    samples = np.concatenate([np.repeat(RING8[:2], 5, axis=0), RING8[2:3], np.full((3, 2), 9.0)])
    out = mode_fit(samples, RING8, STD)
    assert out["measured"] == 2
    assert out["per_mode"]["n"] == [5, 5, 1, 0, 0, 0, 0, 0]
    assert out["per_mode"]["spread"][2] is None and out["per_mode"]["offset"][2] is None
    nothing = mode_fit(np.full((4, 2), 9.0), RING8, STD)
    assert nothing["measured"] == 0 and np.isnan(nothing["spread"]["mean"])


def test_bad_input():
    with pytest.raises(GankitError, match="features"):
        mode_fit(np.zeros((5, 3)), RING8, STD)
    with pytest.raises(GankitError, match="std"):
        mode_fit(np.zeros((5, 2)), RING8, [STD, STD])
    with pytest.raises(GankitError, match="min_samples"):
        mode_fit(np.zeros((5, 2)), RING8, STD, min_samples=1)
