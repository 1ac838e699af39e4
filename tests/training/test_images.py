"""The training engine on images: DCGAN and conditional WGAN-GP on scikit-learn digits.

Runs are tiny (width 8, batch 16, a few steps): they check the plumbing (shapes, finite losses,
snapshot grids, TensorBoard images, bad input through the CLI), not sample quality; quality is
measured by benchmarks/bench_images.py.
"""
import gzip
import math
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from support import tiny
from gankit.cli import main
from gankit.config import TrainConfig
from gankit.data import load_data
from gankit.training import load_run, train_run

PAD = 2                      # save_grid's border, in pixels


def grid_size(rows: int, cols: int, side: int) -> tuple[int, int]:
    """(width, height) of a PNG grid of rows x cols images of side x side pixels."""
    return cols * (side + PAD) + PAD, rows * (side + PAD) + PAD


def labelled(size: tuple[int, int], grid: tuple[int, int]) -> bool:
    """A grid with a strip of row labels on its left: the grid's height, and wider by the strip."""
    return size[1] == grid[1] and grid[0] < size[0] < grid[0] + 120


@pytest.fixture(scope="module")
def digits32():
    return load_data("digits", image_size=32).split(0.2, seed=0)


def image_config(**settings) -> TrainConfig:
    values = dict(data="digits", width=8, batch_size=16, steps=4, log_every=2, sample_every=2,
                  latent_dim=16)
    values.update(settings)
    return tiny(**values)


def finite(losses: dict) -> bool:
    return bool(losses) and all(math.isfinite(v) for v in losses.values())


def test_dcgan_trains_on_digits_32(tmp_path, digits32):
    run = train_run(image_config(model="dcgan", label_smoothing=0.9), tmp_path / "run",
                    data=digits32)
    assert run.config.net == "conv" and run.config.n_critic == 1
    assert finite(run.result.last_losses) and {"d_loss", "g_loss"} <= set(run.result.last_losses)
    samples, labels = run.module.sample(5, rng=torch.Generator().manual_seed(0))
    assert labels is None
    assert samples.shape == (5, 1, 32, 32) and samples.dtype == torch.float32
    assert float(samples.abs().max()) <= 1.0
    # the DCGAN discriminator keeps BatchNorm; its logits are one per image
    scores = run.module.discriminator(digits32[0].x[:3])
    assert scores.shape == (3, 1)
    # unconditional grid: 8 x 8 images, at every sample step
    grids = sorted((tmp_path / "run" / "samples").glob("step_*.png"))
    assert [p.name for p in grids] == ["step_00000002.png", "step_00000004.png"]
    assert Image.open(grids[-1]).size == grid_size(8, 8, 32)
    assert (tmp_path / "run" / "training.gif").exists()


def test_conditional_wgan_gp_trains_with_class_rows(tmp_path, digits32):
    run = train_run(image_config(model="wgan-gp", conditional=True, n_critic=2, tensorboard=True),
                    tmp_path / "run", data=digits32)
    assert finite(run.result.last_losses)
    assert {"wasserstein", "gradient_penalty", "g_loss"} <= set(run.result.last_losses)
    module = run.module
    assert module.num_classes == 10
    assert module.discriminator.config["conditioning"] == "projection"
    assert module.discriminator.config["norm"] == "layer"
    samples, labels = module.sample(20, y=7, rng=torch.Generator().manual_seed(0))
    assert samples.shape == (20, 1, 32, 32) and torch.equal(labels, torch.full((20,), 7))
    assert float(samples.abs().max()) <= 1.0
    # snapshots: one row of 8 per class, written at each sample step
    grids = sorted((tmp_path / "run" / "samples").glob("step_*.png"))
    assert len(grids) == 2
    assert labelled(Image.open(grids[0]).size, grid_size(10, 8, 32))
    # the same pictures as TensorBoard images, beside the scalars
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"images": 0}).Reload()
    assert "samples" in events.Tags()["images"]
    images = events.Images("samples")
    assert [e.step for e in images] == [2, 4]
    assert labelled((images[0].width, images[0].height), grid_size(10, 8, 32))
    assert "train/wasserstein" in events.Tags()["scalars"]


