import pytest
import torch

from gankit.errors import GankitError
from gankit.nets.mlp import MLPDiscriminator, MLPGenerator


def test_generator_interface_and_conditioning():
    g = MLPGenerator(latent_dim=4, out_features=3, hidden=16, num_classes=5)
    z = torch.randn(6, 4)
    a, b = g(z, torch.zeros(6, dtype=torch.long)), g(z, torch.full((6,), 4))
    assert a.shape == (6, 3) and g.sample_shape == (3,) and g.latent_dim == 4
    assert not torch.allclose(a, b)
    with pytest.raises(GankitError, match="pass labels"):
        g(z)


def test_discriminator_with_pac_and_minibatch():
    d = MLPDiscriminator(2, hidden=16, pac=4, minibatch_features=5)
    assert d(torch.randn(8, 2)).shape == (2, 1)
    assert d.minibatch is not None and d.head.in_features == 16 + 5
    cd = MLPDiscriminator(2, hidden=16, num_classes=3, pac=2)
    assert cd(torch.randn(4, 2), torch.tensor([0, 1, 2, 0])).shape == (2, 1)
