"""Image data sources -> `Dataset(kind="images")`.

Owns reading every image source gankit accepts and bringing it to one form: float32
(N, C, H, W) in [-1, 1], C = 1 (grayscale) or 3 (RGB), square `image_size` sides, int64 labels
0..K-1 (or None):

- "digits": scikit-learn's bundled 8x8 handwritten digits (values 0..16), upscaled;
- a folder of MNIST-format IDX files (`*-images-idx3-ubyte[.gz]` with `*-labels-idx1-ubyte[.gz]`;
  train and t10k parts are concatenated), or one such images file;
- a folder of PNG/JPG/... pictures (read by `image_folders.py`): class sub-folders become
  labels sorted by name (as torchvision's ImageFolder does); a flat folder has no labels; a
  damaged or oversized picture stops the load with the file named;
- `.npy` / `.npz` arrays shaped (N, H, W) or (N, C, H, W) (uint8 0..255 or floats in [0, 1],
  [-1, 1] or [0, 255]); an npz holds `x`/`images` and optionally `y`/`labels` and `class_names`.

Held-out splits are `Dataset.split`; nothing here shuffles.
"""
from __future__ import annotations

import gzip
import re
import struct
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..errors import GankitError, check_finite
from ..imaging import resize_images
from .dataset import Dataset

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data is big-endian
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_IMAGES = re.compile(r"^(?P<prefix>.+?)[-_.]images[-_.]idx3[-_.]ubyte(?P<gz>\.gz)?$", re.I)
_IDX_LABELS = re.compile(r"^(?P<prefix>.+?)[-_.]labels[-_.]idx1[-_.]ubyte(?P<gz>\.gz)?$", re.I)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, what Pillow's "L" uses
_MAX_NAMED = 5


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(str(i) for i in items[:_MAX_NAMED])
    return shown + (f" and {len(items) - _MAX_NAMED} more" if len(items) > _MAX_NAMED else "")


