"""Pictures in a page: the `Figure` experiment modules hand in, and embedding every picture as a
base64 `data:` URI within a size budget (big stills re-encoded smaller, animated GIFs thinned to
fewer and smaller frames), so a page with many figures stays under about 5 MB."""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .values import href

# Pictures larger than this (longest side, pixels) or heavier than this (bytes) are re-encoded.
IMAGE_MAX_SIDE = 1400
IMAGE_MAX_BYTES = 1_200_000
# All embedded pictures of one page together (raw bytes; base64 adds a third): keeps a page
# with many figures under about 5 MB.
PAGE_IMAGE_BUDGET = 3_300_000
EMBEDDABLE = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


@dataclass
class Figure:
    """A picture file shown in the page.

    path: PNG, JPEG, GIF (animated too) or WebP file; embedded, re-encoded smaller if big.
    caption: what the figure shows (plain text). alt: text for readers who cannot see it
    (default: the caption). link: the file the figure links to (default: `path`).
    """
    path: str | Path
    caption: str = ""
    alt: str | None = None
    link: str | Path | None = None


@dataclass
class Picture:
    """A figure as the template sees it; `src` etc. are filled in by `embed_all`."""
    path: Path | None
    caption: str
    alt: str
    href: str | None = None
    href_label: str = ""
    extra_links: list[tuple[str, str]] = field(default_factory=list)
    id: str = ""
    src: str = ""
    width: int = 0
    height: int = 0
    orig_width: int = 0
    orig_height: int = 0
    resized: bool = False
    n_bytes: int = 0
    note: str = ""
    source: str = ""
    frames: int = 1


def _open_image(path: Path):
    from PIL import Image
    return Image.open(path)


def _encode_still(img, fmt: str, side: int, max_bytes: int) -> tuple[bytes, tuple[int, int], str]:
    """Re-encode a still picture to at most `side` pixels a side and `max_bytes`: PNG first, then
    a 256-colour PNG (plots have few colours), then JPEG (photo-like content), then smaller."""
    from PIL import Image

    w, h = img.size
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    if img.mode == "RGBA" and img.getchannel("A").getextrema() == (255, 255):
        img = img.convert("RGB")  # matplotlib writes opaque RGBA; the alpha only costs bytes
    scale = min(1.0, side / max(w, h))
    lossy = fmt == "JPEG"
    data, size, mime = b"", (w, h), "image/png"
    for _ in range(8):
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = img.resize(size, Image.LANCZOS, reducing_gap=2.0) if size != (w, h) else img
        if not lossy:
            buf = io.BytesIO()
            small.save(buf, format="PNG", compress_level=3)
            if buf.tell() > max_bytes and small.mode in ("RGB", "RGBA"):
                buf = io.BytesIO()
                small.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG", compress_level=3)
            data, mime = buf.getvalue(), "image/png"
            if len(data) <= max_bytes:
                break
            lossy = True  # still too big: photo-like content, which JPEG holds far better
        flat = small
        if small.mode in ("RGBA", "LA"):
            flat = Image.new("RGB", small.size, "white")
            flat.paste(small, mask=small.getchannel("A"))
        elif small.mode != "L":
            flat = small.convert("RGB")
        buf = io.BytesIO()
        flat.save(buf, format="JPEG", quality=85)
        data, mime = buf.getvalue(), "image/jpeg"
        if len(data) <= max_bytes or max(size) <= 96:
            break
        scale *= min(0.85, 0.95 * math.sqrt(max_bytes / len(data)))
    return data, size, mime