def test_conditional_grid_at_64_and_reload(tmp_path):
    data = load_data("digits", image_size=64).split(0.2, seed=0)
    config = image_config(model="wgan-gp", conditional=True, image_size=64, width=4, batch_size=8,
                          steps=2, log_every=1, sample_every=2, n_critic=1)
    run = train_run(config, tmp_path / "run", data=data)
    assert finite(run.result.last_losses)
    assert labelled(Image.open(tmp_path / "run" / "samples" / "step_00000002.png").size, grid_size(10, 8, 64))
    module, config, record = load_run(tmp_path / "run")
    assert record["spec"]["sample_shape"] == [1, 64, 64]
    samples, _ = module.sample(3, y=[0, 1, 2], rng=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 64, 64)


def test_image_defaults():
    wgan = TrainConfig(data="digits", model="wgan-gp", conditional=True).resolve("images")
    assert (wgan.net, wgan.width, wgan.batch_size, wgan.latent_dim) == ("conv", 32, 64, 100)
    assert (wgan.lr_g, wgan.betas_g, wgan.n_critic, wgan.gp_lambda) == (5e-4, (0.0, 0.9), 2, 10.0)
    assert wgan.lr_decay == "none"
    assert wgan.total_steps(1438) == 500
    dcgan = TrainConfig(data="digits", model="dcgan").resolve("images")
    assert (dcgan.lr_g, dcgan.betas_g, dcgan.n_critic) == (2e-4, (0.5, 0.999), 1)
    # points keep their own budget
    assert TrainConfig(data="ring8").resolve("points").total_steps(10_000) == 8000


# ---------------------------------------------------------------------- bad input, via the CLI
QUIET = ["--no-progress", "--no-tensorboard", "--width", "8", "--batch-size", "16", "--steps", "1"]


def error_of(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def train_cli(tmp_path, data, *extra):
    return main(["train", "--data", str(data), "--out", str(tmp_path / "run"), *QUIET, *extra])


def test_empty_image_folder_exits_2(tmp_path, capsys):
    empty = tmp_path / "pictures"
    empty.mkdir()
    assert train_cli(tmp_path, empty, "--model", "dcgan") == 2
    assert "is empty" in error_of(capsys)


def test_truncated_idx_exits_2(tmp_path, capsys):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.zeros((10, 28, 28), np.uint8)
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", *images.shape)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()[:500]))
    labels = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + bytes(range(10))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    assert train_cli(tmp_path, folder, "--model", "wgan-gp", "--conditional") == 2
    message = error_of(capsys)
    assert "t10k-images-idx3-ubyte.gz is truncated" in message and "download it again" in message


def test_conditional_on_unlabelled_images_exits_2(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((20, 8, 8), np.uint8))
    assert train_cli(tmp_path, tmp_path / "x.npy", "--conditional") == 2
    assert "--conditional needs labels" in error_of(capsys)


def test_image_size_other_than_32_or_64_exits_2(tmp_path, capsys):
    assert train_cli(tmp_path, "digits", "--image-size", "48") == 2
    assert "32 or 64" in error_of(capsys)


@pytest.mark.parametrize("model", ["ebgan", "began"])
def test_autoencoder_models_train_on_images_and_reload(tmp_path, digits32, model):
    run = train_run(image_config(model=model, conditional=True), tmp_path / "run", data=digits32)
    assert finite(run.result.last_losses) and "energy_real" in run.result.last_losses
    discriminator = run.module.discriminator
    energy, code = discriminator.energy_and_code(digits32[0].x[:3], digits32[0].y[:3])
    assert energy.shape == (3, 1) and code.shape == (3, 64) and bool((energy >= 0).all())
    if model == "began":
        assert 0.0 <= float(discriminator.equilibrium_k) <= 1.0
    # the autoencoder (and k_t) come back from the checkpoint
    module, _, _ = load_run(tmp_path / "run")
    for key, value in run.module.discriminator.state_dict().items():
        assert torch.equal(module.discriminator.state_dict()[key], value)
