"""`gankit sample` on image runs: grids and arrays, by label or every class evenly."""
import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.sampling import class_rows, draw

PAD = 2


def grid_size(rows: int, cols: int, side: int = 32) -> tuple[int, int]:
    return cols * (side + PAD) + PAD, rows * (side + PAD) + PAD


def labelled(size: tuple[int, int], grid: tuple[int, int]) -> bool:
    """A grid with a strip of row labels on its left: the grid's height, and wider by the strip."""
    return size[1] == grid[1] and grid[0] < size[0] < grid[0] + 120


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A conditional WGAN-GP on digits, trained 2 steps (the networks' plumbing, not quality)."""
    run = tmp_path_factory.mktemp("sampling") / "cwgan"
    assert main(["train", "--data", "digits", "--model", "wgan-gp", "--conditional",
                 "--width", "8", "--batch-size", "16", "--latent-dim", "16", "--steps", "2",
                 "--log-every", "1", "--no-progress", "--no-tensorboard", "--out", str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("sampling") / "dcgan"
    assert main(["train", "--data", "digits", "--model", "dcgan", "--width", "8",
                 "--batch-size", "16", "--latent-dim", "16", "--steps", "1", "--no-progress",
                 "--no-tensorboard", "--out", str(run)]) == 0
    return run


def sample(run, out, *extra):
    return main(["sample", str(run), "--out", str(out), *extra])


def error_of(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_sample_one_label_as_arrays(digits_run, tmp_path):
    assert sample(digits_run, tmp_path / "sevens.npy", "-n", "12", "--label", "7") == 0
    x = np.load(tmp_path / "sevens.npy")
    assert x.shape == (12, 1, 32, 32) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_sample_one_label_as_a_square_grid(digits_run, tmp_path):
    assert sample(digits_run, tmp_path / "sevens.png", "-n", "16", "--label", "7") == 0
    assert Image.open(tmp_path / "sevens.png").size == grid_size(4, 4)


def test_without_label_every_class_evenly(digits_run, tmp_path):
    _, labels, _ = draw(digits_run, 30)
    assert np.bincount(labels.numpy(), minlength=10).tolist() == [3] * 10
    # the grid has one row per class
    assert sample(digits_run, tmp_path / "all.png", "-n", "20") == 0
    assert labelled(Image.open(tmp_path / "all.png").size, grid_size(10, 2))
    # 25 samples: rows of 3, the short ones completed with blanks
    assert sample(digits_run, tmp_path / "all25.png", "-n", "25") == 0
    assert labelled(Image.open(tmp_path / "all25.png").size, grid_size(10, 3))
    assert sample(digits_run, tmp_path / "all.npy", "-n", "25") == 0
    assert np.load(tmp_path / "all.npy").shape == (25, 1, 32, 32)


def test_same_seed_same_samples(digits_run, tmp_path):
    sample(digits_run, tmp_path / "a.npy", "-n", "4", "--label", "3", "--seed", "5")
    sample(digits_run, tmp_path / "b.npy", "-n", "4", "--label", "3", "--seed", "5")
    sample(digits_run, tmp_path / "c.npy", "-n", "4", "--label", "3", "--seed", "6")
    a, b, c = (np.load(tmp_path / f"{k}.npy") for k in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_class_rows_layout():
    samples = torch.arange(5, dtype=torch.float32).reshape(5, 1, 1, 1)
    cells, per_row = class_rows(samples, torch.tensor([1, 0, 1, 1, 0]))
    assert per_row == 3
    assert cells.flatten().tolist() == [1, 4, 1.0, 0, 2, 3]  # class 0 (+ a blank), then class 1


def test_unconditional_image_run(dcgan_run, tmp_path, capsys):
    assert sample(dcgan_run, tmp_path / "x.npy", "-n", "5") == 0
    assert np.load(tmp_path / "x.npy").shape == (5, 1, 32, 32)
    assert sample(dcgan_run, tmp_path / "x.png", "-n", "9") == 0
    assert Image.open(tmp_path / "x.png").size == grid_size(3, 3)
    capsys.readouterr()
    assert sample(dcgan_run, tmp_path / "y.npy", "-n", "5", "--label", "1") == 2
    assert "unconditional" in error_of(capsys)


@pytest.mark.parametrize("label", ["12", "-1", "10"])
def test_label_outside_the_classes_exits_2(digits_run, tmp_path, capsys, label):
    assert sample(digits_run, tmp_path / "x.png", "-n", "4", "--label", label) == 2
    assert f"label {label} is outside the model's classes 0..9" in error_of(capsys)
    assert not (tmp_path / "x.png").exists()


def test_other_bad_sample_requests_exit_2(digits_run, tmp_path, capsys):
    assert sample(digits_run, tmp_path / "x.csv", "-n", "4") == 2
    assert "cannot be written as CSV" in error_of(capsys)
    assert sample(digits_run, tmp_path / "x.jpg", "-n", "4") == 2
    assert "use one of .npy, .csv, .png" in error_of(capsys)
    assert sample(digits_run, tmp_path / "x.npy", "-n", "0") == 2
    assert "-n must be at least 1" in error_of(capsys)
