"""Small image helpers on torch, numpy and Pillow (gankit does not depend on torchvision).

Owns the conversion of model output ([-1, 1] floats, (N, C, H, W)) to uint8 pictures, sample
grids (optionally with a strip of row labels, e.g. one class per row) and their PNG files, the
training GIF, and the one resize used by loaders and metrics.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import GankitError


def _as_numpy(images) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu()
        if images.dtype in (torch.bfloat16, torch.float16):
            images = images.float()
        return images.numpy()
    return np.asarray(images)


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats, (N, C, H, W) or (C, H, W) -> uint8 (N, H, W, C) or (H, W, C).

    Values outside [-1, 1] are clipped. uint8 input is taken to be 0..255 already and only
    transposed.
    """
    arr = _as_numpy(images)
    if arr.ndim not in (3, 4):
        raise GankitError(
            f"expected images shaped (N, C, H, W) or (C, H, W), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.nan_to_num(arr.astype(np.float32), nan=-1.0)
        arr = np.rint((np.clip(arr, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return np.ascontiguousarray(np.moveaxis(arr, -3, -1))


def _layout(n: int, nrow: int | None) -> tuple[int, int]:
    """(images per row, rows) of a grid of n images."""
    if n == 0:
        raise GankitError("cannot make a grid of 0 images")
    ncol = int(nrow) if nrow else int(math.ceil(math.sqrt(n)))
    if ncol < 1:
        raise GankitError(f"nrow must be >= 1, got {nrow}")
    ncol = min(ncol, n)
    return ncol, int(math.ceil(n / ncol))


def make_grid(images, nrow: int | None = None, padding: int = 2,
              pad_value: float = 1.0) -> np.ndarray:
    """Tile images ((N, C, H, W) in [-1, 1]) into one uint8 picture (H', W', C).

    nrow: images per row (default: a square-ish grid). pad_value is in the images' [-1, 1]
    scale; the default white border separates digits drawn on black.
    """
    pics = to_uint8(images)
    if pics.ndim == 3:
        pics = pics[None]
    n, h, w, c = pics.shape
    ncol, nrows = _layout(n, nrow)
    fill = int(round((float(np.clip(pad_value, -1, 1)) + 1.0) * 127.5))
    grid = np.full((nrows * (h + padding) + padding, ncol * (w + padding) + padding, c), fill,
                   dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[top:top + h, left:left + w] = pics[i]
    return grid


def _to_pil(picture: np.ndarray):
    from PIL import Image

    picture = np.asarray(picture)
    if picture.dtype != np.uint8:
        raise GankitError(f"expected a uint8 picture, got dtype {picture.dtype}")
    if picture.ndim == 3 and picture.shape[2] == 1:
        picture = picture[:, :, 0]
    if picture.ndim == 2:
        return Image.fromarray(picture, mode="L")
    if picture.ndim == 3 and picture.shape[2] in (3, 4):
        return Image.fromarray(picture, mode="RGB" if picture.shape[2] == 3 else "RGBA")
    raise GankitError(f"expected a picture shaped (H, W), (H, W, 1) or (H, W, 3), got {picture.shape}")


def _atomic_save(img, path: Path, **kwargs) -> None:
    # a reader (TensorBoard, a report) never sees half a picture
    from .files import atomic_path
    with atomic_path(path) as tmp:
        img.save(tmp, format=kwargs.pop("format"), **kwargs)


def save_grid(images, path, nrow: int | None = None, padding: int = 2, upscale: int = 1,
              row_labels: Sequence[str] | None = None) -> Path:
    """Write images ((N, C, H, W) in [-1, 1]) as one PNG grid; returns the path.

    upscale: integer nearest-neighbour magnification, for tiny images such as 8x8 digits.
    row_labels: one text per row of the grid (class names or numbers for a conditional grid),
    drawn in a white strip left of it; without them the PNG is exactly `make_grid`'s picture.
    """
    from PIL import Image

    path = Path(path)
    grid = make_grid(images, nrow=nrow, padding=padding)
    img = _to_pil(grid)
    scale = max(1, int(upscale or 1))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    if row_labels is not None:
        pics = _as_numpy(images)
        n, side = (pics.shape[0] if pics.ndim == 4 else 1), pics.shape[-2]
        rows = _layout(n, nrow)[1]
        img = _label_rows(img, [str(t) for t in row_labels], rows, top=padding * scale,
                          pitch=(side + padding) * scale, height=side * scale)
    _atomic_save(img, path, format="PNG")
    return path


ROW_LABEL_MARGIN = 6   # pixels of white either side of a row label


def _label_rows(img, labels: list[str], rows: int, top: int, pitch: int, height: int):
    """img with a white strip on its left holding labels[r] beside row r, centred on its images
    (the row starts `top + r * pitch` pixels down and its images are `height` high)."""
    from PIL import Image, ImageDraw, ImageFont

    if len(labels) != rows:
        raise GankitError(f"{len(labels)} row labels for a grid of {rows} rows")
    try:  # the default font at a size that suits the rows (Pillow >= 10.1 can scale it)
        font = ImageFont.load_default(size=max(8, min(16, int(pitch * 0.45))))
    except TypeError:
        font = ImageFont.load_default()
    measure = ImageDraw.Draw(img)
    boxes = [measure.textbbox((0, 0), t, font=font) for t in labels]
    strip = max((b[2] for b in boxes), default=0) + 2 * ROW_LABEL_MARGIN
    white, ink = (255, 0) if img.mode == "L" else ((255,) * len(img.mode), (0,) * len(img.mode))
    out = Image.new(img.mode, (img.width + strip, img.height), white)
    out.paste(img, (strip, 0))
    draw = ImageDraw.Draw(out)
    for r, (text, box) in enumerate(zip(labels, boxes)):
        # the text's own box centred on the row's images (bitmap fonts take no anchor)
        middle = top + r * pitch + height / 2
        draw.text((ROW_LABEL_MARGIN, round(middle - (box[1] + box[3]) / 2)), text, fill=ink, font=font)
    return out


def resize_images(x, size) -> torch.Tensor:
    """Resize (N, C, H, W) images to `size` (int or (h, w)) with bilinear interpolation.

    Downsampling is antialiased (otherwise thin strokes alias away); upsampling is plain
    bilinear. Returns float32; the value range is kept (bilinear weights are convex).
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim != 4:
        raise GankitError(f"expected images shaped (N, C, H, W), got shape {tuple(x.shape)}")
    x = x.float()
    h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    if h < 1 or w < 1:
        raise GankitError(f"image size must be positive, got {size}")
    if (h, w) == tuple(x.shape[-2:]) or x.shape[0] == 0:
        return x.clone()
    antialias = h < x.shape[-2] or w < x.shape[-1]
    out = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=antialias)
    return out.clamp(float(x.min()), float(x.max()))


def save_gif(frames: Sequence, path, duration_ms: int = 200, loop: int = 0) -> Path:
    """Write frames (uint8 arrays (H, W) / (H, W, C), or paths of pictures) as an animated GIF.

    Frames of another size than the first are resized to it; grayscale frames are converted
    to RGB when any frame is in colour.
    """
    from PIL import Image

    frames = list(frames)
    if not frames:
        raise GankitError("cannot write a GIF with no frames; log at least one sample grid first")
    pics = []
    for f in frames:
        if isinstance(f, (str, os.PathLike)):
            if not Path(f).is_file():
                raise GankitError(f"GIF frame {f} does not exist")
            with Image.open(f) as im:
                im.load()
                pics.append(im.convert("RGB") if im.mode not in ("L", "RGB") else im.copy())
        else:
            pic = _to_pil(np.asarray(f))
            pics.append(pic.convert("RGB") if pic.mode == "RGBA" else pic)
    mode = "RGB" if any(p.mode != "L" for p in pics) else "L"
    size = pics[0].size
    pics = [(p if p.mode == mode else p.convert(mode)) for p in pics]
    pics = [(p if p.size == size else p.resize(size, Image.BILINEAR)) for p in pics]
    path = Path(path)
    _atomic_save(pics[0], path, format="GIF", save_all=True, append_images=pics[1:],
                 duration=int(duration_ms), loop=int(loop))
    return path
