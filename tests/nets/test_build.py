"""The networks of a config: spectral normalisation as a discriminator option."""
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
