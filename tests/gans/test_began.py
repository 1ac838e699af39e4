import pytest
import torch

from gankit.gans.began import BEGAN
from gankit.nets.mlp import MLPAutoencoderDiscriminator


def test_boundary_equilibrium_k_moves_toward_balance_and_stays_in_unit_interval():
    discriminator = MLPAutoencoderDiscriminator(2, hidden=8, depth=2, code_dim=1)
    objective = BEGAN(gamma=0.5, lambda_k=0.3)
    # fakes reconstructed better than gamma * real: k grows, and is clipped at 1
    for _ in range(10):
        logs = objective.end_step(discriminator, {"energy_real": torch.tensor(1.0),
                                                  "g_loss": torch.tensor(0.1)})
        assert 0.0 <= discriminator.equilibrium_k.item() <= 1.0
    assert discriminator.equilibrium_k.item() == 1.0
    assert logs["convergence"].item() == pytest.approx(1.0 + abs(0.5 - 0.1))
    for _ in range(10):
        objective.end_step(discriminator, {"energy_real": torch.tensor(0.1),
                                           "g_loss": torch.tensor(2.0)})
    assert discriminator.equilibrium_k.item() == 0.0


def test_boundary_equilibrium_discriminator_loss_weights_fakes_by_k():
    discriminator = MLPAutoencoderDiscriminator(2, hidden=8, depth=2, code_dim=1)
    discriminator.equilibrium_k.fill_(0.25)
    real, fake = torch.randn(8, 2), torch.randn(8, 2) * 3
    loss, _ = BEGAN().discriminator_loss(discriminator, real, fake)
    expected = discriminator(real).mean() - 0.25 * discriminator(fake).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
