"""Small image helpers on torch, numpy and Pillow (gankit does not depend on torchvision).

Owns the conversion of model output ([-1, 1] floats, (N, C, H, W)) to uint8 pictures, sample
grids and their PNG files, the training GIF, and the one resize used by loaders and metrics.
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
    if n == 0:
        raise GankitError("cannot make a grid of 0 images")
    ncol = int(nrow) if nrow else int(math.ceil(math.sqrt(n)))
    if ncol < 1:
        raise GankitError(f"nrow must be >= 1, got {nrow}")
    ncol = min(ncol, n)
    nrows = int(math.ceil(n / ncol))
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


def save_grid(images, path, nrow: int | None = None, padding: int = 2, upscale: int = 1) -> Path:
    """Write images ((N, C, H, W) in [-1, 1]) as one PNG grid; returns the path.

    upscale: integer nearest-neighbour magnification, for tiny images such as 8x8 digits.
    """
    from PIL import Image

    path = Path(path)
    grid = make_grid(images, nrow=nrow, padding=padding)
    img = _to_pil(grid)
    if upscale and int(upscale) > 1:
        img = img.resize((img.width * int(upscale), img.height * int(upscale)), Image.NEAREST)
    _atomic_save(img, path, format="PNG")
    return path


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
