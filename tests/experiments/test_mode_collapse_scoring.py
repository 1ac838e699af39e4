"""Scoring a run: the fit inside each mode beside the standard mode metrics."""
import numpy as np

from gankit.data.toy import load_toy
from gankit.experiments.mode_collapse_scoring import score_module


def test_fit_columns_see_a_collapse_inside_each_mode():
    train, held_out = load_toy("blobs4", n=4000, seed=0), load_toy("blobs4", n=2500, seed=1)
    centres = train.centers[np.arange(10000) % 4]
    noise = np.random.default_rng(0).standard_normal((10000, 2))
    fitted, _ = score_module(None, train, 0, held_out, samples=centres + train.mode_std * noise)
    collapsed, _ = score_module(None, train, 0, held_out, samples=centres + 1e-3)
    # both pass the material's and PacGAN's metrics: every mode, (nearly) all high quality
    assert fitted["modes_captured"] == collapsed["modes_captured"] == 4
    assert collapsed["hq"] == 1.0 and fitted["hq"] > 0.98
    # the fit columns tell them apart
    assert 0.9 < fitted["spread_mean"] < 1.1 and collapsed["spread_mean"] < 0.01
    assert fitted["c2st"] < 0.6 and collapsed["c2st"] > 0.9 and 0.4 < fitted["c2st_floor"] < 0.6
