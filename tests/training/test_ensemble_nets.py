"""The stacked layers of a vectorised ensemble compute each member's own layer."""
import torch
from torch import nn

from gankit.training.ensemble_nets import EnsembleLinear

def test_ensemble_linear_is_per_member_linear():
    torch.manual_seed(0)
    layers = [nn.Linear(5, 3) for _ in range(4)]
    stacked = EnsembleLinear.stack(layers)
    x = torch.randn(4, 2, 7, 5)
    out = stacked(x)
    for e, layer in enumerate(layers):
        assert torch.allclose(out[e], layer(x[e]), atol=1e-6)
    # padding: member columns placed inside a wider zero-padded input
    columns = [torch.tensor([0, 1, 2, 3, 4])] * 4
    wide = EnsembleLinear.stack(layers, columns, in_features=8)
    padded = torch.cat([x, torch.zeros(4, 2, 7, 3)], dim=-1)
    assert torch.allclose(wide(padded), out, atol=1e-6)
    target = nn.Linear(5, 3)
    wide.copy_member_to(2, target, columns[2])
    assert torch.equal(target.weight, layers[2].weight)
