import math

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.nets.mlp import MLPDiscriminator
from gankit.objectives import BCEObjective, WassersteinGP, gradient_penalty


class Linear(nn.Module):
    """D(x) = w.x: its input gradient is w everywhere, so the penalty is (|w| - 1)^2."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x, y=None):
        return (x * self.w).sum(dim=1, keepdim=True)


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    penalty = gradient_penalty(Linear([3.0, 4.0]), real, fake, rng=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_gradient_penalty_norm_is_per_packed_output():
    # a PacGAN critic scoring 2 samples at once: gradient over the packed pair has norm sqrt(2)*|w|
    critic = MLPDiscriminator(2, hidden=4, depth=1, pac=2)
    with torch.no_grad():
        for p in critic.parameters():
            p.zero_()
        critic.body[0].weight[0, :] = 1.0      # hidden unit 0 sums the 4 packed inputs
        critic.body[0].bias[0] = 100.0         # far into LeakyReLU's linear part
        critic.head.weight[0, 0] = 1.0
    penalty = gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2),
                               rng=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx((2.0 - 1.0) ** 2, rel=1e-5)   # ||(1,1,1,1)|| = 2


def test_gradient_penalty_flows_into_critic_weights():
    critic = Linear([3.0, 4.0])
    gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2)).backward()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0


def test_wasserstein_losses_have_the_right_signs():
    critic = Linear([1.0, 0.0])
    real, fake = torch.full((4, 2), 2.0), torch.zeros(4, 2)
    loss, logs = WassersteinGP(gp_lambda=0.0).discriminator_loss(critic, real, fake)
    assert loss.item() == pytest.approx(-2.0) and logs["wasserstein"].item() == pytest.approx(2.0)
    g_loss, _ = WassersteinGP().generator_loss(critic, real)
    assert g_loss.item() == pytest.approx(-2.0)


def test_bce_losses_match_their_definitions():
    critic = Linear([0.0, 0.0])      # D = sigmoid(0) = 1/2 everywhere
    x = torch.randn(4, 2)
    d_loss, _ = BCEObjective().discriminator_loss(critic, x, x)
    assert d_loss.item() == pytest.approx(2 * math.log(2))
    ns, _ = BCEObjective("non-saturating").generator_loss(critic, x)
    mm, _ = BCEObjective("minimax").generator_loss(critic, x)
    assert ns.item() == pytest.approx(math.log(2)) and mm.item() == pytest.approx(-math.log(2))
    smoothed, _ = BCEObjective(label_smoothing=0.9).discriminator_loss(critic, x, x)
    assert smoothed.item() == pytest.approx(2 * math.log(2))   # at D=1/2 the target does not matter


def test_bad_objective_settings():
    with pytest.raises(GankitError, match="unknown generator loss"):
        BCEObjective("wasserstein")
    with pytest.raises(GankitError, match="label smoothing"):
        BCEObjective(label_smoothing=0.3)
    with pytest.raises(GankitError, match=">= 0"):
        WassersteinGP(gp_lambda=-1)


# ---------------------------------------------------------------- MAD-GAN, EBGAN, BEGAN

from gankit.nets.mlp import MLPAutoencoderDiscriminator  # noqa: E402
from gankit.objectives import (BoundaryEquilibrium, EnergyMargin, MultiGeneratorBCE,  # noqa: E402
                               pull_away_term)


class FixedLogits(nn.Module):
    """A discriminator that returns given logits, whatever it is shown."""

    def __init__(self, real_logits, fake_logits):
        super().__init__()
        self.logits = {"real": real_logits, "fake": fake_logits}

    def forward(self, x, y=None):
        return self.logits["real" if x.sum() > 0 else "fake"]


def test_multi_generator_discriminator_targets_follow_the_row_layout():
    # 3 generators; fake row r comes from generator r % 3, and "real" is the last class
    confident = 20.0
    real_logits = torch.zeros(6, 4)
    real_logits[:, 3] = confident
    right = torch.zeros(6, 4)
    right[torch.arange(6), torch.arange(6) % 3] = confident
    wrong = torch.zeros(6, 4)
    wrong[torch.arange(6), (torch.arange(6) + 1) % 3] = confident
    objective = MultiGeneratorBCE()
    ones, minus = torch.ones(6, 2), -torch.ones(6, 2)
    good, _ = objective.discriminator_loss(FixedLogits(real_logits, right), ones, minus)
    bad, _ = objective.discriminator_loss(FixedLogits(real_logits, wrong), ones, minus)
    assert good.item() < 1e-6 < 10 < bad.item()
    # a generator that the discriminator calls real has (almost) no loss
    fooled, _ = objective.generator_loss(lambda x, y=None: real_logits, minus)
    caught, _ = objective.generator_loss(lambda x, y=None: right, minus)
    assert fooled.item() < 1e-6 < 10 < caught.item()


def test_pull_away_term_is_zero_for_orthogonal_codes_and_one_for_parallel_codes():
    assert pull_away_term(torch.eye(4)).item() == pytest.approx(0.0, abs=1e-7)
    parallel = torch.tensor([[1.0, 2.0], [2.0, 4.0], [-3.0, -6.0]])
    assert pull_away_term(parallel).item() == pytest.approx(1.0, rel=1e-6)


def test_energy_margin_losses():
    energies = {"real": torch.full((4, 1), 0.2), "fake": torch.tensor([[0.5], [3.0], [0.0], [1.0]])}
    objective = EnergyMargin(margin=1.0)
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
    plain, _ = EnergyMargin(1.0).generator_loss(discriminator, fake)
    with_pt, logs = EnergyMargin(1.0, pull_away=0.5).generator_loss(discriminator, fake)
    assert with_pt.item() == pytest.approx(plain.item() + 0.5 * pull_away_term(codes).item(), rel=1e-6)
    assert logs["pull_away"].item() > 0


@pytest.mark.parametrize("bad", [{"margin": 0.0}, {"margin": -1.0}, {"margin": 1.0, "pull_away": -0.1}])
def test_energy_margin_rejects_bad_settings(bad):
    with pytest.raises(GankitError):
        EnergyMargin(**bad)


def test_boundary_equilibrium_k_moves_toward_balance_and_stays_in_unit_interval():
    discriminator = MLPAutoencoderDiscriminator(2, hidden=8, depth=2, code_dim=1)
    objective = BoundaryEquilibrium(gamma=0.5, lambda_k=0.3)
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
    loss, _ = BoundaryEquilibrium().discriminator_loss(discriminator, real, fake)
    expected = discriminator(real).mean() - 0.25 * discriminator(fake).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
