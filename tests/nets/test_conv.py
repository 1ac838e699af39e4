import pytest
import torch
import torch.nn as nn

from gankit.errors import GankitError
from gankit.nets.conv import build_conv_discriminator, build_conv_generator


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm,conditioning", [("batch", "concat"), ("layer", "concat"),
                                                ("layer", "projection")])
def test_output_shapes(size, channels, norm, conditioning):
    g = build_conv_generator(size, channels, latent_dim=16, num_classes=10, width=8)
    d = build_conv_discriminator(size, channels, num_classes=10, width=8, norm=norm,
                                 conditioning=conditioning)
    y = torch.arange(4) % 10
    x = g(torch.randn(4, 16), y)
    assert x.shape == (4, channels, size, size) and g.sample_shape == (channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert d(x, y).shape == (4, 1)
    assert g.latent_dim == 16 and g.num_classes == 10 and d.num_classes == 10


def test_unconditional_nets_ignore_labels():
    g = build_conv_generator(32, 1, latent_dim=8, num_classes=0, width=8).eval()
    d = build_conv_discriminator(32, 1, num_classes=0, width=8, norm="layer")
    z = torch.randn(3, 8)
    assert g.num_classes == 0
    assert torch.equal(g(z), g(z, torch.tensor([1, 2, 3])))
    x = g(z)
    assert torch.equal(d(x), d(x, torch.tensor([0, 0, 0])))


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_conditioning_changes_outputs(conditioning):
    torch.manual_seed(0)
    g = build_conv_generator(32, 1, latent_dim=8, num_classes=10, width=8).eval()
    d = build_conv_discriminator(32, 1, num_classes=10, width=8, norm="layer",
                                 conditioning=conditioning)
    z = torch.randn(1, 8).expand(10, 8)
    x = g(z, torch.arange(10))
    assert (x[1:] - x[:1]).abs().flatten(1).max(1).values.min() > 1e-4  # every label differs
    same = x[:1].expand(10, -1, -1, -1)
    s = d(same, torch.arange(10))
    assert (s[1:] - s[:1]).abs().min() > 1e-6
    with pytest.raises(GankitError, match="needs labels"):
        g(z)
    with pytest.raises(GankitError, match="needs labels"):
        d(same)


def _weights(net, types):
    return [m.weight.detach().flatten() for m in net.modules() if isinstance(m, types)]


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    g = build_conv_generator(64, 3, latent_dim=100, num_classes=0, width=32)
    d = build_conv_discriminator(64, 3, num_classes=0, width=32, norm="batch")
    for net in (g, d):
        conv = torch.cat(_weights(net, (nn.Conv2d, nn.ConvTranspose2d)))
        assert abs(conv.mean().item()) < 1e-3 and conv.std().item() == pytest.approx(0.02, rel=0.05)
        bn = torch.cat(_weights(net, nn.BatchNorm2d))
        assert bn.mean().item() == pytest.approx(1.0, abs=0.01)
        assert bn.std().item() == pytest.approx(0.02, rel=0.3)
        biases = [m.bias for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        assert all(torch.count_nonzero(b) == 0 for b in biases)


def test_batchnorm_placement():
    d = build_conv_discriminator(32, 1, width=8, norm="batch")
    layers = list(d.features)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 2  # all but the first conv
    g = build_conv_generator(32, 1, width=8)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 3
    assert isinstance(list(g.main)[-1], nn.Tanh)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in g.modules()) == 4


@pytest.mark.parametrize("norm", ["none", "layer", "instance"])
def test_critic_has_no_batchnorm_and_scores_samples_independently(norm):
    torch.manual_seed(0)
    d = build_conv_discriminator(32, 1, num_classes=3, width=8, norm=norm).train()
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    x, y = torch.randn(6, 1, 32, 32), torch.tensor([0, 1, 2, 0, 1, 2])
    assert torch.allclose(d(x, y)[:1], d(x[:1], y[:1]), atol=1e-6)  # no batch statistics


def test_the_wgan_gp_critic_is_built_without_batch_statistics():
    from support import tiny
    from gankit.training import build_module
    from gankit.models import DataSpec
    config = tiny(data="digits", model="wgan-gp", width=8).resolve("images")
    critic = build_module(config, DataSpec("images", (1, 32, 32))).discriminator
    assert critic.norm == "layer"
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())


def test_dcgan_discriminator_uses_batch_statistics_in_training():
    # the counterpart of the test above: BatchNorm couples samples, which is why the critic has none
    d = build_conv_discriminator(32, 1, width=8, norm="batch").train()
    x = torch.randn(6, 1, 32, 32)
    assert not torch.allclose(d(x)[:2], d(x[:2]), atol=1e-4)


def test_gradient_penalty_double_backward():
    d = build_conv_discriminator(32, 1, num_classes=10, width=8, norm="layer")
    g = build_conv_generator(32, 1, latent_dim=8, num_classes=10, width=8)
    y = torch.arange(4)
    x = g(torch.randn(4, 8), y).detach().requires_grad_(True)
    grad, = torch.autograd.grad(d(x, y).sum(), x, create_graph=True)
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    penalty.backward()
    assert torch.isfinite(penalty)
    # every weight shapes the input gradient; only the final bias cannot
    missing = [n for n, p in d.named_parameters() if p.grad is None]
    assert missing == ["head.bias"]
    assert all(torch.isfinite(p.grad).all() for p in d.parameters() if p.grad is not None)


