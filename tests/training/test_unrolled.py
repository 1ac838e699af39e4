"""Unrolled GAN: the look-ahead generator loss, its gradients, and its place in the loop."""
import copy
import math

import pytest
import torch
from torch import nn

from gankit.nets.mlp import MLPDiscriminator
from gankit.gans.bce import VanillaGAN
from gankit.training import build_module, prepare_data
from gankit.training.loop import training_loop
from gankit.models import DataSpec
from gankit.training.unrolled import unrolled_generator_loss
from support import tiny


def _setup(dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    generator = nn.Sequential(nn.Linear(3, 2)).to(dtype)
    discriminator = MLPDiscriminator(2, hidden=6, depth=2).to(dtype)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.05, betas=(0.5, 0.999))
    objective = VanillaGAN()
    z, real = torch.randn(16, 3, dtype=dtype), torch.randn(16, 2, dtype=dtype) + 1.0
    # one real step so that the look-ahead starts from a non-trivial Adam state
    loss, _ = objective.discriminator_loss(lambda x, y=None: discriminator(x), real, generator(z).detach())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return generator, discriminator, optimizer, objective, z, real


def _loss(generator, discriminator, optimizer, objective, z, real, steps, order="second"):
    loss, _ = unrolled_generator_loss(objective, discriminator, optimizer, generator(z), real, None,
                                      steps=steps, order=order)
    return loss


def test_zero_look_ahead_steps_is_the_plain_generator_loss():
    generator, discriminator, optimizer, objective, z, real = _setup()
    unrolled = _loss(generator, discriminator, optimizer, objective, z, real, steps=0)
    plain, _ = objective.generator_loss(discriminator, generator(z))
    assert unrolled.item() == plain.item()
    g_unrolled = torch.autograd.grad(unrolled, list(generator.parameters()))
    g_plain = torch.autograd.grad(objective.generator_loss(discriminator, generator(z))[0],
                                  list(generator.parameters()))
    for a, b in zip(g_unrolled, g_plain):
        assert torch.equal(a, b)


def test_look_ahead_does_not_touch_the_real_discriminator_or_its_optimizer():
    generator, discriminator, optimizer, objective, z, real = _setup()
    before = copy.deepcopy(discriminator.state_dict())
    state_before = {k: v.clone() for k, v in optimizer.state[next(discriminator.parameters())].items()}
    _loss(generator, discriminator, optimizer, objective, z, real, steps=4).backward()
    for k, v in discriminator.state_dict().items():
        assert torch.equal(v, before[k])
    for k, v in optimizer.state[next(discriminator.parameters())].items():
        assert torch.equal(v, state_before[k])
    assert all(p.grad is None for p in discriminator.parameters())


def test_second_order_gradient_matches_finite_differences():
    generator, discriminator, optimizer, objective, z, real = _setup()
    loss = _loss(generator, discriminator, optimizer, objective, z, real, steps=3)
    weight = generator[0].weight
    (analytic,) = torch.autograd.grad(loss, weight)
    h = 1e-6
    numeric = torch.zeros_like(weight)
    flat = weight.data.view(-1)          # perturbed without autograd; the loss itself needs it
    for index in range(weight.numel()):
        flat[index] += h
        up = _loss(generator, discriminator, optimizer, objective, z, real, steps=3).item()
        flat[index] -= 2 * h
        down = _loss(generator, discriminator, optimizer, objective, z, real, steps=3).item()
        flat[index] += h
        numeric.view(-1)[index] = (up - down) / (2 * h)
    torch.testing.assert_close(analytic, numeric, rtol=1e-4, atol=1e-7)
    # and the first-order gradient, which ignores how G moved D's look-ahead, is a different one
    (first,) = torch.autograd.grad(_loss(generator, discriminator, optimizer, objective, z, real,
                                         steps=3, order="first"), weight)
    assert (first - analytic).abs().max() > 1e-3 * analytic.abs().max()


def test_look_ahead_reproduces_the_discriminators_own_adam_steps():
    # with first order, K look-ahead steps are exactly K steps of the real optimizer on a copy
    generator, discriminator, optimizer, objective, z, real = _setup()
    copy_d = copy.deepcopy(discriminator)
    copy_opt = torch.optim.Adam(copy_d.parameters(), lr=0.05, betas=(0.5, 0.999))
    copy_opt.load_state_dict(copy.deepcopy(optimizer.state_dict()))   # its tensors, not shared
    fake = generator(z).detach()
    for _ in range(3):
        loss, _ = objective.discriminator_loss(lambda x, y=None: copy_d(x), real, fake)
        copy_opt.zero_grad()
        loss.backward()
        copy_opt.step()
    expected, _ = objective.generator_loss(copy_d, fake)
    got = _loss(generator, discriminator, optimizer, objective, z, real, steps=3, order="first")
    assert got.item() == pytest.approx(expected.item(), rel=1e-9)


def test_unroll_zero_trains_exactly_like_plain_training():
    config = tiny(model="gan", steps=15).resolve("points")
    train, _ = prepare_data(config)
    plain = build_module(config, DataSpec.of(train))
    unroll0 = build_module(config, DataSpec.of(train))
    training_loop(plain, train, config)
    training_loop(unroll0, train, tiny(model="gan", steps=15, unroll=0).resolve("points"))
    for a, b in zip(plain.state_dict().values(), unroll0.state_dict().values()):
        assert torch.equal(a, b)


def test_unrolled_training_changes_the_generator_differently():
    config = tiny(model="gan", steps=10).resolve("points")
    unrolled_config = tiny(model="gan", steps=10, unroll=2).resolve("points")
    train, _ = prepare_data(config)
    plain = build_module(config, DataSpec.of(train))
    unrolled = build_module(unrolled_config, DataSpec.of(train))
    training_loop(plain, train, config)
    result = training_loop(unrolled, train, unrolled_config)
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_losses.values())
    differs = [not torch.equal(a, b) for a, b in zip(plain.generator.state_dict().values(),
                                                     unrolled.generator.state_dict().values())]
    assert any(differs)


@pytest.mark.parametrize("settings", [dict(model="wgan-gp", n_critic=2, gp_lambda=1.0),
                                      dict(model="gan", remedy="minibatch"),
                                      dict(model="gan", conditional=True, data="blobs4")],
                         ids=["wgan-gp", "minibatch", "conditional"])
def test_unrolling_composes_with_the_other_objectives_and_remedies(settings):
    # WGAN-GP: the look-ahead steps differentiate the penalty (itself a gradient) once more
    config = tiny(steps=4, unroll=2, **settings).resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    before = [p.clone() for p in module.generator.parameters()]
    result = training_loop(module, train, config)
    assert all(math.isfinite(v) for v in result.last_losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
