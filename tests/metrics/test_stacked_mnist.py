"""Stacked MNIST modes and KL: the statistics by hand, the digit judge on real and collapsed
stacks, the registry entry (aliases, sample counts, one-line reasons) and `gankit eval` on a run."""
import json
import math

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.data import load_data
from gankit.data.dataset import Dataset
from gankit.data.stacked_mnist import load_mnist_digits, stack_digits, triples
from gankit.errors import GankitError
from gankit.metrics.registry import (METRICS, REQUIRED_PROTOCOL, get_metric, resolve_names,
                                     sample_count, unmet)
from gankit.metrics.stacked_mnist import stacked_mnist_modes, triple_statistics
from support import SHARED_DATA, tiny

MNIST = SHARED_DATA / "mnist"
METRIC = METRICS["stacked_mnist_modes"]


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    """The 32x32 digit judge, trained once per session: the cache folder is shared with
    tests/data/test_stacked_mnist.py."""
    if not MNIST.is_dir():
        pytest.skip(f"{MNIST} is absent (the shared data folder sits beside the repository)")
    from gankit.metrics.stacked_mnist import digit_judge

    cache = tmp_path_factory.getbasetemp() / "stacked-mnist-judges"
    cache.mkdir(exist_ok=True)
    return digit_judge(MNIST, image_size=32, cache_dir=cache)


def test_modes_and_kl_by_hand():
    d = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0], [9, 9, 9]])
    out = triple_statistics(d)
    assert out["modes"] == 3 and out["n"] == 4
    assert out["counts"][123] == 2 and out["counts"][0] == 1 and out["counts"][999] == 1
    p = np.array([0.5, 0.25, 0.25])
    assert out["kl"] == pytest.approx(math.log(1000) + (p * np.log(p)).sum())   # log K - H(p)
    assert triple_statistics(np.array([[4, 4, 4]] * 7))["kl"] == pytest.approx(math.log(1000))
    every = np.stack(np.unravel_index(np.arange(1000), (10, 10, 10)), 1)
    assert triple_statistics(every) == {"modes": 1000, "kl": 0.0, "counts": [1] * 1000, "n": 1000}
    with pytest.raises(GankitError, match="integer digits 0..9"):
        triple_statistics(np.array([[1, 2, 10]]))
    with pytest.raises(GankitError, match=r"shape \(n, 3\)"):
        triple_statistics(np.array([1, 2, 3]))


def test_every_triple_appears_at_the_published_sample_count(shared_data):
    # the true triples of 26,000 real stacks (no judge): all 1,000 appear (a given one is missed
    # with probability ~5e-12) and KL is its floor: 0.019 of sampling noise ((K-1)/2n) plus
    # 0.005 for the test set's uneven digits (892 fives, 1,135 ones), 0.0246 +- 0.0011 simulated
    stacks = load_data("stacked-mnist", n=26_000, seed=0, image_size=None)
    out = triple_statistics(triples(stacks.y))
    assert out["modes"] == 1000
    assert out["kl"] == pytest.approx(0.0246, abs=0.004)


def test_real_stacks_read_by_the_judge_cover_the_modes_with_kl_near_0(judge):
    # 10,000 stacks keep this fast; with a perfect reader the expected values are 999.93 modes
    # and KL 0.056 +- 0.0025 (simulated from MNIST's test-set digit frequencies)
    stacks = stack_digits(load_mnist_digits(MNIST, image_size=32), 10_000, seed=5)
    seen = []
    out = stacked_mnist_modes(stacks.x, judge, progress=lambda done, total: seen.append(done))
    assert out["modes"] >= 999 and out["n"] == 10_000
    assert out["kl"] == pytest.approx(0.056, abs=0.01)
    assert seen[-1] == 10_000 and len(seen) == 5


def test_a_generator_repeating_one_digit_per_stack_gives_10_modes(judge):
    # the stacks (d, d, d): one real digit image, drawn with d uniform, in all three channels
    digits = load_mnist_digits(MNIST, image_size=32)
    rng = np.random.default_rng(0)
    labels = digits.y.numpy()
    picks = [rng.choice(np.flatnonzero(labels == d)) for d in rng.integers(0, 10, 2000)]
    collapsed = digits.x[torch.as_tensor(picks)].expand(-1, 3, -1, -1)
    out = stacked_mnist_modes(collapsed, judge)
    assert out["modes"] == 10
    assert sum(out["counts"][111 * d] for d in range(10)) == 2000
    # log(1000/10); multinomial noise over the 10 triples adds ~9/(2n) = 0.002
    assert out["kl"] == pytest.approx(math.log(100), abs=0.02)


