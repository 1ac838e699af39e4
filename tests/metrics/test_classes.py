import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics import class_distribution, per_class_accuracy


def test_uniform_and_single_class_are_the_entropy_bounds():
    uniform = class_distribution(np.arange(100) % 10, 10)
    assert uniform["counts"] == [10] * 10
    assert uniform["entropy"] == pytest.approx(np.log(10))
    assert uniform["normalised_entropy"] == pytest.approx(1.0)
    single = class_distribution(np.full(50, 3), 10)
    assert single["entropy"] == 0.0 and single["normalised_entropy"] == 0.0
    assert single["proportions"][3] == 1.0


def test_hand_computed_entropy_and_random_bounds():
    out = class_distribution([0, 0, 1, 2], 4)  # p = 1/2, 1/4, 1/4, 0
    expected = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))
    assert out["entropy"] == pytest.approx(expected)
    assert out["normalised_entropy"] == pytest.approx(expected / np.log(4))
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = class_distribution(rng.integers(0, 7, size=rng.integers(1, 40)), 7)["normalised_entropy"]
        assert 0.0 <= v <= 1.0


def test_logits_use_argmax_and_tensors_work():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 1.0, 0.0]])
    assert class_distribution(logits, 3)["counts"] == [1, 2, 1]


def test_per_class_accuracy():
    out = per_class_accuracy(predicted=[0, 1, 1, 2, 0, 2], intended=[0, 1, 2, 2, 1, 2], num_classes=4)
    assert out["per_class"][:3] == pytest.approx([1.0, 0.5, 2 / 3])
    assert np.isnan(out["per_class"][3])
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["counts"] == [1, 2, 3, 0]


def test_bad_input():
    with pytest.raises(GankitError, match="outside 0..2"):
        class_distribution([0, 3], 3)
    with pytest.raises(GankitError, match="columns"):
        class_distribution(np.zeros((4, 5)), 3)
    with pytest.raises(GankitError, match="non-integer"):
        class_distribution([0.5, 1.0], 3)
    with pytest.raises(GankitError, match="one intended label"):
        per_class_accuracy([0, 1], [0], 2)
