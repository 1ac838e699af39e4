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


def test_duplicate_csv_column_names_are_refused_with_their_positions(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("\ufeffa,a,b,c,c\n1,2,3,4,5\n")  # a byte-order mark must not hide the first
    with pytest.raises(GankitError, match=r"dup\.csv has duplicate column names 'a' \(columns 1, 2\); "
                       r"'c' \(columns 4, 5\); give each column a unique name"):
        load_data(path)


@pytest.mark.parametrize("value, shown, divisor", [("1e30", "1e+30", "1e+30"),
                                                   ("3e38", "3e+38", "1e+38"),
                                                   ("-1e39", "1e+39", "1e+39")])
def test_csv_values_too_large_for_float32_name_the_column(tmp_path, value, shown, divisor):
    # 1e30 squares to inf in float32; 3e38 is near its limit; 1e39 is past it (float32 inf)
    path = tmp_path / "big.csv"
    path.write_text(f"a,b\n0.5,1.0\n1.5,{value}\n2.5,3.0\n")
    with pytest.raises(GankitError) as caught:
        load_data(path)
    assert str(caught.value) == (
        f"data 'big.csv': column 'b' holds values as large as {shown} in magnitude (first at row "
        "index 1); gankit computes in float32, where values beyond 1e+15 overflow its sums of "
        f"squares; rescale the column (e.g. divide it by {divisor})")


def test_arrays_too_large_name_the_column_index_and_moderate_values_pass(tmp_path):
    from gankit.api import arrays_to_dataset

    x = np.ones((4, 3))
    x[2, 1] = -2e20
    with pytest.raises(GankitError, match=r"column 1 holds values as large as 2e\+20"):
        arrays_to_dataset(x)
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    with pytest.raises(GankitError, match=r"x\.npy'.*column 1"):
        load_data(tmp_path / "x.npy")
    x[2, 1] = -1e15  # the limit itself trains
    assert float(arrays_to_dataset(x).x[2, 1]) == pytest.approx(-1e15)
