"""GANOverSampler on imbalanced-learn's contract (tiny GANs: a few steps, narrow nets)."""
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

import gankit
from gankit import GankitError, GANOverSampler

TINY = dict(steps=2, pac=2, gan_params=dict(hidden=8, latent_dim=4, batch_size=8, max_modes=2))


def frame(counts=(30, 12, 6), seed=0):
    rng = np.random.default_rng(seed)
    n = sum(counts)
    X = pd.DataFrame({"x": rng.normal(size=n).round(3), "k": rng.integers(0, 100, n),
                      "colour": rng.choice(["red", "blue"], n)})
    y = pd.Series(np.repeat(np.arange(len(counts)), counts), name="cls")
    return X, y


@pytest.mark.parametrize("strategy, expected", [
    ("auto", {0: 30, 1: 30, 2: 30}),
    ("not majority", {0: 30, 1: 30, 2: 30}),
    ("minority", {0: 30, 1: 12, 2: 30}),
    ("not minority", {0: 30, 1: 30, 2: 6}),
    ("all", {0: 30, 1: 30, 2: 30}),
    ({1: 20, 2: 9}, {0: 30, 1: 20, 2: 9}),
    (lambda y: {2: 10}, {0: 30, 1: 12, 2: 10}),
])
def test_counts_follow_sampling_strategy(strategy, expected):
    X, y = frame()
    sampler = GANOverSampler(sampling_strategy=strategy, random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert dict(Counter(y_res)) == expected
    assert len(X_res) == len(y_res)
    # the original rows come first, unchanged
    pd.testing.assert_frame_equal(X_res.iloc[:len(X)], X)
    pd.testing.assert_series_equal(y_res.iloc[:len(y)], y)
    assert X_res.dtypes.equals(X.dtypes) and y_res.name == "cls"
    grown = {c for c, k in sampler.sampling_strategy_.items() if k > 0}
    assert set(sampler.generators_) == grown


def test_float_strategy_binary_and_arrays_in_arrays_out():
    X, y = frame(counts=(40, 10))
    Xa = X[["x", "k"]].to_numpy()
    X_res, y_res = GANOverSampler(sampling_strategy=0.5, random_state=0, **TINY).fit_resample(
        Xa, y.to_numpy())
    assert isinstance(X_res, np.ndarray) and X_res.dtype == Xa.dtype
    assert isinstance(y_res, np.ndarray) and np.bincount(y_res).tolist() == [40, 20]
    np.testing.assert_array_equal(X_res[:len(Xa)], Xa)
    with pytest.raises(GankitError, match="sampling_strategy"):
        GANOverSampler(sampling_strategy=0.5, **TINY).fit_resample(*frame())


def test_categorical_columns_stay_categories():
    X, y = frame(counts=(30, 10))
    X_res, _ = GANOverSampler(random_state=0, **TINY).fit_resample(X, y)
    new = X_res.iloc[len(X):]
    assert set(new["colour"]) <= {"red", "blue"}
    assert new["k"].between(X["k"].min(), X["k"].max()).all()


def test_conditional_model():
    X, y = frame()
    sampler = GANOverSampler(conditional=True, random_state=0, **TINY)
    _, y_res = sampler.fit_resample(X, y)
    assert dict(Counter(y_res)) == {0: 30, 1: 30, 2: 30}
    assert list(sampler.generators_) == [None]


def test_same_random_state_same_rows():
    X, y = frame()
    a = GANOverSampler(random_state=5, **TINY).fit_resample(X, y)
    b = GANOverSampler(random_state=5, **TINY).fit_resample(X, y)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_series_equal(a[1], b[1])


def test_one_vs_all_indicator_y_gives_the_same_rows_and_comes_back_as_one():
    X, y = frame()
    labels = GANOverSampler(sampling_strategy={1: 20}, random_state=3, **TINY).fit_resample(X, y)
    dummies = pd.get_dummies(y.rename(None), prefix="is")          # bool columns is_0, is_1, is_2
    X_res, y_res = GANOverSampler(sampling_strategy={1: 20}, random_state=3,
                                  **TINY).fit_resample(X, dummies)
    pd.testing.assert_frame_equal(X_res, labels[0])
    assert list(y_res.columns) == ["is_0", "is_1", "is_2"] and (y_res.dtypes == bool).all()
    np.testing.assert_array_equal(y_res.to_numpy().argmax(axis=1), labels[1].to_numpy())
    # a two-class indicator array keeps its two columns and its dtype
    X2, y2 = frame(counts=(30, 10))
    onehot = np.eye(2, dtype=np.int32)[y2]
    X_res2, y_res2 = GANOverSampler(random_state=0, **TINY).fit_resample(X2, onehot)
    assert y_res2.shape == (60, 2) and y_res2.dtype == np.int32
    np.testing.assert_array_equal(y_res2.sum(axis=0), [30, 30])
    as_labels = GANOverSampler(random_state=0, **TINY).fit_resample(X2, y2)
    pd.testing.assert_frame_equal(X_res2, as_labels[0])


def test_indicator_rows_must_mark_exactly_one_class():
    X, y = frame(counts=(30, 10))
    onehot = np.eye(2, dtype=int)[y]
    onehot[4] = [1, 1]
    with pytest.raises(GankitError, match=r"row 4 marks 2 classes \(1 such rows\).*exactly one 1"):
        GANOverSampler(**TINY).fit_resample(X, onehot)
    onehot[4] = [0, 0]  # argmax would silently call it class 0
    with pytest.raises(GankitError, match="row 4 marks 0 classes"):
        GANOverSampler(**TINY).fit_resample(X, onehot)


class _Spy(ClassifierMixin, BaseEstimator):
    """Records how many rows it is fitted on and asked to predict."""

    seen: list = []

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.model_ = LogisticRegression().fit(pd.get_dummies(X).astype(float), y)
        _Spy.seen.append(("fit", len(X)))
        return self

    def predict(self, X):
        _Spy.seen.append(("predict", len(X)))
        X = pd.get_dummies(X).astype(float).reindex(columns=self.model_.feature_names_in_,
                                                      fill_value=0.0)
        return self.model_.predict(X)


def test_pipeline_and_cross_val_score_keep_generated_rows_out_of_test_folds():
    from imblearn.pipeline import Pipeline

    X, y = frame(counts=(30, 9))
    pipe = Pipeline([("gan", GANOverSampler(random_state=0, **TINY)), ("clf", _Spy())])
    clone(pipe)                                       # sklearn conventions: clonable
    _Spy.seen = []
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3), scoring="f1")
    assert len(scores) == 3 and np.isfinite(scores).all()
    fitted = [n for what, n in _Spy.seen if what == "fit"]
    predicted = [n for what, n in _Spy.seen if what == "predict"]
    assert sum(predicted) == len(X)                   # test folds: real rows only
    assert all(n == 2 * 20 for n in fitted)           # training folds: balanced to 20 + 20


