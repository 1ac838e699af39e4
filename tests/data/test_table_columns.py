"""The column encodings behind TabularEncoder: CTGAN's mode-specific normalisation, the quantile
map to a standard normal and the material's min-max scaling, each decoded exactly."""
import numpy as np
import pandas as pd

from gankit.data.tabular import TabularEncoder


def bimodal_frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"bimodal": np.concatenate([rng.normal(-20, 1, n // 2),
                                                    rng.normal(30, 2, n - n // 2)]).round(1)})


def test_mode_normalisation_finds_both_modes_of_a_bimodal_column():
    df = bimodal_frame()
    enc = TabularEncoder(numeric="mode", random_state=0)
    X = enc.fit_transform(df)
    (s0, w0, a0), (s1, w1, a1) = enc.output_info_
    assert (w0, a0, a1) == (1, "tanh", "softmax") and 2 <= w1 <= 10
    assert np.abs(X[:, 0]).max() <= 0.99
    modes = X[:, 1:].argmax(1)
    low = df["bimodal"].to_numpy() < 0
    assert set(modes[low]).isdisjoint(modes[~low])                   # the clusters never share a mode


def test_mode_decoding_is_exact_for_values_far_from_every_mode():
    # one outlier among 600 gets too little weight for a mode of its own; CTGAN's alpha clip at
    # 0.99 (4 sigma) would then decode it about 36 sigma too low
    x = np.random.default_rng(5).normal(0, 1, 600).round(2)
    x[0] = 40.0
    df = pd.DataFrame({"x": x})
    enc = TabularEncoder(numeric="mode", random_state=0)
    pd.testing.assert_frame_equal(enc.inverse_transform(enc.fit_transform(df)), df)


def test_quantile_decoding_is_exact_at_the_extremes_despite_float32():
    # the min and max encode to +-5.2; float32 moves them just inside, where the steep tail of
    # the quantile map would land short of the extreme value
    x = np.random.default_rng(6).normal(0, 1, 500).round(4)
    x[0], x[1] = 50.0, -50.0
    df = pd.DataFrame({"x": x})
    enc = TabularEncoder(numeric="quantile", random_state=0)
    pd.testing.assert_frame_equal(enc.inverse_transform(enc.fit_transform(df)), df)


def test_minmax_is_the_materials_scaling_to_minus_one_one():
    df = pd.DataFrame({"x": [2.0, 4.0, 6.0, 10.0]})
    X = TabularEncoder(numeric="minmax").fit_transform(df)
    assert np.allclose(X[:, 0], [-1.0, -0.5, 0.0, 1.0])


def test_quantile_maps_to_a_standard_normal_and_keeps_order():
    x = np.random.default_rng(3).exponential(5.0, 400).round(3)
    X = TabularEncoder(numeric="quantile", random_state=0).fit_transform(pd.DataFrame({"x": x}))
    assert abs(X[:, 0].mean()) < 0.1 and abs(X[:, 0].std() - 1) < 0.2
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(X[order, 0]) >= 0)