def test_bad_samples_get_one_line_errors():
    with pytest.raises(GankitError, match="3-channel stacks .* got 1-channel images"):
        stacked_mnist_modes(torch.zeros(1000, 1, 32, 32), judge=None)
    with pytest.raises(GankitError, match=r"got shape \(1000, 3072\)"):
        stacked_mnist_modes(np.zeros((1000, 3072)), judge=None)
    with pytest.raises(GankitError, match="at least 1,000 generated samples .* got 999"):
        stacked_mnist_modes(torch.zeros(999, 3, 32, 32), judge=None)
    bad = torch.zeros(1000, 3, 32, 32)
    bad[7, 1, 3, 3] = float("nan")
    with pytest.raises(GankitError, match="generated stacks contains 1 NaN"):
        stacked_mnist_modes(bad, judge=None)


def test_registry_entry_aliases_and_sample_counts():
    assert get_metric("stacked-mnist") is METRIC and get_metric("stacked_mnist") is METRIC
    assert resolve_names(["stacked-mnist", "fid", "stacked_mnist"]) == ["stacked_mnist_modes", "fid"]
    with pytest.raises(GankitError, match=r"unknown metric\(s\) \['stacked'\]"):
        resolve_names(["stacked"])
    assert sample_count(["stacked_mnist_modes", "fid"], None, 2000) == 26_000
    assert sample_count(["fid"], None, 2000) == 2000
    assert sample_count(["stacked_mnist_modes"], 5000, 2000) == 5000
    with pytest.raises(GankitError, match="needs at least 1,000 generated samples, got -n 500; "
                                          "drop -n for its default of 26,000"):
        sample_count(["stacked_mnist_modes"], 500, 2000)
    grey = Dataset(x=torch.zeros(4, 1, 32, 32), y=None, kind="images", name="mnist")
    reason = unmet(METRIC, grey)
    assert "reads 3-channel stacks" in reason and "'mnist' has 1-channel images" in reason
    assert "\n" not in reason
    assert unmet(METRIC, Dataset(x=torch.zeros(4, 3, 28, 28), y=None, kind="images", name="s")) is None


@pytest.fixture(scope="module")
def stacked_run(tmp_path_factory):
    if not MNIST.is_dir():
        pytest.skip(f"{MNIST} is absent (the shared data folder sits beside the repository)")
    from gankit.training import train_run

    out = tmp_path_factory.mktemp("stacked") / "run"
    train_run(tiny(data=f"stacked-mnist:{MNIST}", n_samples=1200, conditional=True, steps=2,
                   width=8, batch_size=16, log_every=1), out)
    return out


def test_eval_on_a_stacked_mnist_run_records_the_protocol(stacked_run, judge, tmp_path_factory):
    from gankit.evaluate import Progress, run_evaluation

    notes = []
    progress = Progress(enabled=False)
    progress.note = notes.append
    cache = tmp_path_factory.getbasetemp() / "stacked-mnist-judges"
    out = run_evaluation(stacked_run, metrics=["stacked-mnist"], features="raw", n=1000,
                         pictures=False, cache_dir=cache, progress=progress)
    assert list(out) == ["stacked_mnist_modes"] and 1 <= out["stacked_mnist_modes"]["modes"] <= 1000
    entry = json.loads((stacked_run / "metrics.json").read_text())["results"]["stacked_mnist_modes"]
    protocol = entry["protocol"]
    assert set(protocol) == set(REQUIRED_PROTOCOL) | {"seed"} | set(METRIC.protocol_fields)
    assert protocol["n_fake"] == 1000 and protocol["n_real"] == 0
    assert protocol["judge_accuracy"] == pytest.approx(judge.held_out_accuracy)
    assert "8,000 of the 10,000 MNIST digits" in protocol["judge_split"]
    assert "60k" in protocol["judge_note"] and protocol["published_samples"] == 26_000
    assert any("the published protocol reads 26,000" in note for note in notes)


def test_eval_refuses_a_grey_run_and_too_few_samples_in_one_line(stacked_run, tmp_path, capsys):
    from gankit.training import train_run

    grey = tmp_path / "grey"
    train_run(tiny(data="digits", steps=1, width=8, batch_size=16, log_every=1), grey)
    capsys.readouterr()
    for run, args, message in (
            (grey, ["--metrics", "stacked_mnist"], "'digits' has 1-channel images"),
            (stacked_run, ["--metrics", "stacked-mnist", "-n", "500"],
             "needs at least 1,000 generated samples, got -n 500")):
        assert main(["eval", str(run), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
