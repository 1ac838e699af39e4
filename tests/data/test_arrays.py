import numpy as np
import pytest

from gankit.data import load_data
from gankit.errors import GankitError


def test_csv_with_label_column(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b,label\n0.5,1.0,0\n1.5,2.0,1\n2.5,3.0,1\n")
    data = load_data(path)
    assert data.x.shape == (3, 2) and data.y.tolist() == [0, 1, 1]
    assert data.meta["columns"] == ["a", "b"]


def test_csv_named_label_column_and_text_labels(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b,kind\n0.5,1.0,cat\n1.5,2.0,dog\n")
    data = load_data(path, label_column="kind")
    assert data.y.tolist() == [0, 1] and data.class_names == ["cat", "dog"]
    with pytest.raises(GankitError, match="label column 'species' is not in"):
        load_data(path, label_column="species")


def test_labels_must_be_0_to_k_minus_1(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b,label\n0.5,1.0,1\n1.5,2.0,3\n")
    with pytest.raises(GankitError, match="0..K-1"):
        load_data(path)


def test_nan_is_refused_with_its_position(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b\n0.5,1.0\n1.5,\n")
    with pytest.raises(GankitError, match=r"NaN or infinite values \(first at index \(1, 1\)\)"):
        load_data(path)


def test_npy_and_npz(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert np.array_equal(load_data(tmp_path / "x.npy").x.numpy(), x)
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(50) % 2)
    assert load_data(tmp_path / "xy.npz").num_classes == 2


def test_wrong_shape_is_refused(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(10))
    with pytest.raises(GankitError, match=r"shape \(10,\); expected \(N, features\)"):
        load_data(tmp_path / "flat.npy")
    np.save(tmp_path / "inf.npy", np.array([[0.0, np.inf]]))
    with pytest.raises(GankitError, match="infinite"):
        load_data(tmp_path / "inf.npy")
