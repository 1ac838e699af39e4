"""read_table and table_dataset: CSV files and the built-in tables, the heart data's location,
and labels kept out of the encoded features."""
import numpy as np
import pandas as pd
import pytest
import torch

import gankit.data.tables as tables
from gankit.data.tables import builtin_discrete_columns, read_table, table_dataset
from gankit.data.tabular import TabularEncoder
from gankit.errors import GankitError


def small_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.integers(18, 90, n), "price": np.round(rng.normal(50, 20, n), 2),
                         "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune"], n))})


def test_read_table_csv_marks_question_marks_missing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1.5,x\n?,y\n2.5,\n")
    df = read_table(path)
    assert df["a"].isna().tolist() == [False, True, False]
    assert df["b"].isna().tolist() == [False, False, True]
    with pytest.raises(GankitError, match="neither a built-in name"):
        read_table(tmp_path / "absent.csv")


def test_read_table_refuses_duplicate_column_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\nid,age,age\n1,30,31\n")  # pandas skips the blank first line too
    with pytest.raises(GankitError, match=r"t\.csv has duplicate column names 'age' \(columns 2, 3\)"):
        read_table(path)


def test_read_table_builtins():
    iris = read_table("iris")
    assert iris.shape == (150, 5) and "target" in iris.columns
    assert read_table("breast-cancer").shape == (569, 31)
    assert builtin_discrete_columns("heart") == ["sex", "cp", "fbs", "restecg", "exang", "slope",
                                                 "ca", "thal"]
    with pytest.raises(GankitError, match="not a built-in table"):
        builtin_discrete_columns("titanic")


def test_heart_location_from_env_and_clear_error_when_absent(tmp_path, monkeypatch):
    (tmp_path / "heart_cleveland.csv").write_text("age,ca\n63.0,?\n")
    monkeypatch.setenv("GANKIT_HEART_CSV", str(tmp_path))
    assert read_table("heart")["ca"].isna().all()
    monkeypatch.setenv("GANKIT_HEART_CSV", str(tmp_path / "nowhere"))
    monkeypatch.setattr(tables, "HEART_FILE", "absent.csv")
    with pytest.raises(GankitError, match="GANKIT_HEART_CSV"):
        read_table("heart")


def test_table_dataset_encodes_labels_and_leaves_them_out_of_the_features():
    df = small_frame()
    df["label"] = np.where(np.arange(len(df)) % 3 == 0, "sick", "well")
    enc = TabularEncoder(numeric="minmax")
    ds = table_dataset(df, enc, label_column="label")
    assert ds.kind == "table" and ds.num_classes == 2 and ds.class_names == ["sick", "well"]
    assert torch.equal(ds.y, torch.as_tensor((np.arange(len(df)) % 3 != 0).astype(np.int64)))
    assert "label" not in enc.columns_ and ds.x.shape == (len(df), enc.output_dim_)
    assert ds.meta["label_values"] == ["sick", "well"]
    assert ds.meta["output_info"] == [list(s) for s in enc.output_info_]
    unlabelled = table_dataset(df.drop(columns=["label"]), enc)
    assert unlabelled.y is None and torch.equal(unlabelled.x, ds.x)
    with pytest.raises(GankitError, match="single class"):
        table_dataset(df.assign(label="well"), TabularEncoder(), label_column="label")
