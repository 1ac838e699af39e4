import pytest
import torch

from gankit.errors import GankitError
from gankit.gans.wgan_gp import WGANGP, gradient_penalty
from gankit.nets.mlp import MLPDiscriminator

from gans.critics import Linear


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


def test_gradient_penalty_per_member_is_each_members_penalty():
    # an ensemble's penalty (leading member dimension, weights given) is each member's own
    from gankit.gans import mean_per_member
    real, fake = torch.randn(3, 16, 2), torch.randn(3, 16, 2)
    weights = torch.rand(3, 16, 1)

    def critic(x, y=None):       # member e scores with w_e
        return (x * torch.tensor([[[3.0, 4.0]], [[0.6, 0.8]], [[1.0, 0.0]]])).sum(-1, keepdim=True)

    penalty = gradient_penalty(critic, real, fake, weights=weights, reduce=mean_per_member)
    assert penalty.shape == (3,)
    assert penalty.tolist() == pytest.approx([16.0, 0.0, 0.0], abs=1e-6)


def test_wasserstein_losses_have_the_right_signs():
    critic = Linear([1.0, 0.0])
    real, fake = torch.full((4, 2), 2.0), torch.zeros(4, 2)
    loss, logs = WGANGP(gp_lambda=0.0).discriminator_loss(critic, real, fake)
    assert loss.item() == pytest.approx(-2.0) and logs["wasserstein"].item() == pytest.approx(2.0)
    g_loss, _ = WGANGP().generator_loss(critic, real)
    assert g_loss.item() == pytest.approx(-2.0)


def test_negative_penalty_weight_is_refused():
    with pytest.raises(GankitError, match=">= 0"):
        WGANGP(gp_lambda=-1)


def test_zero_centred_penalty_of_a_linear_critic_is_its_squared_slope():
    # gp_center=0 penalises any slope: (|w| - 0)^2 = 25 for w = (3, 4)
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    variant = WGANGP(gp_lambda=1.0, gp_center=0.0)
    _, logs = variant.discriminator_loss(Linear([3.0, 4.0]), real, fake,
                                         ctx=None)
    assert logs["gradient_penalty"].item() == pytest.approx(25.0)
    _, logs = WGANGP(gp_lambda=1.0).discriminator_loss(Linear([3.0, 4.0]), real, fake)
    assert logs["gradient_penalty"].item() == pytest.approx(16.0)


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_bad_penalty_centre_is_refused(bad):
    with pytest.raises(GankitError, match="gp-center"):
        WGANGP(gp_center=bad)


def test_conditional_points_default_to_the_recipe_and_everything_else_does_not():
    from gankit.config import DEFAULT_STEPS, TrainConfig
    from gankit.gans.wgan_gp import POINTS_RECIPE, POINTS_RECIPE_STEPS, SCALED_POINTS_STEPS

    recipe = TrainConfig(data="blobs8", model="wgan-gp", conditional=True).resolve("points")
    assert {k: getattr(recipe, k) for k in POINTS_RECIPE} == POINTS_RECIPE
    # the rest of the points defaults stay (the recipe replaces only its own settings)
    assert (recipe.gp_lambda, recipe.n_critic, recipe.lr_decay) == (1.0, 2, "linear")
    # each class at its own scale, for the scaled budget, unless the user gives one in epochs
    assert recipe.class_scaling is True and recipe.total_steps(10_000) == SCALED_POINTS_STEPS
    # without class scaling, the recipe's own (longer) budget
    unscaled = TrainConfig(data="blobs8", model="wgan-gp", conditional=True,
                           class_scaling=False).resolve("points")
    assert unscaled.class_scaling is False and unscaled.total_steps(10_000) == POINTS_RECIPE_STEPS
    assert {k: getattr(unscaled, k) for k in POINTS_RECIPE} == POINTS_RECIPE
    by_epochs = TrainConfig(data="blobs8", model="wgan-gp", conditional=True, epochs=5).resolve("points")
    assert by_epochs.steps is None and by_epochs.total_steps(10_000) == round(5 * 10_000 / 256 / 2)
    plain = TrainConfig(data="blobs8", model="wgan-gp").resolve("points")
    assert (plain.label_input, plain.gp_center, plain.ema, plain.lr_g) == ("embedding", 1.0, 0.0, 1e-3)
    assert plain.total_steps(10_000) == DEFAULT_STEPS
    images = TrainConfig(data="digits", model="wgan-gp", conditional=True).resolve("images")
    assert (images.label_input, images.gp_center, images.ema, images.lr_g) == \
        ("embedding", 1.0, 0.0, 5e-4)
    other = TrainConfig(data="blobs8", model="gan", conditional=True).resolve("points")
    assert (other.label_input, other.gp_center, other.ema) == ("embedding", None, 0.0)


def test_a_setting_the_user_gives_wins_over_the_recipe_and_resolving_again_keeps_it():
    from gankit.config import TrainConfig

    chosen = TrainConfig(data="blobs8", model="wgan-gp", conditional=True, ema=0,
                         label_input="embedding", lr_g=1e-3).resolve("points")
    assert (chosen.ema, chosen.label_input, chosen.lr_g, chosen.lr_d) == (0.0, "embedding", 1e-3, 3e-4)
    # a resumed run resolves its recorded settings again: the same config, ema still off
    again = TrainConfig.from_dict(chosen.to_dict()).resolve("points")
    assert again == chosen
