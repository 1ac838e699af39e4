"""TabularEncoder: exact round trips, valid decoding of any array, missing values, column choice,
and saving without pickle."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gankit.data.tables import builtin_discrete_columns, read_table
from gankit.data.tabular import TabularEncoder
from gankit.errors import GankitError

METHODS = ["mode", "quantile", "minmax"]
HEART = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "heart_cleveland.csv"
needs_heart = pytest.mark.skipif(not HEART.is_file(),
                                 reason=f"heart data not found at {HEART} (../shared/data)")


def mixed_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),                                   # int, many values
        "grade": rng.integers(1, 4, n),                                   # int, 3 values
        "price": np.round(rng.normal(50, 20, n), 2),
        "ratio": np.round(rng.normal(0, 1, n), 3).astype(np.float32),
        "bimodal": np.concatenate([rng.normal(-20, 1, n // 2), rng.normal(30, 2, n - n // 2)]).round(1),
        "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune"], n)),
        "smoker": rng.random(n) > 0.6,
        "size": pd.Categorical(rng.choice(["S", "M"], n), categories=["S", "M", "L"], ordered=True),
        "count": pd.array(rng.integers(0, 500, n), dtype="Int64"),
        "byte": rng.integers(0, 256, n).astype(np.uint8),
    })


@pytest.fixture(scope="module")
def heart():
    if not HEART.is_file():
        pytest.skip(f"heart data not found at {HEART} (../shared/data)")
    return read_table(HEART)


@pytest.mark.parametrize("method", METHODS)
def test_encode_then_decode_returns_the_mixed_frame(method):
    df = mixed_frame()
    enc = TabularEncoder(numeric=method, random_state=0)
    X = enc.fit_transform(df)
    assert X.dtype == np.float32 and X.shape == (len(df), enc.output_dim_)
    assert np.array_equal(X, enc.transform(df))
    pd.testing.assert_frame_equal(enc.inverse_transform(X), df)
    # the spans tile the encoding, and softmax blocks are one-hot
    ends = [s + w for s, w, _ in enc.output_info_]
    assert [s for s, _, _ in enc.output_info_] == [0] + ends[:-1] and ends[-1] == X.shape[1]
    for start, width, act in enc.output_info_:
        if act == "softmax":
            assert np.array_equal(X[:, start:start + width].sum(1), np.ones(len(df)))


@needs_heart
@pytest.mark.parametrize("method", METHODS)
def test_encode_then_decode_returns_the_heart_frame(heart, method):
    enc = TabularEncoder(numeric=method, discrete_columns=builtin_discrete_columns("heart"),
                         missing="impute", random_state=0)
    X = enc.fit_transform(heart)
    assert set(enc.impute_values_) == {"ca", "thal"}
    # the list replaces the integer rule, so the 0-4 grade `num` stays numeric
    assert set(enc.discrete_columns_) == set(builtin_discrete_columns("heart"))
    pd.testing.assert_frame_equal(enc.inverse_transform(X), heart.fillna(enc.impute_values_))


@pytest.mark.parametrize("method", METHODS)
def test_decoding_random_arrays_keeps_columns_dtypes_categories_and_ranges(method):
    df = mixed_frame()
    enc = TabularEncoder(numeric=method, random_state=0).fit(df)
    rng = np.random.default_rng(1)
    R = rng.normal(0, 3, (500, enc.output_dim_))
    R[:5] = 100.0                                  # far outside any activation's range
    R[5:10] = -100.0
    out = enc.inverse_transform(R)
    assert list(out.columns) == list(df.columns) and len(out) == 500
    assert (out.dtypes == df.dtypes).all()
    assert out["size"].dtype == df["size"].dtype                     # categories and order
    for c in enc.discrete_columns_:
        assert set(out[c]) <= set(df[c])
    for c in set(df.columns) - set(enc.discrete_columns_):
        assert out[c].min() >= df[c].min() and out[c].max() <= df[c].max(), c
    assert out.notna().all().all()
    assert set(out["price"].round(2)) == set(out["price"])           # the data's 2 decimals


def test_random_arrays_cover_more_than_one_value():
    # a decoder that always returned the first category or the minimum would pass the checks above
    df = mixed_frame()
    enc = TabularEncoder(random_state=0).fit(df)
    out = enc.inverse_transform(np.random.default_rng(2).normal(0, 1, (300, enc.output_dim_)))
    for c in df.columns:
        assert out[c].nunique() > 1, c


def test_missing_values_raise_an_error_naming_columns_and_counts():
    df = mixed_frame()
    df.loc[[1, 5], "price"] = np.nan
    df.loc[3, "city"] = None
    with pytest.raises(GankitError, match=r"price \(2\).*city \(1\)|city \(1\).*price \(2\)") as err:
        TabularEncoder().fit(df)
    assert "missing='impute'" in str(err.value) and "age" not in str(err.value)


def test_impute_fills_median_and_most_frequent_and_keeps_rows():
    df = mixed_frame()
    df.loc[[1, 5], "price"] = np.nan
    df.loc[3, "city"] = np.nan
    df.loc[7, "count"] = pd.NA
    enc = TabularEncoder(numeric="minmax", missing="impute")
    X = enc.fit_transform(df)
    assert len(X) == len(df) and np.isfinite(X).all()
    # the median, kept to the data's 2 decimals
    assert enc.impute_values_["price"] == pytest.approx(df["price"].median(), abs=0.005)
    assert round(enc.impute_values_["price"], 2) == enc.impute_values_["price"]
    assert enc.impute_values_["city"] == df["city"].mode()[0]
    assert enc.impute_values_["count"] == round(df["count"].median())
    out = enc.inverse_transform(X)
    assert out.loc[1, "price"] == enc.impute_values_["price"]
    assert out.loc[3, "city"] == enc.impute_values_["city"]
    assert out.loc[7, "count"] == enc.impute_values_["count"]
    assert out["count"].dtype == df["count"].dtype
    # transform of new rows reuses the recorded fill values
    new = df.iloc[[1]].copy()
    assert np.array_equal(enc.transform(new), X[[1]])


def test_unknown_discrete_column_lists_the_available_columns():
    with pytest.raises(GankitError, match=r"\['nope'\].*available columns: \['age', 'grade'"):
        TabularEncoder(discrete_columns=["city", "nope"]).fit(mixed_frame())


def test_discrete_inference_rule_and_override():
    df = mixed_frame()
    enc = TabularEncoder(numeric="minmax").fit(df)
    assert set(enc.discrete_columns_) == {"grade", "city", "smoker", "size"}
    enc = TabularEncoder(numeric="minmax", discrete_columns=["age"]).fit(df)
    # the listed int column is one-hot; the unlisted small int column becomes numeric; strings,
    # bools and categories stay discrete whatever the list says
    assert set(enc.discrete_columns_) == {"age", "city", "smoker", "size"}
    assert dict((c, w) for c, _, w in enc.column_spans_)["age"] == df["age"].nunique()


def test_transform_refuses_unseen_categories_and_other_columns():
    df = mixed_frame()
    enc = TabularEncoder(numeric="minmax").fit(df)
    other = df.copy()
    other.loc[0, "city"] = "Rome"
    with pytest.raises(GankitError, match="Rome"):
        enc.transform(other)
    with pytest.raises(GankitError, match=r"missing \['price'\]"):
        enc.transform(df.drop(columns=["price"]))


@pytest.mark.parametrize("method", METHODS)
def test_to_dict_from_dict_gives_identical_transforms(method):
    df = mixed_frame()
    df.loc[2, "price"] = np.nan
    enc = TabularEncoder(numeric=method, missing="impute", random_state=0).fit(df)
    text = json.dumps(enc.to_dict())                     # plain JSON: no pickle involved
    loaded = TabularEncoder.from_dict(json.loads(text))
    assert loaded.output_info_ == enc.output_info_ and loaded.impute_values_ == enc.impute_values_
    assert np.array_equal(loaded.transform(df), enc.transform(df))
    R = np.random.default_rng(4).normal(0, 2, (200, enc.output_dim_))
    pd.testing.assert_frame_equal(loaded.inverse_transform(R), enc.inverse_transform(R))
    assert loaded.get_params() == enc.get_params()
    with pytest.raises(GankitError, match="not a saved TabularEncoder"):
        TabularEncoder.from_dict({"columns": []})


def test_unfitted_encoder_and_bad_parameters_are_clear_errors():
    with pytest.raises(GankitError, match="not fitted"):
        TabularEncoder().transform(mixed_frame())
    with pytest.raises(GankitError, match="numeric='gauss'"):
        TabularEncoder(numeric="gauss").fit(mixed_frame())


def test_values_too_large_for_float64_encoding_name_the_column():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, -1e200, 2.0]})
    for method in ("mode", "minmax"):
        with pytest.raises(GankitError, match=r"column 'b' holds values as large as 1e\+200.*"
                           r"row index 1.*float64.*rescale the column"):
            TabularEncoder(numeric=method).fit(df)
    # the encoder computes in float64, so what overflows float32 is still encoded exactly
    df["b"] = [1e30, -1e30, 2e30]
    encoder = TabularEncoder(numeric="minmax")
    np.testing.assert_allclose(encoder.inverse_transform(encoder.fit_transform(df))["b"], df["b"],
                               rtol=1e-6)


@needs_heart
def test_heart_has_known_missing_cells(heart):
    assert heart.shape == (303, 14)
    assert heart.isna().sum()[lambda s: s > 0].to_dict() == {"ca": 4, "thal": 2}
    with pytest.raises(GankitError, match=r"ca \(4\), thal \(2\)"):
        TabularEncoder(discrete_columns=builtin_discrete_columns("heart")).fit(heart)