# ----------------------------------------------------------------------------------------- IDX
def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzip-compressed or plain) into an array of its declared shape.

    Checks the magic number (two zero bytes, a type code, the number of dimensions), reads the
    big-endian sizes and data, and refuses truncated files. Returns native-endian data.
    """
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"IDX file {path} not found")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's own magic, so a wrongly named file still reads
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, gzip.BadGzipFile) as e:
            raise GankitError(
                f"IDX file {path} is a damaged or truncated gzip file ({e}); download it again") from None
    if len(raw) < 4:
        raise GankitError(f"IDX file {path} is truncated: {len(raw)} bytes, not even a header; "
                          "download it again")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in IDX_DTYPES or ndim == 0:
        raise GankitError(
            f"{path} is not an IDX file (bad magic number 0x{raw[:4].hex()}); expected MNIST-format "
            "files such as t10k-images-idx3-ubyte.gz")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GankitError(f"IDX file {path} is truncated inside its header; download it again")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise GankitError(
            f"IDX file {path} is truncated: its header declares shape {dims} ({expected} bytes of "
            f"data) but it holds {found}; download it again")
    if found > expected:
        _warn(f"IDX file {path} has {found - expected} bytes after the declared data; ignored")
    arr = np.frombuffer(raw, dtype=dtype, count=int(np.prod(dims)), offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def find_idx_files(folder) -> list[dict[str, Any]]:
    """Pairs of (images, labels-or-None) IDX files in a folder: train part first, then t10k."""
    folder = Path(folder)
    images: dict[str, Path] = {}
    labels: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if not f.is_file():
            continue
        for pattern, found in ((_IDX_IMAGES, images), (_IDX_LABELS, labels)):
            m = pattern.match(f.name)
            # with both foo and foo.gz present, read the uncompressed one (same data, faster)
            if m and (m["prefix"] not in found or not m["gz"]):
                found[m["prefix"]] = f
    order = sorted(images, key=lambda p: (0 if p.lower().startswith("train") else
                                          1 if p.lower().startswith("t10k") else 2, p))
    return [{"part": p, "images": images[p], "labels": labels.get(p)} for p in order]


def _load_idx(parts: list[dict[str, Any]], source: Path, **opts) -> Dataset:
    xs, ys, described = [], [], []
    for part in parts:
        x = read_idx(part["images"])
        if x.ndim != 3:
            raise GankitError(
                f"IDX images file {part['images']} has shape {x.shape}; expected (N, H, W)")
        y = None
        if part["labels"] is not None:
            y = read_idx(part["labels"])
            if y.ndim != 1 or len(y) != len(x):
                raise GankitError(
                    f"{part['labels']} holds {y.shape} labels for {len(x)} images in "
                    f"{part['images'].name}; the two files must come from the same set")
        xs.append(x)
        ys.append(y)
        described.append({"part": part["part"], "n": int(len(x)), "images": str(part["images"]),
                          "labels": None if part["labels"] is None else str(part["labels"])})
    if len({x.shape[1:] for x in xs}) > 1:
        raise GankitError(
            f"the IDX parts in {source} have different image sizes "
            f"{sorted({x.shape[1:] for x in xs})}; keep one set per folder")
    missing = [d["images"] for d in described if d["labels"] is None]
    if missing:
        _warn(f"no labels file beside {_names(missing)}; loading {source} without labels")
        y_all = None
    else:
        y_all = np.concatenate(ys)
    name = source.name if source.is_dir() else _IDX_IMAGES.match(source.name)["prefix"]
    return images_from_array(np.concatenate(xs), y_all, name=name, source=str(source),
                             meta={"format": "idx", "files": described}, **opts)


# ------------------------------------------------------------------------------------- labels
def _map_labels(raw, label_map, class_names, where: str) -> tuple[np.ndarray, list[str] | None, int]:
    """Raw labels (integers or names) -> (int64 labels 0..K-1, class names, K)."""
    raw = np.asarray(raw)
    if raw.ndim != 1:
        raise GankitError(f"labels of {where} have shape {raw.shape}; expected one label per image")
    if label_map is not None:
        if isinstance(label_map, Mapping):
            table = {k: int(v) for k, v in label_map.items()}
        else:
            table = {k: i for i, k in enumerate(label_map)}
        if not table:
            raise GankitError("label_map is empty; map each raw label to a class index 0..K-1")
        values = sorted(set(table.values()))
        if values[0] < 0:
            raise GankitError(f"label_map maps to {values[0]}; class indices must be 0..K-1")
        k = values[-1] + 1
        lookup = {**{str(key): v for key, v in table.items()}, **table}
        uniq, inverse = np.unique(raw, return_inverse=True)
        mapped = []
        for u in uniq.tolist():
            key = u if u in lookup else str(u)
            if key not in lookup:
                count = int((raw == u).sum())
                raise GankitError(
                    f"label {u!r} ({count} images in {where}) is not one of the classes in "
                    f"label_map ({_names(list(map(str, table)))}); add it to label_map or remove "
                    "those images")
            mapped.append(lookup[key])
        names: list[list[str]] = [[] for _ in range(k)]
        for key, v in table.items():
            names[v].append(str(key))
        return (np.asarray(mapped, dtype=np.int64)[inverse.reshape(-1)],
                ["/".join(n) if n else str(i) for i, n in enumerate(names)], k)

    if raw.dtype.kind in "USO":
        classes = sorted({str(v) for v in raw.tolist()})
        index = {c: i for i, c in enumerate(classes)}
        if class_names is not None:
            index = {str(c): i for i, c in enumerate(class_names)}
            unknown = sorted({str(v) for v in raw.tolist()} - set(index))
            if unknown:
                raise GankitError(
                    f"labels {_names(unknown)} in {where} are not among its class_names "
                    f"({_names([str(c) for c in class_names])}); fix the labels or the class names")
            classes = [str(c) for c in class_names]
        return np.asarray([index[str(v)] for v in raw.tolist()], dtype=np.int64), classes, len(classes)

    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or not np.all(raw == np.round(raw)):
            raise GankitError(f"labels of {where} are not whole numbers; use integers 0..K-1")
    elif raw.dtype.kind not in "iub":
        raise GankitError(f"labels of {where} have dtype {raw.dtype}; expected integers 0..K-1")
    y = raw.astype(np.int64)
    present = np.unique(y)
    if class_names is not None:
        k = len(class_names)
        outside = present[(present < 0) | (present >= k)]
        if len(outside):
            raise GankitError(
                f"label {int(outside[0])} in {where} is outside the {k} classes 0..{k - 1} named by "
                "its class_names; fix the labels or add the class")
        return y, [str(c) for c in class_names], k
    if present.min() < 0:
        raise GankitError(
            f"label {int(present.min())} in {where} is outside the classes 0..K-1; "
            "pass label_map to renumber the labels")
    k = int(present.max()) + 1
    if len(present) != k:
        absent = sorted(set(range(k)) - set(present.tolist()))
        raise GankitError(
            f"labels of {where} skip classes {_names(absent)} (found {_names(present.tolist())}); "
            "pass label_map (e.g. {%s}) to renumber them 0..K-1"
            % ", ".join(f"{int(v)}: {i}" for i, v in enumerate(present[:3])))
    return y, None, k


# -------------------------------------------------------------------------------------- arrays
def _scale_to_unit(x: np.ndarray, where: str) -> tuple[np.ndarray, str]:
    """Any supported pixel encoding -> float32 in [0, 1], and the name of the encoding seen."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0, "uint8 0..255"
    if x.dtype == np.bool_:
        return x.astype(np.float32), "bool"
    if x.dtype.kind in "iu":
        hi = int(x.max()) if x.size else 0
        if int(x.min()) < 0:
            raise GankitError(f"integer images in {where} have negative values; expected 0..255")
        if hi <= 255:
            return x.astype(np.float32) / 255.0, "integers 0..255"
        if hi <= 65535:
            return x.astype(np.float32) / 65535.0, "integers 0..65535"
        raise GankitError(f"integer images in {where} exceed 65535; expected 0..255 pixels")
    if x.dtype.kind != "f":
        raise GankitError(f"images in {where} have dtype {x.dtype}; expected uint8 or float")
    check_finite(x, f"images in {where}")
    x = x.astype(np.float32, copy=False)
    lo, hi = float(x.min()), float(x.max())
    eps = 1e-4
    if lo >= -1 - eps and hi <= 1 + eps and lo < 0:
        return np.clip((x + 1.0) / 2.0, 0, 1), "float -1..1"
    if lo >= -eps and hi <= 1 + eps:
        return np.clip(x, 0, 1), "float 0..1"
    if lo >= -eps and hi <= 255 + eps:
        return np.clip(x / 255.0, 0, 1), "float 0..255"
    raise GankitError(
        f"float images in {where} range over [{lo:g}, {hi:g}]; expected [0, 1], [-1, 1] or [0, 255]")


