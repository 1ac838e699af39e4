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


def test_autoencoder_energy_is_the_reconstruction_error():
    import torch

    from gankit.nets.mlp import MLPAutoencoderDiscriminator

    torch.manual_seed(0)
    x = torch.randn(5, 3)
    for kind, error in (("l2", lambda d: d.square()), ("l1", lambda d: d.abs())):
        ae = MLPAutoencoderDiscriminator(3, hidden=8, depth=3, code_dim=2, energy=kind)
        code = ae.encoder(x)
        expected = error(ae.decoder(code) - x).mean(dim=1, keepdim=True)
        energy, got_code = ae.energy_and_code(x)
        torch.testing.assert_close(energy, expected)
        torch.testing.assert_close(got_code, code)
        assert ae(x).shape == (5, 1)
        assert ae.equilibrium_k.item() == 0.0          # BEGAN's k_0, carried in the state dict
        assert "equilibrium_k" in ae.state_dict()


def test_conditional_autoencoder_needs_labels():
    import pytest
    import torch

    from gankit.errors import GankitError
    from gankit.nets.mlp import MLPAutoencoderDiscriminator

    ae = MLPAutoencoderDiscriminator(2, hidden=8, depth=2, code_dim=1, num_classes=3)
    assert ae(torch.randn(4, 2), torch.tensor([0, 1, 2, 0])).shape == (4, 1)
    with pytest.raises(GankitError, match="labels"):
        ae(torch.randn(4, 2))
