"""Stacked MNIST data: three independently drawn digits per image, their triple as the label,
built in memory from a seeded stream (reproducible fingerprint), and read back by the judge."""
import gzip
import struct

import numpy as np
import pytest
import torch

from gankit.data import load_data
from gankit.data.stacked_mnist import load_mnist_digits, stack_digits, triple_labels, triples
from gankit.errors import GankitError
from support import SHARED_DATA

MNIST = SHARED_DATA / "mnist"


def write_idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


@pytest.fixture
def tiny_mnist(tmp_path):
    """30 random 28x28 'digits', three of each label: an MNIST-format folder of our own."""
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(30) % 10)
    return tmp_path


def channel_sources(stacks, digits):
    """For every channel of every stack, the index of the digit image it equals (-1: none)."""
    flat = digits.x.reshape(len(digits), -1)
    return np.array([[int(next(iter(torch.nonzero((flat == ch.reshape(1, -1)).all(1))), -1))
                      for ch in stack] for stack in stacks.x])


def test_channels_are_source_digits_and_the_label_is_their_triple(tiny_mnist):
    data = load_data(f"stacked-mnist:{tiny_mnist}", n=200, seed=3, image_size=32)
    digits = load_mnist_digits(tiny_mnist, image_size=32)
    assert data.x.shape == (200, 3, 32, 32) and data.kind == "images"
    assert data.num_classes == 1000 and data.y.max() < 1000
    sources = channel_sources(data, digits)
    assert (sources >= 0).all()                           # every channel is one of the digits
    assert np.array_equal(digits.y.numpy()[sources], triples(data.y))
    assert np.array_equal(triple_labels(triples(data.y)), data.y.numpy())
    # independent draws: the three channels of a stack rarely share one source image (1/30 each)
    assert (sources[:, 0] == sources[:, 1]).mean() < 0.1
    assert len(np.unique(sources)) == 30                  # the whole source is drawn from


def test_fingerprint_is_reproducible_for_seed_source_and_size(tiny_mnist):
    load = lambda **k: load_data(f"stacked-mnist:{tiny_mnist}", **{"n": 50, "seed": 0, **k})  # noqa: E731
    first = load()
    assert load().fingerprint == first.fingerprint
    assert torch.equal(load().x, first.x)
    for other in (load(seed=1), load(n=51), load(image_size=None)):
        assert other.fingerprint != first.fingerprint
    native = load(image_size=None)
    assert native.x.shape == (50, 3, 28, 28)
    meta = first.describe()
    assert meta["format"] == "stacked-mnist" and meta["seed"] == 0 and meta["channels"] == 3
    assert meta["source"] == str(tiny_mnist) and meta["n_digits"] == 30
    assert "stacks of 3 digits drawn independently (seed 0) from the 30 MNIST images" \
        in meta["description"]


def test_bad_sources_and_settings_say_what_to_do(tiny_mnist, tmp_path):
    with pytest.raises(GankitError, match="have 3 channels, one digit each; got channels=1"):
        load_data(f"stacked-mnist:{tiny_mnist}", channels=1)
    with pytest.raises(GankitError, match="does not exist; pass stacked-mnist:PATH"):
        load_data(f"stacked-mnist:{tmp_path / 'nowhere'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GankitError, match="holds no MNIST-format IDX files"):
        load_data(f"stacked-mnist:{empty}")
    with pytest.raises(GankitError, match="number of stacks .* >= 1, got 0"):
        load_data(f"stacked-mnist:{tiny_mnist}", n=0)
    with pytest.raises(GankitError, match="labelled 1-channel digit images"):
        stack_digits(load_data(f"stacked-mnist:{tiny_mnist}", n=5), 5)


def test_the_default_source_is_the_shared_mnist_test_set(shared_data):
    data = load_data("stacked-mnist", n=25_600, seed=0, image_size=32)
    assert data.x.shape == (25_600, 3, 32, 32)
    assert data.meta["source"] == str(MNIST) and data.meta["n_digits"] == 10_000
    assert "10,000 MNIST images" in data.meta["description"]
    assert len(torch.unique(data.y)) == 1000              # 25.6 per triple: all appear
    assert -1 <= data.x.min() and data.x.max() <= 1


def test_the_judge_reads_each_channel_back_as_the_recorded_triple(shared_data, digit_judge_32):
    from gankit.metrics.stacked_mnist import JUDGE_HELD_OUT, JUDGE_SEED, read_triples

    # stacks of digits the judge never saw (its held-out split), so the check is honest
    _, unseen = load_mnist_digits(MNIST, image_size=32).split(JUDGE_HELD_OUT, seed=JUDGE_SEED)
    stacks = stack_digits(unseen, 2000, seed=1)
    hits = read_triples(stacks.x, digit_judge_32) == triples(stacks.y)
    # each channel is read as well as a lone digit, so a triple about as well as a digit cubed
    # (0.9875^3 = 0.963)
    assert hits.mean() == pytest.approx(digit_judge_32.held_out_accuracy, abs=0.01)
    assert hits.all(1).mean() >= 0.95


@pytest.fixture(scope="module")
def digit_judge_32(tmp_path_factory):
    """The 32x32 digit judge, trained once per session: the cache folder is shared with
    tests/metrics/test_stacked_mnist.py."""
    if not MNIST.is_dir():
        pytest.skip(f"{MNIST} is absent (the shared data folder sits beside the repository)")
    from gankit.metrics.stacked_mnist import digit_judge

    cache = tmp_path_factory.getbasetemp() / "stacked-mnist-judges"
    cache.mkdir(exist_ok=True)
    return digit_judge(MNIST, image_size=32, cache_dir=cache)
