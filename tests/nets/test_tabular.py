"""TabularOutput and the table generator: per-span activations, seeded Gumbel noise, and the
generator interface the engine relies on."""
import numpy as np
import pandas as pd
import pytest
import torch

from gankit.data.tabular import TabularEncoder
from gankit.errors import GankitError
from gankit.nets.tabular import (TabularOutput, build_tabular_generator, gumbel_softmax)

INFO = [(0, 1, "tanh"), (1, 3, "softmax"), (4, 1, "identity"), (5, 4, "softmax"), (9, 1, "tanh")]


def raw(n=64, seed=0):
    return torch.randn(n, 10, generator=torch.Generator().manual_seed(seed)) * 3


def test_hard_mode_gives_one_hot_blocks_and_the_other_activations():
    x = raw()
    out = TabularOutput(INFO, hard=True, generator=torch.Generator().manual_seed(0))(x)
    for start, width in [(1, 3), (5, 4)]:
        block = out[:, start:start + width]
        assert torch.all((block == 0) | (block == 1))
        assert torch.equal(block.sum(1), torch.ones(len(x)))
    assert torch.allclose(out[:, [0, 9]], torch.tanh(x[:, [0, 9]]))
    assert torch.equal(out[:, 4], x[:, 4])                          # identity span untouched


def test_soft_mode_gives_simplex_rows_that_are_not_one_hot():
    out = TabularOutput(INFO, tau=1.0, generator=torch.Generator().manual_seed(0))(raw())
    for start, width in [(1, 3), (5, 4)]:
        block = out[:, start:start + width]
        assert torch.all(block >= 0)
        assert torch.allclose(block.sum(1), torch.ones(len(block)), atol=1e-6)
        assert ((block > 1e-3) & (block < 1 - 1e-3)).any()


def test_same_noise_seed_gives_the_same_output_and_another_seed_does_not():
    x = raw()
    a = TabularOutput(INFO, generator=torch.Generator().manual_seed(7))(x)
    b = TabularOutput(INFO, generator=torch.Generator().manual_seed(7))(x)
    c = TabularOutput(INFO, generator=torch.Generator().manual_seed(8))(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_hard_samples_follow_the_softmax_probabilities():
    # Gumbel-max: argmax(logits + g) is a draw from softmax(logits); a sign error in the noise
    # or a missing noise term would break these frequencies
    logits = torch.tensor([2.0, 0.0, -1.0]).expand(20000, 3)
    sample = gumbel_softmax(logits, tau=0.2, hard=True, generator=torch.Generator().manual_seed(0))
    freq = sample.mean(0)
    assert torch.allclose(freq, torch.softmax(logits[0], 0), atol=0.015)


def test_hard_mode_passes_gradients_straight_through():
    logits = torch.randn(8, 4, requires_grad=True)
    out = gumbel_softmax(logits, tau=0.5, hard=True, generator=torch.Generator().manual_seed(0))
    (out * torch.arange(4.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_bad_layouts_are_refused():
    with pytest.raises(GankitError, match="does not follow"):
        TabularOutput([(0, 1, "tanh"), (2, 3, "softmax")])
    with pytest.raises(GankitError, match="unknown activation"):
        TabularOutput([(0, 1, "sigmoid")])
    with pytest.raises(GankitError, match="width 9"):
        TabularOutput(INFO)(torch.zeros(2, 9))


@pytest.mark.parametrize("arch", ["residual", "mlp"])
def test_generator_interface_and_seeded_sampling(arch):
    torch.manual_seed(0)
    net = build_tabular_generator(16, INFO, num_classes=3, hidden=(32, 32), arch=arch)
    assert net.latent_dim == 16 and net.num_classes == 3 and net.sample_shape == (10,)
    net.eval()
    z, y = torch.randn(20, 16), torch.arange(20) % 3
    net.noise_generator = torch.Generator().manual_seed(1)
    first = net(z, y)
    net.noise_generator = torch.Generator().manual_seed(1)
    assert first.shape == (20, 10) and torch.equal(net(z, y), first)
    assert not torch.equal(net(z, (y + 1) % 3), first)              # labels reach the output
    with pytest.raises(GankitError, match="conditional"):
        net(z)


def test_generator_output_decodes_to_a_valid_frame():
    df = pd.DataFrame({"x": np.linspace(0, 1, 30).round(2), "k": list("abc") * 10,
                       "n": np.arange(30) % 7 * 11})
    enc = TabularEncoder(numeric="mode", random_state=0).fit(df)
    net = build_tabular_generator(8, enc.output_info_, hidden=(16,),
                                  generator=torch.Generator().manual_seed(0))
    net.train()
    out = net(torch.randn(50, 8))
    out.sum().backward()                                             # trainable end to end
    frame = enc.inverse_transform(out.detach())
    assert (frame.dtypes == df.dtypes).all() and set(frame["k"]) <= {"a", "b", "c"}
    assert frame["x"].between(0, 1).all()