def _encode_gif(img, side: int, max_bytes: int) -> tuple[bytes, tuple[int, int], int]:
    """Re-encode an animated GIF to fit `max_bytes`: smaller frames, then fewer (evenly spaced,
    always keeping the last); sizes are estimated from one frame so the whole GIF is encoded
    once or twice only."""
    from PIL import Image, ImageSequence

    frames, durations = [], []
    for frame in ImageSequence.Iterator(img):
        frames.append(frame.convert("RGB"))
        durations.append(frame.info.get("duration", img.info.get("duration", 200)))
    w, h = img.size
    scale = min(1.0, side / max(w, h))

    def shrink(frame, size):
        small = frame.resize(size, Image.LANCZOS, reducing_gap=2.0) if size != (w, h) else frame
        return small.quantize(256, method=Image.Quantize.FASTOCTREE)

    def encode(indices, size):
        small = [shrink(frames[i], size) for i in indices]
        step = len(frames) / max(1, len(indices))
        buf = io.BytesIO()
        small[0].save(buf, format="GIF", save_all=True, append_images=small[1:], optimize=False,
                      duration=[int(durations[i] * step) for i in indices], loop=img.info.get("loop", 0))
        return buf.getvalue()

    def pick(k):
        k = max(1, min(k, len(frames)))
        if k == 1:
            return [len(frames) - 1]
        return sorted({round(j * (len(frames) - 1) / (k - 1)) for j in range(k)})

    data, size, chosen = b"", (w, h), list(range(len(frames)))
    for _ in range(6):
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        per_frame = len(encode([len(frames) - 1], size)) * 1.05
        k = int(max_bytes // per_frame)
        if k < min(8, len(frames)) and max(size) > 96:
            scale *= min(0.85, 0.95 * math.sqrt(max_bytes / (per_frame * min(8, len(frames)))))
            continue
        chosen = pick(max(k, 1))
        data = encode(chosen, size)
        if len(data) <= max_bytes or max(size) <= 96:
            break
        scale *= 0.85
    if not data:
        data = encode(chosen, size)
    return data, size, len(chosen)


def _embed(pic: Picture, side: int, max_bytes: int) -> None:
    path = pic.path
    assert path is not None
    raw = path.read_bytes()
    try:
        with _open_image(path) as img:
            fmt = img.format or ""
            w, h = img.size
            n_frames = getattr(img, "n_frames", 1)
            pic.orig_width, pic.orig_height, pic.frames = w, h, n_frames
            if fmt in EMBEDDABLE and max(w, h) <= side and len(raw) <= max_bytes:
                data, size, mime = raw, (w, h), EMBEDDABLE[fmt]
            elif fmt == "GIF" and n_frames > 1:
                data, size, kept = _encode_gif(img, side, max_bytes)
                mime, pic.frames = "image/gif", kept
            else:
                img.load()
                data, size, mime = _encode_still(img, fmt, side, max_bytes)
    except (OSError, ValueError, SyntaxError) as exc:
        pic.note = f"{path.name} could not be read as a picture ({exc.__class__.__name__}: {exc})"
        pic.src = ""
        return
    pic.src = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    pic.width, pic.height = size
    pic.resized = size != (pic.orig_width, pic.orig_height) or data is not raw
    pic.n_bytes = len(data)


def _fair_cap(sizes: list[int], budget: int) -> int:
    """The largest cap c with sum(min(size, c)) <= budget ("water filling")."""
    rest, left = sorted(sizes), budget
    for i, size in enumerate(rest):
        share = left // (len(rest) - i)
        if size > share:
            return max(share, 1)
        left -= size
    return max(rest, default=budget)


def embed_all(pics: list[Picture], budget: int = PAGE_IMAGE_BUDGET) -> None:
    """Embed every picture; if together they exceed `budget` bytes, the biggest are re-encoded
    smaller, each to a fair share of the budget (small pictures are left as they are)."""
    present = []
    for pic in pics:
        if pic.path is None:
            continue
        if not pic.path.is_file():
            pic.note = pic.note or f"{pic.path.name} is missing"
            continue
        present.append(pic)
    # the files' sizes estimate what embedding costs, so most pictures are encoded once
    first_cap = _fair_cap([p.path.stat().st_size for p in present], budget)
    for pic in present:
        _embed(pic, IMAGE_MAX_SIDE, min(IMAGE_MAX_BYTES, max(first_cap, 50_000)))
    embedded = [p for p in pics if p.src]
    for _ in range(3):
        if sum(p.n_bytes for p in embedded) <= budget:
            break
        cap = _fair_cap([p.n_bytes for p in embedded], budget)
        for pic in embedded:
            if pic.n_bytes > cap:
                # bytes grow with pixels: shrink the sides by the square root of the excess
                side = max(96, int(max(pic.width, pic.height) * min(0.95, math.sqrt(cap / pic.n_bytes))))
                _embed(pic, side, cap)


def _locate(path: str | Path, out_dir: Path) -> Path:
    """A relative path is taken from the current folder, or else from out_dir."""
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (out_dir / path).exists():
        return out_dir / path
    return path


def user_figure(spec: Any, out_dir: Path) -> Picture:
    """A `Figure` (or a path, tuple or dict standing for one) as a picture of the page."""
    if isinstance(spec, Figure):
        fig = spec
    elif isinstance(spec, Mapping):
        fig = Figure(**dict(spec))
    elif isinstance(spec, (tuple, list)):
        fig = Figure(*spec)
    else:
        fig = Figure(spec)
    path = _locate(fig.path, out_dir)
    link = _locate(fig.link, out_dir) if fig.link is not None else path
    caption = fig.caption or path.name
    pic = Picture(path=path, caption=caption, alt=fig.alt or caption,
                  href=href(link, out_dir) if link.exists() else None, href_label=link.name,
                  source=href(path, out_dir) or "")
    if not path.is_file():
        pic.path, pic.note = None, f"{path.name} is missing (looked for {path})"
    elif path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
        pic.path = None
        pic.note = f"{path.name} is not embedded (only PNG, JPEG, GIF and WebP are); follow the link"
    return pic