def test_bad_settings():
    with pytest.raises(GankitError, match="image sizes"):
        build_conv_generator(48, 1)
    with pytest.raises(GankitError, match="unknown norm"):
        build_conv_discriminator(32, 1, norm="vae")
    with pytest.raises(GankitError, match="conditioning"):
        build_conv_discriminator(32, 1, conditioning="film")
    d = build_conv_discriminator(32, 1, width=8)
    with pytest.raises(GankitError, match=r"expects images of shape \(1, 32, 32\)"):
        d(torch.zeros(2, 3, 32, 32))


@pytest.mark.parametrize("size", [32, 64])
def test_autoencoder_discriminator_energy_is_its_reconstruction_error(size):
    from gankit.nets.conv import ConvAutoencoderDiscriminator

    torch.manual_seed(0)
    x = torch.rand(3, 1, size, size) * 2 - 1
    for energy, error in (("l2", torch.square), ("l1", torch.abs)):
        ae = ConvAutoencoderDiscriminator(size, 1, width=4, code_dim=8, energy=energy)
        code = ae.encode(x)
        assert code.shape == (3, 8)
        reconstruction = ae.decode(code)
        assert reconstruction.shape == x.shape
        torch.testing.assert_close(ae(x), error(reconstruction - x).mean(dim=(1, 2, 3))[:, None])
    # no batch statistics: a sample's energy does not depend on the others in its batch
    torch.testing.assert_close(ae(x)[:1], ae(x[:1]))
    conditional = ConvAutoencoderDiscriminator(size, 1, num_classes=3, width=4, code_dim=8)
    y = torch.tensor([0, 1, 2])
    other = torch.tensor([2, 0, 1])
    # labels enter the encoder and the decoder (at DCGAN init their effect is small, not zero)
    assert not torch.equal(conditional.encode(x, y), conditional.encode(x, other))
    code = conditional.encode(x, y)
    assert not torch.equal(conditional.decode(code, y), conditional.decode(code, other))


# ------------------------------------------------------------------ PacGAN packing (PacDCGAN)
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_a_packed_discriminator_scores_consecutive_images_stacked_along_channels(norm):
    torch.manual_seed(0)
    d = build_conv_discriminator(32, 3, width=8, norm=norm, pac=2)
    assert d.pac == 2 and d.features[0].in_channels == 6     # only the first convolution widens
    x = torch.randn(6, 3, 32, 32)
    scores = d(x)
    assert scores.shape == (3, 1)
    # pack k is images 2k and 2k+1, the first image's channels first
    by_hand = d.head(d.features(torch.cat([x[0::2], x[1::2]], dim=1))).reshape(3, 1)
    torch.testing.assert_close(scores, by_hand)
    with pytest.raises(GankitError, match="not a multiple of pac=2"):
        d(x[:5])


def test_packing_of_one_builds_the_unpacked_discriminator():
    # the same layers drawn from the same stream: existing runs keep their numbers
    torch.manual_seed(0)
    before = build_conv_discriminator(32, 3, num_classes=10, width=8).state_dict()
    torch.manual_seed(0)
    after = build_conv_discriminator(32, 3, num_classes=10, width=8, pac=1).state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(GankitError, match="packing degree"):
        build_conv_discriminator(32, 3, width=8, pac=0)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_a_packed_conditional_discriminator_reads_every_label_of_its_pack(conditioning):
    torch.manual_seed(0)
    d = build_conv_discriminator(32, 1, num_classes=10, width=8, norm="layer",
                                 conditioning=conditioning, pac=2)
    if conditioning == "concat":
        assert d.features[0].in_channels == 2 * (1 + 10)
    if conditioning == "projection":
        nn.init.normal_(d.embed.weight, 0.0, 1.0)     # a trained embedding's scale
    x = torch.randn(4, 1, 32, 32)
    y = torch.tensor([1, 2, 3, 4])
    assert d(x, y).shape == (2, 1)
    # changing the second image's label of the first pack changes that pack's score only
    other = torch.tensor([1, 7, 3, 4])
    changed = (d(x, y) - d(x, other)).abs().flatten()
    assert changed[0] > 1e-6 and changed[1] == 0


def test_the_gradient_penalty_takes_its_norm_per_packed_output():
    from gankit.gans.wgan_gp import gradient_penalty

    torch.manual_seed(0)
    critic = build_conv_discriminator(32, 3, width=8, norm="layer", pac=2)
    real, fake = torch.randn(6, 3, 32, 32), torch.randn(6, 3, 32, 32)
    alpha = torch.rand(6, 1, 1, 1)
    penalty = gradient_penalty(critic, real, fake, weights=alpha)
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grads, = torch.autograd.grad(critic(x).sum(), x)
    # one norm over the two images of each pack, not one per image
    per_pack = grads.reshape(3, 2 * 3 * 32 * 32).norm(dim=1)
    torch.testing.assert_close(penalty, ((per_pack - 1) ** 2).mean())
    per_image = grads.flatten(1).norm(dim=1)
    assert not torch.allclose(penalty, ((per_image - 1) ** 2).mean())
