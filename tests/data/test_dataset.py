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