def _convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        return torch.einsum("nchw,c->nhw", x, torch.from_numpy(_LUMA))[:, None]
    raise GankitError(f"cannot convert {c}-channel images to {channels} channels")


def _target_size(image_size, native: tuple[int, int]) -> tuple[int, int]:
    if image_size is None:
        return native
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise GankitError(
            f"image_size must be a positive integer such as 32 or 64 (or None for the native size), "
            f"got {image_size!r}")
    return int(image_size), int(image_size)


def _center_crop_to_aspect(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    # keep the centre of non-square pictures instead of squashing them
    h, w = x.shape[-2:]
    th, tw = size
    if h * tw == w * th:
        return x
    if h * tw > w * th:
        new_h = max(1, round(w * th / tw))
        top = (h - new_h) // 2
        return x[..., top:top + new_h, :]
    new_w = max(1, round(h * tw / th))
    left = (w - new_w) // 2
    return x[..., :, left:left + new_w]


def _check_channels(channels) -> None:
    if channels is not None and channels not in (1, 3):
        raise GankitError(f"channels must be 1 (grayscale), 3 (RGB) or None, got {channels!r}")


def images_from_array(x, y=None, image_size: int | None = 32, channels: int | None = None,
                      label_map=None, class_names: Sequence[str] | None = None,
                      name: str = "array", source: str | None = None,
                      meta: dict[str, Any] | None = None) -> Dataset:
    """In-memory images (array or tensor, (N, H, W) or (N, C, H, W), C 1 or 3; channels-last
    (N, H, W, C) is also read) with optional labels -> `Dataset`, resized and scaled to [-1, 1]."""
    _check_channels(channels)
    where = source or name
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4:
        if arr.shape[1] not in (1, 3) and arr.shape[-1] in (1, 3):
            arr = np.moveaxis(arr, -1, 1)
        elif arr.shape[1] not in (1, 3):
            raise GankitError(
                f"images in {where} have shape {arr.shape}; expected (N, H, W) or (N, C, H, W) "
                "with C = 1 (grayscale) or 3 (RGB)")
    else:
        raise GankitError(
            f"images in {where} have shape {arr.shape}; expected (N, H, W) or (N, C, H, W)")
    if arr.shape[0] == 0:
        raise GankitError(f"{where} holds no images")
    n, c, h, w = arr.shape
    unit, encoding = _scale_to_unit(arr, where)
    channels = channels or c
    size = _target_size(image_size, (h, w))
    labels, names, k = (None, None, 0)
    if y is not None:
        y_np = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        if y_np.ndim != 1 or len(y_np) != n:
            raise GankitError(
                f"{where} has {n} images but labels of shape {y_np.shape}; pass one label per image")
        labels, names, k = _map_labels(y_np, label_map, class_names, where)
    out = torch.empty((n, channels, *size), dtype=torch.float32)
    chunk = 4096  # bounds the float copies for large arrays
    for s in range(0, n, chunk):
        part = _convert_channels(torch.from_numpy(np.ascontiguousarray(unit[s:s + chunk])), channels)
        part = _center_crop_to_aspect(part, size)
        out[s:s + chunk] = resize_images(part, size).clamp_(0, 1)
    out.mul_(2).sub_(1)
    info = {"source": source or name, "format": "array", "image_size": size[0] if size[0] == size[1]
            else list(size), "channels": channels, "original_size": [h, w],
            "original_channels": c, "pixel_encoding": encoding}
    info.update(meta or {})
    return Dataset(x=out, y=None if labels is None else torch.from_numpy(labels), kind="images",
                   name=name, num_classes=k, class_names=names, meta=info)


def _load_array_file(path: Path, **opts) -> Dataset:
    try:
        data = np.load(path, allow_pickle=False)  # never unpickle user files
    except ValueError as e:
        raise GankitError(
            f"{path} holds Python objects (pickled data), which gankit does not load; save plain "
            f"numeric arrays with numpy.save/savez ({e})") from None
    except (OSError, EOFError) as e:
        raise GankitError(f"cannot read {path} as a numpy file ({e}); is it truncated?") from None
    y = class_names = None
    if path.suffix.lower() == ".npz":
        with data:
            keys = list(data.keys())
            xk = next((k for k in ("x", "images", "X", "data") if k in keys), None)
            if xk is None and len(keys) == 1:
                xk = keys[0]
            if xk is None:
                raise GankitError(
                    f"{path} has arrays {keys}; name the images 'x' or 'images' (and labels 'y' or "
                    "'labels')")
            yk = next((k for k in ("y", "labels", "Y", "targets") if k in keys), None)
            try:
                x = data[xk]
                y = data[yk] if yk else None
                class_names = data["class_names"].tolist() if "class_names" in keys else None
            except ValueError as e:
                raise GankitError(f"{path} holds Python objects (pickled data), which gankit does "
                                  f"not load; save plain arrays ({e})") from None
    else:
        x = data
    return images_from_array(x, y, class_names=class_names, name=path.stem, source=str(path),
                             meta={"format": path.suffix.lower()[1:]}, **opts)


# -------------------------------------------------------------------------------------- digits
def _load_digits(**opts) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.float32) / 16.0  # 0..16 ink levels
    return images_from_array(x, d.target, class_names=[str(c) for c in d.target_names],
                             name="digits", source="digits",
                             meta={"format": "sklearn", "pixel_encoding": "0..16"}, **opts)


