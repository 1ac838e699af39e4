import numpy as np
import pytest

from gankit.data import load_data
from gankit.data.toy import blobs_centres, grid_centres, load_toy, mixture_spec, ring_centres
from gankit.errors import GankitError


def test_ring8_is_the_standard_definition():
    centres, std = mixture_spec("ring8")
    assert std == 0.01
    assert np.allclose(np.linalg.norm(centres, axis=1), 1.0)
    assert np.allclose(centres[2], [0.0, 1.0])


def test_grid25_is_the_standard_definition():
    centres, std = mixture_spec("grid25")
    assert std == 0.05
    assert sorted(set(centres[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert len({tuple(c) for c in centres}) == 25


def test_blobs_extend_the_material_layout():
    assert blobs_centres(9).tolist() == [[0, 0], [5, 5], [5, -5], [-5, 5], [-5, -5],
                                         [0, 5], [5, 0], [-5, 0], [0, -5]]
    for k in (4, 8, 16, 32):
        centres = blobs_centres(k)
        assert len({tuple(c) for c in centres}) == k
        assert np.array_equal(centres[:4], blobs_centres(4))
        gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2) + np.eye(k) * 99
        assert gaps.min() >= 5.0 - 1e-9   # 10 std apart at least


def test_labels_are_the_mode_index():
    data = load_toy("grid25", n=2500, seed=3)
    nearest = np.argmin(((data.x.numpy()[:, None] - data.centers[None]) ** 2).sum(2), axis=1)
    assert np.array_equal(nearest, data.y.numpy())
    assert np.bincount(data.y.numpy()).tolist() == [100] * 25


def test_seed_fixes_the_points():
    assert load_toy("ring8", 100, seed=1).fingerprint == load_toy("ring8", 100, seed=1).fingerprint
    assert load_toy("ring8", 100, seed=1).fingerprint != load_toy("ring8", 100, seed=2).fingerprint


def test_unknown_name_is_refused():
    with pytest.raises(GankitError, match="unknown data name 'ring9'"):
        load_data("ring9")
    with pytest.raises(GankitError, match="does not exist"):
        load_data("missing/points.csv")


def test_grid_mixtures_of_any_square_size():
    from gankit.data.toy import load_toy
    from gankit.errors import GankitError
    grid = load_toy("grid100", n=1000, seed=0)
    assert grid.centers.shape == (100, 2) and grid.num_classes == 100 and grid.mode_std == 0.05
    assert sorted(set(grid.centers[:, 0].tolist())) == [float(v) for v in range(-9, 10, 2)]
    assert (load_toy("grid25", n=10).centers == load_toy("grid25", n=10).centers).all()
    with pytest.raises(GankitError, match="square number of modes"):
        load_toy("grid30", n=10)
