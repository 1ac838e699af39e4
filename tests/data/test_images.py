import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.images import images_from_array, load_images, read_idx
from gankit.errors import GankitError

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
MNIST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B,
         np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding, written independently of the reader: magic, big-endian dims and data."""
    header = bytes([0, 0, CODES[arr.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_png(path: Path, value, size=(20, 20), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


# ------------------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("name", ["imgs-idx3-ubyte", "imgs-idx3-ubyte.gz"])
def test_read_idx_round_trip_plain_and_gz(tmp_path, name):
    arr = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / name, arr))
    assert out.shape == (5, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, arr)


def test_read_idx_wide_types_are_big_endian(tmp_path):
    arr = np.array([[-300, 2], [513, 32000]], dtype=np.int16)
    out = read_idx(write_idx(tmp_path / "a-idx2", arr))
    np.testing.assert_array_equal(out, arr)  # little-endian reading would give other numbers
    f = np.array([1.5, -2.25, 1e6], dtype=np.float32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f.gz", f)), f)


def test_read_idx_refuses_truncated_and_bad_magic(tmp_path):
    data = idx_bytes(np.zeros((10, 4, 4), np.uint8))
    (tmp_path / "cut").write_bytes(data[:-7])
    with pytest.raises(GankitError, match="truncated.*holds 153"):
        read_idx(tmp_path / "cut")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(data)[:-12])
    with pytest.raises(GankitError, match="truncated"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "hdr").write_bytes(data[:9])
    with pytest.raises(GankitError, match="truncated"):
        read_idx(tmp_path / "hdr")
    (tmp_path / "bad").write_bytes(b"\x89PNG" + data[4:])
    with pytest.raises(GankitError, match="magic"):
        read_idx(tmp_path / "bad")


def test_idx_folder_loads_train_then_t10k(tmp_path):
    rng = np.random.default_rng(1)
    train_x = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    test_x = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    train_x[0] = 0
    train_x[0, 0, 0] = 255
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", train_x)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 0, 1, 2], np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test_x)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([2, 2, 1, 0], np.uint8))
    native = load_images(tmp_path, image_size=None)
    assert native.x.shape == (10, 1, 28, 28) and native.kind == "images"
    assert native.y.tolist() == [0, 1, 2, 0, 1, 2, 2, 2, 1, 0]
    assert native.x[0, 0, 0, 0] == 1.0 and native.x[0, 0, 5, 5] == -1.0  # 0..255 -> [-1, 1]
    np.testing.assert_allclose(native.x[6, 0].numpy(), test_x[0] / 127.5 - 1, atol=1e-6)
    assert [f["part"] for f in native.meta["files"]] == ["train", "t10k"]
    resized = load_images(tmp_path, image_size=32)
    assert resized.x.shape == (10, 1, 32, 32) and resized.meta["original_size"] == [28, 28]


def test_truncated_idx_in_folder_is_a_clear_error(tmp_path):
    data = idx_bytes(np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(data)[:3000])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    with pytest.raises(GankitError, match="t10k-images-idx3-ubyte.gz.*(truncated|damaged)"):
        load_images(tmp_path)


def test_idx_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((3, 8, 8), np.uint8))
    write_idx(tmp_path / "x-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(GankitError, match="same set"):
        load_images(tmp_path)


@pytest.fixture
def mnist():
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST IDX files not found in {MNIST} (the shared data folder sits beside "
                    "the repository)")
    return MNIST


def test_mnist_files(mnist):
    raw = read_idx(mnist / "t10k-images-idx3-ubyte.gz")
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8
    native = load_images(mnist, image_size=None)
    assert native.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(native.y).tolist() == MNIST_COUNTS
    data = load_images(mnist, image_size=32)
    assert data.x.shape == (10000, 1, 32, 32) and data.num_classes == 10
    assert data.x.min() == -1.0 and data.x.max() <= 1.0
    assert torch.equal(data.y, native.y)
    assert data.meta["source"] == str(mnist) and data.meta["channels"] == 1


# ---------------------------------------------------------------------------------- digits
def test_digits_native_and_upscaled():
    from sklearn.datasets import load_digits

    native = load_images("digits", image_size=None)
    ref = load_digits()
    assert native.x.shape == (1797, 1, 8, 8)
    np.testing.assert_allclose(native.x[:, 0].numpy(), ref.images / 8.0 - 1.0, atol=1e-6)
    assert native.y.tolist() == ref.target.tolist() and native.num_classes == 10
    up = load_images("digits")
    assert up.x.shape == (1797, 1, 32, 32)
    assert up.meta["original_size"] == [8, 8] and up.meta["image_size"] == 32
    # upscaling keeps the picture: block-averaging back to 8x8 is close to the original
    back = torch.nn.functional.avg_pool2d(up.x, 4)
    assert np.corrcoef(back.flatten().numpy(), native.x.flatten().numpy())[0, 1] > 0.95


# ---------------------------------------------------------------------------------- folders
def test_folder_with_class_subfolders(tmp_path):
    for i in range(3):
        write_png(tmp_path / "dog" / f"{i}.png", (0, 0, 255))
        write_png(tmp_path / "cat" / f"{i}.jpg" if i else tmp_path / "cat" / f"{i}.png", (255, 0, 0))
    write_png(tmp_path / "cat" / "nested" / "deep.png", (255, 0, 0))
    data = load_images(tmp_path, image_size=32)
    assert data.x.shape == (7, 3, 32, 32)
    assert data.class_names == ["cat", "dog"] and data.num_classes == 2
    assert data.y.tolist() == [0, 0, 0, 0, 1, 1, 1]
    cat, dog = data.x[0].mean((1, 2)), data.x[-1].mean((1, 2))
    assert cat[0] > 0.9 and cat[2] < -0.9 and dog[2] > 0.9 and dog[0] < -0.9
    assert data.meta["channels"] == 3 and data.meta["original_size"] == [20, 20]


def test_flat_grayscale_folder_has_no_labels(tmp_path):
    for i in range(4):
        write_png(tmp_path / f"{i}.png", 60 * i, size=(16, 16), mode="L")
    data = load_images(tmp_path, image_size=32, channels=None)
    assert data.y is None and data.x.shape == (4, 1, 32, 32)
    assert sorted(round(float(v), 3) for v in data.x.mean((1, 2, 3))) == \
        [round(60 * i / 127.5 - 1, 3) for i in range(4)]


def test_folder_mixed_sizes_are_resized_with_a_warning(tmp_path):
    write_png(tmp_path / "a.png", (10, 10, 10), size=(20, 20))
    write_png(tmp_path / "b.png", (10, 10, 10), size=(40, 30))
    with pytest.warns(UserWarning, match="2 different sizes"):
        data = load_images(tmp_path, image_size=32)
    assert data.x.shape == (2, 3, 32, 32)


def test_folder_mixed_modes_converted_with_count(tmp_path):
    write_png(tmp_path / "a.png", 200, mode="L")
    write_png(tmp_path / "b.png", 100, mode="L")
    write_png(tmp_path / "c.png", (0, 255, 0))
    with pytest.warns(UserWarning, match="2 grayscale and 1 colour"):
        data = load_images(tmp_path, image_size=32)
    assert data.x.shape == (3, 3, 32, 32)
    gray = load_images(tmp_path, image_size=32, channels=1)  # forced: no mixing, no warning
    assert gray.x.shape == (3, 1, 32, 32)
    assert abs(float(gray.x[2].mean()) - (0.587 * 255 / 127.5 - 1)) < 0.02


def test_non_image_file_is_skipped_by_name(tmp_path):
    write_png(tmp_path / "a.png", (1, 2, 3))
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.warns(UserWarning, match=r"skipped 1 files.*notes\.txt"):
        data = load_images(tmp_path)
    assert len(data) == 1


def png_header(width: int, height: int) -> bytes:
    """A PNG declaring the given size (8-bit RGB) with no pixel data: signature, IHDR, IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


