"""column_fidelity: hand-computed KS and total-variation values, and the worst column by name."""
import numpy as np
import pandas as pd
import pytest

from gankit.errors import GankitError
from gankit.metrics import column_fidelity


def test_hand_computed_frame():
    real = pd.DataFrame({"age": [0.0, 1.0, 2.0, 3.0], "colour": ["a", "a", "b", "b"]})
    # age: the empirical CDFs differ most between 1 and 2: 2/4 against 0/4 -> KS 0.5.
    # colour: frequencies (1/2, 1/2) against (1/4, 3/4) -> TV 0.25.
    fake = pd.DataFrame({"age": [2.0, 3.0, 4.0, 5.0], "colour": ["a", "b", "b", "b"]})
    out = column_fidelity(real, fake)
    assert out["per_column"] == pytest.approx({"age": 0.5, "colour": 0.25})
    assert out["statistic"] == {"age": "ks", "colour": "tv"}
    assert out["mean"] == pytest.approx(0.375)
    assert out["worst"] == 0.5 and out["worst_column"] == "age"


def test_identical_columns_score_zero_and_unseen_categories_count_fully():
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["u", "v", "u"]})
    assert column_fidelity(real, real.copy())["mean"] == 0.0
    other = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["w", "w", "w"]})
    assert column_fidelity(real, other)["per_column"]["c"] == 1.0


def test_arrays_with_named_and_categorical_columns():
    rng = np.random.default_rng(0)
    real = np.column_stack([rng.normal(size=500), rng.integers(0, 3, 500)])
    fake = np.column_stack([rng.normal(size=500) + 3, rng.integers(0, 3, 500)])
    out = column_fidelity(real, fake, columns=["score", "grade"], categorical=["grade"])
    assert out["statistic"] == {"score": "ks", "grade": "tv"}
    assert out["per_column"]["score"] > 0.8          # shifted by 3 std: almost separate CDFs
    assert out["per_column"]["grade"] < 0.1          # same three categories, same frequencies
    assert out["worst_column"] == "score"


def test_bad_input():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(GankitError, match="columns differ"):
        column_fidelity(frame, pd.DataFrame({"b": [1.0, 2.0]}))
    with pytest.raises(GankitError, match="1 columns but fake has 2"):
        column_fidelity(np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(GankitError, match="one name per column"):
        column_fidelity(np.zeros((3, 2)), np.zeros((3, 2)), columns=["only"])
    with pytest.raises(GankitError, match="not among the columns"):
        column_fidelity(frame, frame, categorical=["zzz"])
