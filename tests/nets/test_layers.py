import pytest
import torch

from gankit.errors import GankitError
from gankit.nets.layers import MinibatchDiscrimination, Standardizer, pack


def test_pack_groups_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    assert pack(x, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    with pytest.raises(GankitError, match="not a multiple of pac=4"):
        pack(x, 4)


def test_minibatch_discrimination_sees_collapse():
    layer = MinibatchDiscrimination(4, out_features=3, kernel_dim=2)
    collapsed = torch.ones(5, 4)
    spread = torch.randn(5, 4) * 10
    out_collapsed, out_spread = layer(collapsed), layer(spread)
    assert out_collapsed.shape == (5, 7)
    assert torch.equal(out_collapsed[:, :4], collapsed)
    # identical samples: each is at distance 0 from the 4 others -> closeness exactly 4
    assert torch.allclose(out_collapsed[:, 4:], torch.full((5, 3), 4.0))
    assert (out_spread[:, 4:] < 4.0).all()


def test_standardizer_round_trip():
    x = torch.randn(100, 3) * torch.tensor([1.0, 10.0, 0.1]) + 5
    scaler = Standardizer(3).fit(x)
    z = scaler(x)
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(scaler.inverse(z), x, atol=1e-4)


def test_minibatch_groups_compare_only_within_a_group():
    layer = MinibatchDiscrimination(2, out_features=1, kernel_dim=1, group_size=2)
    with torch.no_grad():
        layer.T.fill_(1.0)
    # groups (0, 0) and (5, 5): each sample sees one identical partner -> closeness 1
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [5.0, 0.0]])
    assert torch.allclose(layer(x)[:, 2], torch.ones(4))


def test_onehot_labels_are_appended_without_weights():
    from gankit.nets.layers import LabelConcat
    layer = LabelConcat(3, onehot=True)
    out = layer(torch.zeros(2, 2), torch.tensor([0, 2]))
    assert out.tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]
    assert not list(layer.parameters()) and layer.embed_dim == 3
    with pytest.raises(GankitError, match="drop --embed-dim"):
        LabelConcat(3, embed_dim=5, onehot=True)