def test_damaged_pictures_stop_the_load_naming_the_files(tmp_path):
    write_png(tmp_path / "a.png", (1, 2, 3))
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # unrecognised
    (tmp_path / "nodata.png").write_bytes(png_header(20, 20))  # recognised, fails to decode
    with pytest.raises(GankitError, match=r"image \S*garbage\.png cannot be read \(Pillow does not "
                       r"recognise it.*\(and 1 more: nodata\.png\); .*replace it or remove"):
        load_images(tmp_path)


def test_decompression_bomb_is_refused_with_its_size(tmp_path):
    write_png(tmp_path / "a.png", (1, 2, 3))
    # 57 bytes claiming 100,000 x 100,000 pixels: Pillow's DecompressionBombError
    (tmp_path / "bomb.png").write_bytes(png_header(100_000, 100_000))
    with pytest.raises(GankitError, match=r"bomb\.png is too large to load \(10,000,000,000 pixels"):
        load_images(tmp_path)


def test_picture_past_the_warning_limit_is_refused(tmp_path, monkeypatch):
    import PIL.Image

    write_png(tmp_path / "small.png", (1, 2, 3), size=(10, 10))
    write_png(tmp_path / "big.png", (1, 2, 3), size=(15, 10))
    # 150 pixels: over the limit but under twice it, where Pillow only warns
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(GankitError,
                       match=r"big\.png is too large to load \(150 pixels, over Pillow's limit of 100;"):
        load_images(tmp_path)


