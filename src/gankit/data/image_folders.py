"""Folders of pictures (PNG, JPG, ...) -> `Dataset(kind="images")`, for `images.load_images`.

Owns deciding which files of a folder are pictures and decoding them. Class sub-folders become
labels sorted by name (as torchvision's ImageFolder does); a flat folder has no labels. Files
that are not pictures by name or content (notes, stray files) are skipped with a warning naming
them; a file that is a picture by its extension or its header but cannot be decoded (damaged,
truncated, misnamed), or whose size exceeds Pillow's decompression-bomb limit
(`PIL.Image.MAX_IMAGE_PIXELS`), stops the load with the file named: no picture is silently
left out, and no tiny file can make the loader decode gigabytes.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..errors import GankitError
from ..imaging import resize_images
from .dataset import Dataset
from .images import _center_crop_to_aspect, _map_labels, _names, _target_size, _warn

# Pillow modes holding one channel; everything else (RGB, RGBA, P, CMYK, YCbCr...) is colour
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
# Extensions that say "this is a picture": such a file that Pillow cannot read is an error, not
# a stray file to skip
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".dib", ".tif",
                    ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".ico", ".qoi",
                    ".avif", ".jp2", ".j2k", ".psd", ".pcx", ".sgi", ".ras", ".xbm", ".xpm"}
_PIXEL_COUNT = re.compile(r"\((\d+) pixels\)")  # in Pillow's decompression-bomb messages
_PILLOW_ERRORS = (OSError, ValueError, SyntaxError)  # UnidentifiedImageError is an OSError


class _Unreadable(Exception):
    """A picture that Pillow recognised, or whose name says it is one, but cannot decode."""


def _too_large(path: Path, exc: Exception) -> GankitError:
    from PIL import Image

    m = _PIXEL_COUNT.search(str(exc))
    pixels = f"{int(m[1]):,} pixels" if m else str(exc)
    return GankitError(
        f"image {path} is too large to load ({pixels}, over Pillow's limit of "
        f"{Image.MAX_IMAGE_PIXELS:,}; it may be a decompression bomb); remove it, or shrink it "
        "if it is a real picture")


@contextmanager
def _open_image(path: Path):
    """Image.open, with Pillow's decompression-bomb warning refused like its error: a picture
    past the warning limit would take gigabytes to decode only to be shrunk to 32x32."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                yield im
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise _too_large(path, e) from None


def _open_header(path: Path):
    """(mode, (width, height)) of a picture, or None for a file Pillow does not recognise (or
    a placeholder format it has no decoder for)."""
    from PIL import ImageFile

    try:
        with _open_image(path) as im:
            if isinstance(im, ImageFile.StubImageFile):  # e.g. HDF5, GRIB
                return None
            return im.mode, im.size
    except GankitError:
        raise
    except _PILLOW_ERRORS:
        return None


def _decode(path: Path, channels: int) -> np.ndarray:
    """One picture -> float32 (C, H, W) in [0, 1]; raises _Unreadable when it cannot be decoded."""
    from PIL import Image

    try:
        with _open_image(path) as im:
            im.load()
            if im.mode in _WIDE_MODES:
                a = np.asarray(im, dtype=np.float32)
                top = 1.0 if im.mode == "F" and a.max() <= 1 else 65535.0 if a.max() > 255 else 255.0
                a = np.clip(a / top, 0, 1)[None]
                return np.repeat(a, 3, axis=0) if channels == 3 else a
            if im.mode in ("RGBA", "LA", "La", "PA", "RGBa") or "transparency" in im.info:
                # composite on white: transparent areas of icons and drawings are background
                im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)),
                                           im.convert("RGBA"))
            if channels == 1:
                return np.asarray(im.convert("L"), dtype=np.float32)[None] / 255.0
            return np.moveaxis(np.asarray(im.convert("RGB"), dtype=np.float32), -1, 0) / 255.0
    except GankitError:
        raise
    except _PILLOW_ERRORS as e:
        raise _Unreadable(str(e).splitlines()[0] if str(e) else type(e).__name__) from None


def _refuse_unreadable(root: Path, bad: list[tuple[Path, str]]) -> None:
    if not bad:
        return
    path, reason = bad[0]
    rest = [str(p.relative_to(root)) for p, _ in bad[1:]]
    others = f" (and {len(rest)} more: {_names(rest)})" if rest else ""
    raise GankitError(
        f"image {path} cannot be read ({reason}){others}; it is damaged or not the picture its "
        "name says: replace it or remove it from the folder")


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name not in ("Thumbs.db", "desktop.ini")


