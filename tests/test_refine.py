"""Discriminator-driven sampling on cases with a known answer."""
import math

import numpy as np
import pytest
import torch

import gankit
from gankit.data.toy import load_toy
from gankit.errors import GankitError
from gankit.refine import metropolis_hastings, rejection_sample

ON_MODE = 0.7                # the proposal: 70% from the data's N(0, 1), 30% uniform on [5, 10]


def _propose(rng):
    def propose(m, labels=None):
        on = torch.rand(m, generator=rng) < ON_MODE
        x = torch.where(on, torch.randn(m, generator=rng), 5 + 5 * torch.rand(m, generator=rng))
        return x[:, None], labels
    return propose


def _optimal_logit(x, labels=None):
    """log p_data / p_g, the logit of the optimal discriminator, for the proposal above."""
    x = x[:, 0].double()
    data = torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    uniform = ((x >= 5) & (x <= 10)).double() / 5
    return torch.log(data + 1e-300) - torch.log(ON_MODE * data + (1 - ON_MODE) * uniform)


def _off_mode_share(samples):
    return float((samples[:, 0] > 4).float().mean())


def test_rejection_sampling_removes_the_off_mode_mass_at_the_expected_cost():
    rng = torch.Generator().manual_seed(0)
    samples, _, proposals, kept = rejection_sample(_propose(rng), _optimal_logit, 5000, rng=rng)
    assert _off_mode_share(_propose(torch.Generator().manual_seed(1))(20000)[0]) == pytest.approx(0.3, abs=0.01)
    assert _off_mode_share(samples) < 0.002
    # with the optimal discriminator DRS is exact rejection sampling: on-mode proposals are all
    # kept, so 1/0.7 proposals per kept sample, and the kept ones are N(0, 1)
    assert proposals / 5000 == pytest.approx(1 / ON_MODE, rel=0.1) and kept == 5000
    assert float(samples.mean()) == pytest.approx(0.0, abs=0.05)
    assert float(samples.std()) == pytest.approx(1.0, abs=0.05)


def test_metropolis_hastings_chains_leave_the_off_mode_mass():
    rng = torch.Generator().manual_seed(0)
    samples, _, proposals, moves = metropolis_hastings(_propose(rng), _optimal_logit, 5000, steps=20, rng=rng)
    # a chain stuck off the modes after 19 moves: 0.3 * 0.3^19, nothing
    assert _off_mode_share(samples) < 0.002 and proposals == 5000 * 20
    # on-mode proposals (70%) are always taken from an on-mode state: most moves are accepted
    assert 0.6 < moves / proposals < 0.8
    assert float(samples.std()) == pytest.approx(1.0, abs=0.05)


def test_with_a_generator_equal_to_the_data_everything_is_kept():
    rng = torch.Generator().manual_seed(0)

    def propose(m, labels=None):
        return torch.randn(m, 1, generator=rng), labels

    def no_preference(x, labels=None):
        return torch.zeros(len(x), dtype=torch.float64)

    _, _, proposals, _ = rejection_sample(propose, no_preference, 4000, rng=rng)
    assert 4000 / proposals > 0.99                # everything kept: acceptance ~1
    samples, _, proposals, moves = metropolis_hastings(propose, no_preference, 1000, steps=5, rng=rng)
    assert moves == proposals                  # every move accepted: acceptance 1
    assert float(samples.std()) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("method", ["drs", "mh"])
def test_refinement_of_a_trained_model_through_the_api(method):
    data = load_toy("ring8", n=2000, seed=0)
    held_out = load_toy("ring8", n=1000, seed=1)
    gan = gankit.GAN(model="gan", steps=150, hidden=32, batch_size=64, random_state=0)
    gan.fit(data.x.numpy())
    samples = gan.sample(400, refine=method, real=held_out.x.numpy())
    assert samples.shape == (400, 2) and np.all(np.isfinite(samples))
    stats = gan.refinement_
    assert stats.method == method and stats.kept == 400 and stats.proposals >= 400
    assert 0.5 <= stats.calibration["held_out_accuracy"] <= 1.0
    with pytest.raises(GankitError, match="pass real=X_held_out"):
        gan.sample(10, refine=method)
    with pytest.raises(GankitError, match="unknown refinement"):
        gan.sample(10, refine="best", real=held_out.x.numpy())


def test_cli_sample_and_eval_refine(tmp_path, capsys):
    from gankit.cli import main
    run = tmp_path / "run"
    assert main(["train", "--data", "blobs4", "--model", "wgan-gp", "--conditional", "--steps", "60",
                 "--hidden", "32", "--no-progress", "--no-tensorboard", "--out", str(run)]) == 0
    assert main(["sample", str(run), "-n", "200", "--refine", "drs", "--out", str(tmp_path / "s.csv")]) == 0
    assert "drs: kept 200 of" in capsys.readouterr().err
    import pandas as pd
    frame = pd.read_csv(tmp_path / "s.csv")
    assert sorted(frame["label"].value_counts().tolist()) == [50, 50, 50, 50]   # classes kept equal
    assert main(["eval", str(run), "--metrics", "modes", "--refine", "mh", "-n", "400",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "modes@mh" in out
    import json
    recorded = json.loads((run / "metrics.json").read_text())["results"]["modes@mh"]
    assert recorded["protocol"]["refinement"]["method"] == "mh"
