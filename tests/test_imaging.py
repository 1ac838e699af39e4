import numpy as np
import pytest
import torch
from PIL import Image

from gankit.errors import GankitError
from gankit.imaging import make_grid, resize_images, save_gif, save_grid, to_uint8


def test_to_uint8_maps_range_and_layout():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0, -7.0]).reshape(1, 1, 1, 5)
    out = to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 5, 1)
    assert out[0, 0, :, 0].tolist() == [0, 128, 255, 255, 0]  # out-of-range values clip
    rgb = to_uint8(np.zeros((3, 2, 4), np.float32))  # (C, H, W) -> (H, W, C)
    assert rgb.shape == (2, 4, 3) and (rgb == 128).all()


def test_make_grid_places_each_image_with_padding():
    # five 1x4x4 images with distinct constant values
    values = np.linspace(-1, 0.6, 5, dtype=np.float32)
    imgs = torch.tensor(values)[:, None, None, None].expand(5, 1, 4, 4)
    grid = make_grid(imgs, nrow=3, padding=2)
    assert grid.shape == (2 * 6 + 2, 3 * 6 + 2, 1) and grid.dtype == np.uint8
    expect = to_uint8(torch.tensor(values)[:, None, None, None])[:, 0, 0, 0]
    for i in range(5):
        r, c = divmod(i, 3)
        tile = grid[2 + 6 * r: 6 + 6 * r, 2 + 6 * c: 6 + 6 * c, 0]
        assert (tile == expect[i]).all(), i
    assert (grid[0, :, 0] == 255).all() and (grid[:, 1, 0] == 255).all()  # border
    assert (grid[8:12, 14:18, 0] == 255).all()  # sixth slot is empty


def test_make_grid_default_is_square():
    assert make_grid(torch.zeros(16, 3, 2, 2), padding=0).shape == (8, 8, 3)


def test_save_grid_writes_png_matching_grid(tmp_path):
    imgs = torch.rand(6, 3, 5, 5) * 2 - 1
    path = save_grid(imgs, tmp_path / "sub" / "grid.png", nrow=2)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), make_grid(imgs, nrow=2))
    gray = save_grid(torch.zeros(4, 1, 3, 3), tmp_path / "g.png", upscale=3)
    with Image.open(gray) as im:
        assert im.mode == "L" and im.size == (3 * (2 * 5 + 2), 3 * (2 * 5 + 2))


def test_row_labels_stand_in_a_strip_left_of_the_unchanged_grid(tmp_path):
    # three classes, four black 8x8 samples each, magnified 2x as tiny digits are
    imgs = -torch.ones(12, 1, 8, 8)
    plain = np.asarray(Image.open(save_grid(imgs, tmp_path / "plain.png", nrow=4, upscale=2)))
    path = save_grid(imgs, tmp_path / "rows.png", nrow=4, upscale=2, row_labels=["0", "1", "airplane"])
    with Image.open(path) as im:
        assert im.mode == "L" and im.height == plain.shape[0]
        labelled = np.asarray(im)
    strip = labelled.shape[1] - plain.shape[1]
    assert strip > 0
    np.testing.assert_array_equal(labelled[:, strip:], plain)        # the grid itself untouched
    pitch, top, side = (8 + 2) * 2, 2 * 2, 8 * 2
    ink = labelled[:, :strip] < 128
    for r, text in enumerate(["0", "1", "airplane"]):
        band = ink[top + r * pitch: top + r * pitch + side]
        assert band.any(), text                                       # each row has its label
    assert not ink[:top].any() and not ink[top + 2 * pitch + side:].any()  # and nothing else
    # the strip is as wide as the longest label needs
    short = save_grid(imgs, tmp_path / "short.png", nrow=4, upscale=2, row_labels=["0", "1", "2"])
    with Image.open(short) as im:
        assert plain.shape[1] < im.width < labelled.shape[1]


def test_row_labels_keep_colour_and_must_match_the_rows(tmp_path):
    imgs = torch.rand(6, 3, 5, 5) * 2 - 1
    with Image.open(save_grid(imgs, tmp_path / "c.png", nrow=3, row_labels=["a", "b"])) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im)[:, im.width - make_grid(imgs, nrow=3).shape[1]:],
                                      make_grid(imgs, nrow=3))
    with pytest.raises(GankitError, match="3 row labels for a grid of 2 rows"):
        save_grid(imgs, tmp_path / "bad.png", nrow=3, row_labels=["a", "b", "c"])
    assert not (tmp_path / "bad.png").exists()


def test_resize_upsample_keeps_constant_and_range():
    x = torch.full((2, 1, 8, 8), 0.25)
    out = resize_images(x, 32)
    assert out.shape == (2, 1, 32, 32) and out.dtype == torch.float32
    assert torch.allclose(out, torch.tensor(0.25))
    rnd = torch.rand(3, 3, 7, 9) * 2 - 1
    up = resize_images(rnd, (20, 16))
    assert up.shape == (3, 3, 20, 16) and up.min() >= rnd.min() and up.max() <= rnd.max()


def test_resize_downsample_is_antialiased():
    # a single bright pixel that plain bilinear sampling at 4x reduction would miss entirely
    x = torch.zeros(1, 1, 64, 64)
    x[0, 0, 20, 20] = 1.0
    out = resize_images(x, 16)
    assert out.max() > 0
    assert float(out.sum()) * 16 == pytest.approx(1.0, rel=0.1)  # mass is preserved


def test_save_gif_from_arrays_and_paths(tmp_path):
    frames = [np.full((10, 12), v, np.uint8) for v in (0, 120, 250)]
    png = tmp_path / "f.png"
    Image.fromarray(np.full((10, 12, 3), (255, 0, 0), np.uint8)).save(png)
    path = save_gif(frames + [png], tmp_path / "train.gif", duration_ms=150)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.is_animated and im.n_frames == 4
        assert im.size == (12, 10)
        assert im.info["duration"] == 150
        im.seek(3)
        assert im.convert("RGB").getpixel((0, 0))[0] > 200  # the red frame kept its colour
    with pytest.raises(GankitError, match="no frames"):
        save_gif([], tmp_path / "empty.gif")
