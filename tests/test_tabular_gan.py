"""TabularGAN: frames in and out, conditioning, reproducibility, errors, save/load (tiny budgets)."""
import json

import numpy as np
import pandas as pd
import pytest

import gankit
from gankit import GankitError, TabularGAN

TINY = dict(steps=4, hidden=16, latent_dim=4, batch_size=20, pac=2, max_modes=3)


def mixed_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(20, 80, n).astype(np.int64),
        "score": np.round(rng.normal(5.0, 2.0, n), 2),
        "colour": rng.choice(["red", "green", "blue"], n),
        "flag": rng.random(n) < 0.3,
        "grade": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c", "d"]),
        "label": rng.choice([0, 1], n, p=[0.7, 0.3]),
    })


def test_sampled_frame_keeps_columns_dtypes_categories_and_ranges():
    df = mixed_frame()
    gan = TabularGAN(random_state=0, **TINY).fit(df)
    out = gan.sample(60)
    assert list(out.columns) == list(df.columns)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert len(out) == 60 and not out.isna().any().any()
    for c in ("colour", "flag", "label"):
        assert set(out[c]) <= set(df[c])
    assert set(out["grade"].astype(str)) <= set(df["grade"].astype(str))
    assert out["grade"].cat.categories.tolist() == ["a", "b", "c", "d"]
    for c in ("age", "score"):
        assert out[c].min() >= df[c].min() and out[c].max() <= df[c].max()
    assert (out["score"] == out["score"].round(2)).all()
    assert set(gan.discrete_columns_) == {"colour", "flag", "grade", "label"}
    assert gan.n_features_in_ == df.shape[1] and gan.class_column_ is None


def test_csv_in_and_discrete_override(tmp_path):
    df = mixed_frame()
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    gan = TabularGAN(random_state=0, **TINY).fit(path, discrete_columns=["colour", "label"])
    # the list replaces the integer rule; strings and booleans are always categorical
    assert set(gan.discrete_columns_) == {"colour", "label", "flag", "grade"}
    out = gan.sample(10)
    assert list(out.columns) == list(pd.read_csv(path).columns)


def test_conditional_on_a_column_and_on_a_series():
    df = mixed_frame()
    gan = TabularGAN(random_state=0, **TINY).fit(df, y="label")
    ones = gan.sample(15, y=1)
    assert list(ones.columns) == list(df.columns) and (ones["label"] == 1).all()
    assert ones["label"].dtype == df["label"].dtype
    mixed = gan.sample(30)
    assert set(mixed["label"]) <= {0, 1}
    with pytest.raises(GankitError, match="not seen in fit"):
        gan.sample(3, y=7)
    by_series = TabularGAN(random_state=0, **TINY).fit(df.drop(columns="label"),
                                                        y=df["label"].rename("target"))
    assert list(by_series.sample(5, y=0).columns) == list(df.columns[:-1]) + ["target"]
    with pytest.raises(GankitError, match="unconditional"):
        TabularGAN(random_state=0, **TINY).fit(df).sample(3, y=1)


def test_same_random_state_same_rows():
    df = mixed_frame()
    a = TabularGAN(random_state=3, **TINY).fit(df)
    b = TabularGAN(random_state=3, **TINY).fit(df)
    pd.testing.assert_frame_equal(a.sample(25), b.sample(25))
    pd.testing.assert_frame_equal(a.sample(25, random_state=1), b.sample(25, random_state=1))
    # successive draws differ, a fixed random_state repeats
    assert not a.sample(25).equals(a.sample(25))
    pd.testing.assert_frame_equal(a.sample(25, random_state=9), a.sample(25, random_state=9))


def test_missing_values_error_names_columns_or_impute():
    df = mixed_frame()
    df.loc[[1, 4], "score"] = np.nan
    df.loc[2, "colour"] = None
    with pytest.raises(GankitError, match=r"score \(2\).*colour \(1\)|colour \(1\).*score \(2\)"):
        TabularGAN(**TINY).fit(df)
    out = TabularGAN(missing="impute", random_state=0, **TINY).fit(df).sample(20)
    assert not out.isna().any().any()


def test_clear_errors():
    df = mixed_frame()
    with pytest.raises(GankitError, match="not in the table"):
        TabularGAN(**TINY).fit(df, discrete_columns=["nope"])
    with pytest.raises(GankitError, match="class column 'nope'"):
        TabularGAN(**TINY).fit(df, y="nope")
    with pytest.raises(GankitError, match="single value"):
        TabularGAN(**TINY).fit(df.assign(label=1), y="label")
    with pytest.raises(GankitError, match="not fitted"):
        TabularGAN().sample(3)
    with pytest.raises(GankitError, match="at least 2 rows"):
        TabularGAN(**TINY).fit(df.iloc[:1])
    with pytest.raises(ValueError):
        TabularGAN(pac=0).fit(df)


def test_save_load_round_trip(tmp_path):
    df = mixed_frame()
    gan = TabularGAN(random_state=0, **TINY).fit(df, y="label")
    path = gan.save(tmp_path / "model")
    names = {p.name for p in path.rglob("*") if p.is_file()}
    assert {"config.yaml", "encoder.json", "tabular_gan.json"} <= names
    # beside them only the run lock (.gankit.lock), which stays with every run directory
    assert all(p.suffix in (".yaml", ".json", ".safetensors") for p in path.rglob("*")
               if p.is_file() and p.name != ".gankit.lock")
    json.loads((path / "encoder.json").read_text())          # plain JSON, no pickle
    loaded = TabularGAN.load(path)
    pd.testing.assert_frame_equal(loaded.sample(20, y=1, random_state=4),
                                  gan.sample(20, y=1, random_state=4))
    assert loaded.columns_ == gan.columns_ and loaded.classes_ == [0, 1]
    with pytest.raises(GankitError, match="not a saved TabularGAN"):
        TabularGAN.load(tmp_path)


def test_out_writes_a_run_directory(tmp_path):
    df = mixed_frame()
    gan = TabularGAN(random_state=0, out=tmp_path / "run", **{**TINY, "steps": 6},
                     settings={"log_every": 2}).fit(df)
    assert (tmp_path / "run" / "losses.csv").exists() and gan.history_ is not None
    loaded = TabularGAN.load(gan.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.sample(5, random_state=0), gan.sample(5, random_state=0))


def test_exported_from_package():
    assert gankit.TabularGAN is TabularGAN
