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
