import pytest
import torch

from gankit.errors import GankitError
from gankit.gans.ebgan import EBGAN, pull_away_term
from gankit.nets.mlp import MLPAutoencoderDiscriminator

from gans.critics import FixedLogits


def test_pull_away_term_is_zero_for_orthogonal_codes_and_one_for_parallel_codes():
    assert pull_away_term(torch.eye(4)).item() == pytest.approx(0.0, abs=1e-7)
    parallel = torch.tensor([[1.0, 2.0], [2.0, 4.0], [-3.0, -6.0]])
    assert pull_away_term(parallel).item() == pytest.approx(1.0, rel=1e-6)


def test_energy_margin_losses():
    energies = {"real": torch.full((4, 1), 0.2), "fake": torch.tensor([[0.5], [3.0], [0.0], [1.0]])}
    objective = EBGAN(margin=1.0)
    loss, logs = objective.discriminator_loss(FixedLogits(energies["real"], energies["fake"]),
                                              torch.ones(4, 2), -torch.ones(4, 2))
    # D(x) + mean(max(0, m - D(G(z)))) = 0.2 + (0.5 + 0 + 1 + 0) / 4
    assert loss.item() == pytest.approx(0.2 + 1.5 / 4)
    g_loss, _ = objective.generator_loss(lambda x, y=None: energies["fake"], -torch.ones(4, 2))
    assert g_loss.item() == pytest.approx(4.5 / 4)


def test_energy_margin_pull_away_uses_the_autoencoder_codes():
    torch.manual_seed(0)
    discriminator = MLPAutoencoderDiscriminator(2, hidden=8, depth=2, code_dim=3)
    fake = torch.randn(16, 2)
    energy, codes = discriminator.energy_and_code(fake)
    plain, _ = EBGAN(1.0).generator_loss(discriminator, fake)
    with_pt, logs = EBGAN(1.0, pull_away=0.5).generator_loss(discriminator, fake)
    assert with_pt.item() == pytest.approx(plain.item() + 0.5 * pull_away_term(codes).item(), rel=1e-6)
    assert logs["pull_away"].item() > 0


@pytest.mark.parametrize("bad", [{"margin": 0.0}, {"margin": -1.0}, {"margin": 1.0, "pull_away": -0.1}])
def test_energy_margin_rejects_bad_settings(bad):
    with pytest.raises(GankitError):
        EBGAN(**bad)