def test_folder_of_only_non_images_is_an_error(tmp_path):
    (tmp_path / "readme.md").write_text("# nothing")
    with pytest.raises(GankitError, match="no readable images.*readme.md"):
        load_images(tmp_path)


def test_empty_folder_and_missing_path(tmp_path):
    (tmp_path / ".hidden").write_text("x")
    with pytest.raises(GankitError, match="is empty"):
        load_images(tmp_path)
    with pytest.raises(GankitError, match="not found"):
        load_images(tmp_path / "nope")


def test_folder_label_outside_label_map(tmp_path):
    for name in ("cat", "dog", "fox"):
        write_png(tmp_path / name / "0.png", (5, 5, 5))
    data = load_images(tmp_path, label_map={"dog": 0, "cat": 1, "fox": 1})
    assert data.y.tolist() == [1, 0, 1] and data.class_names == ["dog", "cat/fox"]
    with pytest.raises(GankitError, match="'fox'.*not one of the classes"):
        load_images(tmp_path, label_map=["cat", "dog"])


# ----------------------------------------------------------------------------------- arrays
def test_npy_uint8_nhw(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (5, 12, 12), dtype=np.uint8)
    np.save(tmp_path / "a.npy", arr)
    data = load_images(tmp_path / "a.npy", image_size=None)
    assert data.x.shape == (5, 1, 12, 12) and data.y is None
    np.testing.assert_allclose(data.x[:, 0].numpy(), arr / 127.5 - 1, atol=1e-6)
    assert load_images(tmp_path / "a.npy", image_size=64).x.shape == (5, 1, 64, 64)


def test_npz_float_rgb_with_labels(tmp_path):
    x = np.random.default_rng(0).random((6, 3, 8, 8)).astype(np.float32)  # [0, 1]
    np.savez(tmp_path / "b.npz", images=x, labels=np.array([0, 1, 1, 0, 2, 2]))
    data = load_images(tmp_path / "b.npz", image_size=None)
    assert data.x.shape == (6, 3, 8, 8) and data.y.tolist() == [0, 1, 1, 0, 2, 2]
    np.testing.assert_allclose(data.x.numpy(), x * 2 - 1, atol=1e-6)
    signed = images_from_array(x * 2 - 1, image_size=None)  # already [-1, 1]: kept
    np.testing.assert_allclose(signed.x.numpy(), x * 2 - 1, atol=1e-5)
    assert load_images(tmp_path / "b.npz", channels=1).x.shape == (6, 1, 32, 32)


def test_npz_label_outside_classes(tmp_path):
    np.savez(tmp_path / "c.npz", x=np.zeros((3, 8, 8), np.uint8), y=np.array([0, 1, 5]),
             class_names=np.array(["a", "b", "c"]))
    with pytest.raises(GankitError, match="label 5.*outside the 3 classes"):
        load_images(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 8, 8), np.uint8), y=np.array([0, 2, 2]))
    with pytest.raises(GankitError, match="skip classes 1.*label_map"):
        load_images(tmp_path / "d.npz")
    data = load_images(tmp_path / "d.npz", label_map={0: 0, 2: 1})
    assert data.y.tolist() == [0, 1, 1] and data.num_classes == 2


def test_bad_arrays(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(GankitError, match="pickled"):
        load_images(tmp_path / "obj.npy")
    with pytest.raises(GankitError, match=r"expected \(N, H, W\) or \(N, C, H, W\)"):
        images_from_array(np.zeros((2, 5, 8, 8)))
    with pytest.raises(GankitError, match=r"range over \[0, 300\]"):
        images_from_array(np.full((2, 8, 8), 300.0).astype(np.float32) * np.array([0, 1])[:, None, None])
    with pytest.raises(GankitError, match="image_size"):
        load_images("digits", image_size=0)