def test_missing_values_error_names_columns_and_impute_keeps_originals():
    X, y = frame(counts=(30, 10))
    X.loc[[0, 35], "x"] = np.nan
    with pytest.raises(GankitError, match=r"missing values in columns x \(2\)"):
        GANOverSampler(**TINY).fit_resample(X, y)
    X_res, y_res = GANOverSampler(missing="impute", random_state=0, **TINY).fit_resample(X, y)
    assert X_res["x"].iloc[:len(X)].isna().sum() == 2 and not X_res.iloc[len(X):].isna().any().any()


def test_clear_errors():
    X, y = frame(counts=(30, 10))
    with pytest.raises(GankitError, match=r"discrete_columns \['nope'\] are not columns"):
        GANOverSampler(discrete_columns=["nope"], **TINY).fit_resample(X, y)
    with pytest.raises(GankitError, match="single class"):
        GANOverSampler(**TINY).fit_resample(X, np.zeros(len(X), dtype=int))
    y1 = np.array([0] * (len(X) - 1) + [1])
    with pytest.raises(GankitError, match="class 1 has 1 row"):
        GANOverSampler(**TINY).fit_resample(X, y1)
    with pytest.raises(GankitError, match="rows but y has"):
        GANOverSampler(**TINY).fit_resample(X, y[:-1])
    with pytest.raises(GankitError, match="not TabularGAN parameters"):
        GANOverSampler(gan_params={"bogus": 1}).fit_resample(X, y)
    with pytest.raises(ValueError):                 # GankitError is a ValueError
        GANOverSampler(**TINY).fit_resample(X, y.astype(float) + 0.5)


def test_exported_and_is_an_imblearn_sampler():
    from imblearn.base import BaseSampler
    assert gankit.GANOverSampler is GANOverSampler
    assert isinstance(GANOverSampler(), BaseSampler)
    assert GANOverSampler().get_params()["sampling_strategy"] == "auto"
