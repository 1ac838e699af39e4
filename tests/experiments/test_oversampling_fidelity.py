"""Fidelity of generated rows: identical rows are at distance zero."""
import numpy as np
import pandas as pd

from gankit.experiments.oversampling_fidelity import fidelity


def test_fidelity_of_identical_rows_is_perfect():
    df = pd.DataFrame({"a": np.arange(40.0), "b": ["x", "y"] * 20})
    summary, per_column = fidelity(df, df.copy(), ["b"])
    assert summary["ks_mean"] == 0 and summary["tv_mean"] == 0 and summary["corr_diff"] == 0
    assert list(per_column["column"]) == ["a", "b"]
