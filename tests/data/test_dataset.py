import numpy as np
import pytest
import torch

from gankit.data.dataset import Dataset
from gankit.errors import GankitError


def test_split_is_stratified_and_seeded():
    y = torch.tensor([0] * 80 + [1] * 20)
    data = Dataset(x=torch.randn(100, 2), y=y, kind="points", name="t")
    train, held = data.split(0.25, seed=1)
    assert len(train) + len(held) == 100
    assert torch.bincount(held.y).tolist() == [20, 5]
    assert data.split(0.25, seed=1)[1].fingerprint == held.fingerprint
    assert data.split(0.25, seed=2)[1].fingerprint != held.fingerprint


def test_bad_labels_and_shapes():
    with pytest.raises(GankitError, match="one label per sample"):
        Dataset(x=torch.randn(4, 2), y=torch.tensor([0, 1]), kind="points", name="t")
    with pytest.raises(GankitError, match="expected \\(N, features\\)"):
        Dataset(x=torch.randn(4), y=None, kind="points", name="t")
    with pytest.raises(GankitError, match="not integers"):
        Dataset(x=torch.randn(2, 2), y=np.array([0.5, 1.0]), kind="points", name="t")


def test_split_refuses_too_few_training_rows_saying_why():
    two = Dataset(x=torch.randn(2, 1), y=None, kind="points", name="two.csv")
    with pytest.raises(GankitError, match=r"'two\.csv' is too small to split: 2 rows, holding out 20% "
                       r"leaves 1 to train on and 1 held out.*at least 2.*use at least 3 rows"):
        two.split(0.2)
    ten = Dataset(x=torch.randn(10, 1), y=None, kind="points", name="ten")
    with pytest.raises(GankitError, match="leaves 1 to train on.*smaller --held-out"):
        ten.split(0.9)
    train, held = ten.split(0.8)
    assert (len(train), len(held)) == (2, 8)


def test_split_keeps_single_row_classes_for_training():
    data = Dataset(x=torch.randn(6, 2), y=torch.tensor([0, 0, 0, 0, 0, 1]), kind="points", name="t")
    train, held = data.split(0.6)  # class 1's one row would round to held out
    assert train.y.tolist().count(1) == 1 and 1 not in held.y.tolist()
    singles = Dataset(x=torch.randn(3, 2), y=torch.tensor([0, 1, 2]), kind="points", name="s")
    with pytest.raises(GankitError, match="leaves 3 to train on and 0 held out.*needs 2 rows"):
        singles.split(0.2)