def load_folder(root: Path, image_size, channels, label_map) -> Dataset:
    """A folder of pictures (class sub-folders become labels) -> `Dataset(kind="images")`."""
    entries = [p for p in sorted(root.iterdir()) if _visible(p)]
    subdirs = [p for p in entries if p.is_dir()]
    top_files = [p for p in entries if p.is_file()]
    files: list[Path] = []
    raw_labels: list[str] | None = None
    if subdirs:
        raw_labels = []
        for d in subdirs:
            found = [p for p in sorted(d.rglob("*")) if p.is_file()
                     and all(_visible(q) for q in p.relative_to(root).parents if str(q) != ".")
                     and _visible(p)]
            files += found
            raw_labels += [d.name] * len(found)
        if top_files:
            _warn(f"{len(top_files)} files directly in {root} were ignored ({_names([p.name for p in top_files])}): "
                  "with class sub-folders, only files inside them are read")
    else:
        files = top_files
    if not files:
        raise GankitError(
            f"folder {root} is empty: expected image files (PNG/JPG), class sub-folders holding "
            "images, or MNIST IDX files")

    headers = [_open_header(p) for p in files]
    unknown = [p for p, h in zip(files, headers) if h is None]
    # named as pictures but unrecognised: refused with the damaged ones, once all are decoded
    damaged = [(p, "Pillow does not recognise it as a picture") for p in unknown
               if p.suffix.lower() in PICTURE_SUFFIXES]
    skipped = [p for p in unknown if p.suffix.lower() not in PICTURE_SUFFIXES]
    keep = [i for i, h in enumerate(headers) if h is not None]
    if not keep:
        _refuse_unreadable(root, damaged)
        raise GankitError(
            f"no readable images in {root}: none of its {len(files)} files ({_names([p.name for p in files])}) "
            "is a picture Pillow can open")
    modes = Counter("gray" if headers[i][0] in _GRAY_MODES else "colour" for i in keep)
    if channels is None:
        channels = 3 if modes["colour"] else 1
        if modes["colour"] and modes["gray"]:
            _warn(f"{root} mixes {modes['gray']} grayscale and {modes['colour']} colour images; "
                  f"converted the {modes['gray']} grayscale ones to RGB (pass channels=1 for grayscale)")
    sizes = Counter((headers[i][1][1], headers[i][1][0]) for i in keep)  # (H, W)
    common = sizes.most_common(1)[0][0]
    size = _target_size(image_size, common)
    if len(sizes) > 1:
        listing = ", ".join(f"{h}x{w} ({k})" for (h, w), k in sizes.most_common(4))
        _warn(f"images in {root} have {len(sizes)} different sizes ({listing}"
              f"{', ...' if len(sizes) > 4 else ''}); all resized to {size[0]}x{size[1]}")

    out = torch.empty((len(keep), channels, *size), dtype=torch.float32)
    kept_labels: list[str] = []
    n = 0
    for i in keep:
        try:
            a = _decode(files[i], channels)
        except _Unreadable as e:  # a valid header on a damaged body
            damaged.append((files[i], str(e)))
            continue
        t = _center_crop_to_aspect(torch.from_numpy(a)[None], size)
        out[n] = resize_images(t, size)[0].clamp_(0, 1)
        if raw_labels is not None:
            kept_labels.append(raw_labels[i])
        n += 1
    _refuse_unreadable(root, damaged)
    if skipped:
        _warn(f"skipped {len(skipped)} files in {root} that are not images: "
              f"{_names([str(p.relative_to(root)) for p in skipped])}")
    out = out[:n].mul_(2).sub_(1)

    y = names = None
    k = 0
    if raw_labels is not None:
        empty = sorted({d.name for d in subdirs} - set(kept_labels))
        if empty and label_map is None:
            raise GankitError(
                f"class folders {_names(empty)} in {root} hold no readable images; add images or "
                "remove those folders")
        labels, names, k = _map_labels(np.asarray(kept_labels), label_map, None, str(root))
        y = torch.from_numpy(labels)
    meta = {"source": str(root), "format": "folder",
            "image_size": size[0] if size[0] == size[1] else list(size), "channels": channels,
            "original_size": list(common) if len(sizes) == 1 else
            {f"{h}x{w}": k_ for (h, w), k_ in sizes.most_common(20)},
            "skipped_files": [str(p.relative_to(root)) for p in skipped[:20]]}
    return Dataset(x=out, y=y, kind="images", name=root.name, num_classes=k, class_names=names,
                   meta=meta)