# ---------------------------------------------------------------------------------- dispatcher
def load_images(source, image_size: int | None = 32, channels: int | None = None,
                label_map=None) -> Dataset:
    """Load an image source as a `Dataset` of (N, C, image_size, image_size) images in [-1, 1].

    source: "digits", a folder (IDX files, or pictures with optional class sub-folders), an IDX
      images file, or a .npy/.npz file. The name "digits" always means the built-in set; write
      "./digits" for a folder of that name.
    image_size: side of the square output (the networks take 32 or 64); None keeps the native
      size (the most common one when sizes differ).
    channels: 1 or 3 forces grayscale or RGB; None keeps the source's (RGB if any is colour).
    label_map: renumbers raw labels (ints, or class folder names) to 0..K-1: a dict
      {raw: index} or a list of raw labels in index order. Labels it does not name are an error.
    """
    _check_channels(channels)
    _target_size(image_size, (1, 1))
    opts = {"image_size": image_size, "channels": channels}
    if isinstance(source, str) and source.lower() == "digits":
        return _load_digits(label_map=label_map, **opts)
    path = Path(source).expanduser()
    if not path.exists():
        raise GankitError(
            f"image source {str(source)!r} not found: no such file or folder; pass 'digits', a "
            "folder of images or IDX files, or a .npy/.npz file")
    if path.is_dir():
        parts = find_idx_files(path)
        if parts:
            return _load_idx(parts, path, label_map=label_map, **opts)
        from .image_folders import load_folder  # it imports this module's helpers
        return load_folder(path, image_size, channels, label_map)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return _load_array_file(path, label_map=label_map, **opts)
    m = _IDX_IMAGES.match(path.name)
    if m:
        labels = [p for p in find_idx_files(path.parent) if p["images"] == path]
        part = labels[0] if labels else {"part": m["prefix"], "images": path, "labels": None}
        return _load_idx([part], path, label_map=label_map, **opts)
    raise GankitError(
        f"cannot read images from {path}: expected a folder, an IDX images file "
        "(*-images-idx3-ubyte[.gz]) or a .npy/.npz file")

