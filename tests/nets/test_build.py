"""The networks of a config: spectral normalisation, PacGAN packing and the discriminator's own
width as discriminator options."""
import pytest
import torch
from torch import nn

from gankit.models import DataSpec
from gankit.training import build_module

from support import tiny


def _largest_singular_value(weight):
    return torch.linalg.matrix_norm(weight.reshape(weight.shape[0], -1), ord=2).item()


def test_spectral_norm_bounds_every_discriminator_layer():
    config = tiny(model="hinge", spectral_norm=True).resolve("points")
    discriminator = build_module(config, DataSpec("points", (2,))).discriminator.train()
    x = torch.randn(64, 2)
    for _ in range(30):                       # power iterations converge as the layer is used
        discriminator(x)
    linears = [m for m in discriminator.modules() if isinstance(m, nn.Linear)]
    assert linears and all(hasattr(m, "parametrizations") for m in linears)
    for layer in linears:
        assert abs(_largest_singular_value(layer.weight) - 1.0) < 1e-3


def test_spectral_norm_on_the_conv_discriminator_and_off_by_default():
    config = tiny(model="hinge", data="digits", width=8, spectral_norm=True).resolve("images")
    module = build_module(config, DataSpec("images", (1, 32, 32)))
    convs = [m for m in module.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    plain = build_module(tiny(model="hinge").resolve("points"), DataSpec("points", (2,)))
    assert not any(hasattr(m, "parametrizations") for m in plain.discriminator.modules())
    assert not any(hasattr(m, "parametrizations") for m in module.generator.modules())


def _conv_module(**settings):
    config = tiny(data="stacked-mnist", width=16, **settings).resolve("images")
    return config, build_module(config, DataSpec("images", (3, 32, 32)))


def test_the_discriminator_width_defaults_to_the_generators_and_can_be_narrower():
    _, full = _conv_module(model="dcgan")
    assert full.discriminator.features[0].out_channels == 16
    config, quarter = _conv_module(model="dcgan", d_width=4)
    assert quarter.discriminator.features[0].out_channels == 4
    assert quarter.discriminator.head.in_channels == 16          # 4, 8, 16 channels at 32x32
    # the generator keeps --width
    assert [p.shape for p in quarter.generator.parameters()] == \
        [p.shape for p in full.generator.parameters()]
    # it shapes the networks, so a checkpoint records it
    from gankit.models import checkpoint_identity
    assert checkpoint_identity(config, DataSpec("images", (3, 32, 32)), None)["d_width"] == 4


@pytest.mark.parametrize("model", ["dcgan", "wgan-gp"])
def test_pac_builds_a_packed_conv_discriminator_that_trains(model):
    from gankit.training import train_run

    config = tiny(data="digits", model=model, width=8, remedy="pac", pac=2, batch_size=16,
                  steps=3, log_every=1)
    run = train_run(config, None)
    critic = run.module.discriminator
    assert critic.pac == 2 and critic.features[0].in_channels == 2
    assert critic(torch.zeros(4, 1, 32, 32)).shape == (2, 1)
    assert run.result.final_step == 3
    # discriminator-driven sampling judges each image as a pack of copies of itself
    from gankit.refine import default_realness
    assert default_realness(critic, torch.zeros(5, 1, 32, 32), None).shape[0] == 5
