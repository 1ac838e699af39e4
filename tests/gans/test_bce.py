import math

import pytest
import torch

from gankit.errors import GankitError
from gankit.gans.bce import DCGAN, VanillaGAN
from gankit.gans.mad_gan import MADGAN

from support import tiny
from gans.critics import Linear


def test_bce_losses_match_their_definitions():
    critic = Linear([0.0, 0.0])      # D = sigmoid(0) = 1/2 everywhere
    x = torch.randn(4, 2)
    d_loss, _ = VanillaGAN().discriminator_loss(critic, x, x)
    assert d_loss.item() == pytest.approx(2 * math.log(2))
    ns, _ = VanillaGAN("non-saturating").generator_loss(critic, x)
    mm, _ = VanillaGAN("minimax").generator_loss(critic, x)
    assert ns.item() == pytest.approx(math.log(2)) and mm.item() == pytest.approx(-math.log(2))
    smoothed, _ = VanillaGAN(label_smoothing=0.9).discriminator_loss(critic, x, x)
    assert smoothed.item() == pytest.approx(2 * math.log(2))   # at D=1/2 the target does not matter


def test_bad_settings_are_refused():
    with pytest.raises(GankitError, match="unknown generator loss"):
        VanillaGAN("wasserstein")
    with pytest.raises(GankitError, match="label smoothing"):
        VanillaGAN(label_smoothing=0.3)
    with pytest.raises(GankitError, match="dcgan is the convolutional GAN"):
        tiny(model="dcgan").resolve("points")


def test_several_generators_make_the_vanilla_gan_mad_gan():
    assert tiny(model="gan").resolve("points").variant() is VanillaGAN
    assert tiny(model="gan", generators=3).resolve("points").variant() is MADGAN
    assert tiny(model="dcgan", data="digits").resolve("images").variant() is DCGAN
