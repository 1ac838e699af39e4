"""`gankit report`: one self-contained HTML page per run, per comparison of runs, or per experiment.

The page opens anywhere without a network: pictures and the training GIF are embedded as base64
`data:` URIs (big ones re-encoded smaller with Pillow), styles are inline, and the only script is
a small inline one that sorts tables. Every figure has alt text and a caption that links to its
file (a relative link, so it works wherever the run directory and the page travel together);
tables are real `<table>`s whose cells carry the raw numbers in `data-value` attributes, and the
whole content is repeated as JSON in `<script type="application/json" id="gankit-report-data">`
for programs.

Python:
    write_report(run_dirs, out=None, title=None) -> Path
        one run: RUN_DIR/report.html by default; several runs side by side: by default
        report.html in the runs' common parent folder (they must share one; else pass `out`).
    write_experiment_report(out_dir, title, sections, ...) -> Path
        the generic builder experiment modules call (see its docstring).

Command line: `gankit report RUN_DIR [RUN_DIR ...] [--out FILE] [--title TEXT]`.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import math
import os
import re
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from .errors import GankitError

__all__ = ["write_report", "write_experiment_report", "Section", "Table", "Figure",
           "render_markdown", "register_cli", "REPORT_NAME"]

REPORT_NAME = "report.html"
# Pictures larger than this (longest side, pixels) or heavier than this (bytes) are re-encoded.
IMAGE_MAX_SIDE = 1400
IMAGE_MAX_BYTES = 1_200_000
# All embedded pictures of one page together (raw bytes; base64 adds a third): keeps a page
# with many figures under about 5 MB.
PAGE_IMAGE_BUDGET = 3_300_000
EMBEDDABLE = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
LOSS_KEYS = ("d_loss", "g_loss", "wasserstein", "gradient_penalty")
# metric fields shown as percentages (the stored value is the fraction)
FRACTION_FIELDS = {"hq", "precision", "recall", "coverage", "accuracy", "ci_low", "ci_high",
                   "normalised_entropy", "proportions", "per_class"}
FIELD_UNITS = {"hq": "% of samples", "precision": "%", "recall": "%", "coverage": "%",
               "accuracy": "%", "normalised_entropy": "% of log K", "proportions": "%",
               "per_class": "%", "reverse_kl": "nats", "entropy": "nats", "modes": "modes",
               "counts": "samples", "n": "samples", "n_test": "samples", "subset_size": "samples",
               "subsets": "subsets", "splits": "splits", "seconds": "s", "fake": "distance",
               "real": "distance", "ratio": "fake / real"}


# ---------------------------------------------------------------------------------------------
# Public building blocks for experiment reports
# ---------------------------------------------------------------------------------------------
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
class Table:
    """A table: `data` is a pandas DataFrame, a list of dicts (one per row), or a dict of columns.

    caption: a sentence saying what the table holds.
    units: {column: unit}, shown in the header, e.g. {"time": "s", "hq": "%"}.
    formats: {column: format spec}, e.g. {"hq": ".1%", "fid": ".2f"} (default: 4 significant
        digits for floats).
    spread: {value column: spread column}: the two are shown as one "mean ± spread" cell. With
        None (default) pairs are found by name: "X" or "X_mean" with "X_std" (also "X_se",
        "X_sem"); False turns this off. A cell whose value is a dict {"mean": m, "std": s} is
        always shown as "m ± s".
    spread_label: how the header names the spread ("std" by default; say "s.e." for standard
        errors, as in published tables).
    sortable: clicking a header sorts the rows (inline script, no network).
    row_header: the first column names the rows (<th scope="row">).
    """
    data: Any
    caption: str = ""
    units: Mapping[str, str] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)
    spread: Mapping[str, str] | bool | None = None
    spread_label: str = "std"
    sortable: bool = True
    row_header: bool = True


@dataclass
class Section:
    """One part of an experiment report, shown in this order: heading, notes, text, tables, figures.

    text: markdown-ish prose (see `render_markdown`). tables: `Table`s, DataFrames, lists of
    dicts, or dicts with Table's fields as keys. figures: `Figure`s, paths, (path, caption)
    pairs, or dicts with Figure's fields as keys; shown side by side, wrapping. notes: short
    warnings shown highlighted (something missing, a caveat on comparability).
    """
    heading: str
    text: str = ""
    tables: Sequence[Any] = ()
    figures: Sequence[Any] = ()
    notes: Sequence[str] = ()


# ---------------------------------------------------------------------------------------------
# Small helpers: plain values, number formatting, links
# ---------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """JSON-safe plain values: numpy and torch scalars/arrays unwrapped, NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    try:
        import pandas as pd
        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def _json(value: Any) -> str:
    return json.dumps(_plain(value), allow_nan=False, ensure_ascii=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value: Any, spec: str | None = None, percent: bool = False) -> str:
    """A number or value as a person reads it (the exact value goes in data-value)."""
    value = _plain(value)
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        if percent:
            return f"{100 * value:g}%"
        return format(value, spec) if spec else str(value)
    if isinstance(value, float):
        if spec:
            try:
                return format(value, spec)
            except ValueError:
                pass
        if percent:
            return f"{100 * value:.1f}%"
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"
    if isinstance(value, list):
        shown = [_fmt(v, spec, percent) if not isinstance(v, (list, dict)) else _json(v) for v in value]
        text = "[" + ", ".join(shown) + "]"
        return text if len(text) <= 160 else text[:157] + "…]"
    if isinstance(value, dict):
        text = _json(value)
        return text if len(text) <= 160 else text[:157] + "…}"
    return str(value)


def _fmt_spread(mean: Any, spread: Any, spec: str | None = None, percent: bool = False) -> str:
    return f"{_fmt(mean, spec, percent)} ± {_fmt(spread, spec, percent)}"


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _href(target: Path, base: Path) -> str | None:
    """A relative link from the folder `base` to `target` (never an absolute address)."""
    try:
        rel = os.path.relpath(Path(target).resolve(), Path(base).resolve())
    except ValueError:  # another drive on Windows: no relative path exists
        return None
    rel = rel.replace(os.sep, "/")
    if Path(target).is_dir() and not rel.endswith("/"):
        rel += "/"
    return quote(rel, safe="/._-~")


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _mtime(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Markdown-ish text
# ---------------------------------------------------------------------------------------------
_INLINE_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_OUTSIDE = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.I)


def _inline(text: str) -> str:
    codes: list[str] = []

    def keep_code(m):
        codes.append(f"<code>{html.escape(m.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _INLINE_CODE.sub(keep_code, text)
    links: list[str] = []

    def keep_link(m):
        label, target = m.group(1), m.group(2)
        if _OUTSIDE.match(target) or target.startswith("\\"):
            # the page refers to nothing outside itself: show outside addresses as text
            links.append(f"{html.escape(label)} ({html.escape(target)})")
        else:
            links.append(f'<a href="{html.escape(target, quote=True)}">{html.escape(label)}</a>')
        return f"\x01{len(links) - 1}\x01"

    text = _LINK.sub(keep_link, text)
    text = html.escape(text, quote=False)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _EM.sub(r"<em>\1</em>", text)
    text = re.sub("\x01(\\d+)\x01", lambda m: links[int(m.group(1))], text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def render_markdown(text: str) -> str:
    """Markdown-ish text to HTML (returned as a string of trusted markup).

    Understood: paragraphs (blank lines between), `#`/`##`/`###` headings (rendered below the
    section's own heading level), `- ` or `* ` bullet lists, `1. ` numbered lists, `> ` quotes,
    fenced ``` code blocks, and inline `code`, **bold**, *emphasis* and [text](relative/link).
    Everything else is escaped, so text cannot inject markup. Links to outside addresses
    (http:, https:, //...) are shown as text, since the page refers to nothing outside itself.
    """
    if not text:
        return ""
    lines = str(text).replace("\r\n", "\n").strip("\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    list_kind = ""

    def flush_para():
        if para:
            out.append("<p>" + _inline(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    def flush_list():
        nonlocal list_kind
        if items:
            out.append(f"<{list_kind}>" + "".join(f"<li>{_inline(i)}</li>" for i in items)
                       + f"</{list_kind}>")
            items.clear()
        list_kind = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush_para()
            flush_list()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(block)) + "</code></pre>")
        elif not stripped:
            flush_para()
            flush_list()
        elif m := re.match(r"^(#{1,3})\s+(.*)$", stripped):
            flush_para()
            flush_list()
            level = len(m.group(1)) + 2
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif m := re.match(r"^([-*]|\d+[.)])\s+(.*)$", stripped):
            flush_para()
            kind = "ul" if m.group(1) in "-*" else "ol"
            if list_kind and kind != list_kind:
                flush_list()
            list_kind = kind
            items.append(m.group(2))
        elif stripped.startswith(">"):
            flush_para()
            flush_list()
            out.append("<blockquote><p>" + _inline(stripped.lstrip("> ")) + "</p></blockquote>")
        elif items and line[:1] in (" ", "\t"):
            items[-1] += " " + stripped
        else:
            flush_list()
            para.append(stripped)
        i += 1
    flush_para()
    flush_list()
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Pictures: embedding with a size budget
# ---------------------------------------------------------------------------------------------
@dataclass
class _Pic:
    """A figure as the template sees it; `src` etc. are filled in by `_embed_all`."""
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


def _embed(pic: _Pic, side: int, max_bytes: int) -> None:
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


def _embed_all(pics: list[_Pic], budget: int = PAGE_IMAGE_BUDGET) -> None:
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


# ---------------------------------------------------------------------------------------------
# Tables as the template sees them
# ---------------------------------------------------------------------------------------------
def _cell(value: Any = None, text: str | None = None, *, spec: str | None = None, percent: bool = False,
          spread: Any = None, href: str | None = None, header: bool = False, rowspan: int = 1,
          cls: str = "", pairs: list | None = None, raw: bool = True,
          fields: Mapping[str, Any] | None = None) -> dict:
    """One table cell: visible `text`, and the exact value in data-value (numbers, lists)."""
    plain = _plain(value)
    if text is None:
        text = _fmt_spread(plain, spread, spec, percent) if spread is not None else _fmt(plain, spec, percent)
    data_value = None
    if raw and (plain is None or _is_number(plain) or isinstance(plain, (list, dict, bool))):
        data_value = _json(plain)
    numbers = [v for v in (fields or {}).values() if _is_number(_plain(v))]
    if _is_number(plain):
        sort = repr(plain)
    elif isinstance(plain, dict) and _is_number(plain.get("mean")):
        sort = repr(plain["mean"])
    elif numbers:
        sort = repr(_plain(numbers[0]))
    else:
        sort = text
    return {"text": text, "value": data_value, "spread": None if spread is None else _json(spread),
            "sort": sort, "href": href, "header": header, "rowspan": rowspan, "cls": cls,
            "pairs": pairs, "fields": None if fields is None else _json(fields)}


def _table(columns: list[dict | str], rows: list[dict], caption: str = "", *, sortable: bool = True,
           cls: str = "", tid: str = "") -> dict:
    cols = [c if isinstance(c, dict) else {"label": c} for c in columns]
    for c in cols:
        c.setdefault("unit", "")
        c.setdefault("key", c["label"])
        c.setdefault("title", "")
        c.setdefault("spread", "")
    cls = " ".join(c for c in (cls, "sortable" if sortable else "") if c)
    return {"columns": cols, "rows": rows, "caption": caption, "sortable": sortable, "cls": cls,
            "id": tid}


def _row(cells: list[dict], **attrs: Any) -> dict:
    return {"cells": cells, "attrs": {k.replace("_", "-"): v for k, v in attrs.items() if v is not None}}


def _kv_table(pairs: Iterable[tuple[str, Any]], caption: str, *, sortable: bool = False,
              key_label: str = "setting", value_label: str = "value", tid: str = "") -> dict:
    rows = []
    for key, value in pairs:
        cell = value if isinstance(value, dict) and "text" in value else _cell(value)
        rows.append(_row([_cell(text=key, header=True, raw=False), cell], data_key=key))
    return _table([key_label, value_label], rows, caption, sortable=sortable, cls="kv", tid=tid)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        out = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


def _records_of(data: Any) -> list[dict]:
    """Rows of a DataFrame, list of dicts, dict of columns, or list of sequences."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.Series):
        data = data.to_frame()
    if pd is not None and isinstance(data, pd.DataFrame):
        frame = data
        if isinstance(frame.columns, pd.MultiIndex):
            frame = frame.copy()
            frame.columns = [" / ".join(str(p) for p in c if str(p)) for c in frame.columns]
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
            frame = frame.reset_index()
        return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
    if isinstance(data, Mapping):
        keys = list(data)
        n = max((len(data[k]) for k in keys), default=0)
        return [{str(k): data[k][i] if i < len(data[k]) else None for k in keys} for i in range(n)]
    rows = list(data)
    if rows and not isinstance(rows[0], Mapping):
        raise GankitError("a report table needs a DataFrame, a list of dicts or a dict of columns; "
                          f"got a list of {type(rows[0]).__name__}")
    return [{str(k): v for k, v in row.items()} for row in rows]


SPREAD_SUFFIXES = ("_std", "_se", "_sem")


def _user_table(spec: Any) -> tuple[dict, dict]:
    """A `Table` (or what stands for one) -> (template table, its data for the JSON block)."""
    if isinstance(spec, Mapping) and "data" in spec:
        spec = Table(**dict(spec))
    elif not isinstance(spec, Table):
        spec = Table(spec)
    records = _records_of(spec.data)
    columns: list[str] = []
    for row in records:
        for key in row:
            if key not in columns:
                columns.append(key)
    spread: dict[str, str] = {}
    if spec.spread is None:
        for c in columns:
            for suffix in SPREAD_SUFFIXES:
                if c.endswith(suffix):
                    base = c[: -len(suffix)]
                    if base in columns:
                        spread.setdefault(base, c)
                    elif base + "_mean" in columns:
                        spread.setdefault(base + "_mean", c)
    elif isinstance(spec.spread, Mapping):
        spread = {str(k): str(v) for k, v in spec.spread.items() if str(k) in columns and str(v) in columns}
    shown = [c for c in columns if c not in spread.values()]
    units, formats = dict(spec.units), dict(spec.formats)
    head = []
    for c in shown:
        label = c[:-5] if c in spread and c.endswith("_mean") else c
        has_dict_spread = any(isinstance(r.get(c), Mapping) and "mean" in r.get(c, {}) for r in records)
        kind = f"mean ± {spec.spread_label}" if (c in spread or has_dict_spread) else ""
        head.append({"label": label, "unit": units.get(c, units.get(label, "")), "key": c, "title": kind,
                     "spread": spec.spread_label if kind else ""})
    rows = []
    for row in records:
        cells = []
        for j, c in enumerate(shown):
            value = _plain(row.get(c))
            fmt = formats.get(c)
            header = spec.row_header and j == 0
            if c in spread:
                cell = _cell(value, spec=fmt, spread=_plain(row.get(spread[c])), header=header)
            elif isinstance(value, dict) and "mean" in value and ("std" in value or "se" in value):
                s = value.get("std", value.get("se"))
                cell = _cell(value, _fmt_spread(value["mean"], s, fmt), header=header)
            else:
                cell = _cell(value, spec=fmt, header=header)
            cells.append(cell)
        rows.append(_row(cells))
    table = _table(head, rows, spec.caption, sortable=spec.sortable, cls="data")
    return table, {"caption": spec.caption, "columns": columns, "units": units,
                   "records": _plain(records)}


def _locate(path: str | Path, out_dir: Path) -> Path:
    """A relative path is taken from the current folder, or else from out_dir."""
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (out_dir / path).exists():
        return out_dir / path
    return path


def _user_figure(spec: Any, out_dir: Path) -> _Pic:
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
    pic = _Pic(path=path, caption=caption, alt=fig.alt or caption,
               href=_href(link, out_dir) if link.exists() else None, href_label=link.name,
               source=_href(path, out_dir) or "")
    if not path.is_file():
        pic.path, pic.note = None, f"{path.name} is missing (looked for {path})"
    elif path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
        pic.path = None
        pic.note = f"{path.name} is not embedded (only PNG, JPEG, GIF and WebP are); follow the link"
    return pic


# ---------------------------------------------------------------------------------------------
# Reading a run directory
# ---------------------------------------------------------------------------------------------
@dataclass
class _Run:
    path: Path
    name: str
    record: dict
    status: dict
    losses: dict[str, list[float]]
    metrics: dict | None
    metrics_note: str
    history: int
    checkpoints: list[tuple[int, Path]]
    samples: list[Path]
    notes: list[str] = field(default_factory=list)

    @property
    def train(self) -> dict:
        return self.record.get("train") or {}

    @property
    def data(self) -> dict:
        return self.record.get("data") or {}

    @property
    def state(self) -> str:
        return str(self.status.get("state") or "unknown")

    def final_losses(self) -> dict[str, float]:
        if not self.losses.get("step"):
            return {}
        return {k: v[-1] for k, v in self.losses.items() if k != "step" and v}


def _read_losses(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        return {}
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return {}
    columns: dict[str, list[float]] = {}
    for row in rows:
        try:
            values = {k: float(v) if v not in ("", None) else float("nan") for k, v in row.items() if k}
        except ValueError:
            continue  # a half-written last line of a running run
        if "step" not in values or math.isnan(values["step"]):
            continue
        for k, v in values.items():
            columns.setdefault(k, []).append(v)
    return columns


def _read_metrics(run_dir: Path) -> tuple[dict | None, str, int]:
    path = run_dir / "metrics.json"
    history = 0
    if (run_dir / "metrics.jsonl").is_file():
        with open(run_dir / "metrics.jsonl", encoding="utf-8", errors="replace") as handle:
            history = sum(1 for line in handle if line.strip())
    if not path.is_file():
        return None, (f"no metrics yet: {run_dir.name}/metrics.json does not exist "
                      f"(measure the run with `gankit eval {run_dir}`)"), history
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return None, f"metrics.json could not be read ({exc}); its history is in metrics.jsonl", history
    if not isinstance(summary, dict) or not isinstance(summary.get("results"), dict):
        return None, "metrics.json has no 'results' section; nothing to show", history
    if not summary["results"]:
        return summary, "metrics.json holds no results yet", history
    return summary, "", history


def _load_run(run_dir: str | Path) -> _Run:
    from .training.checkpoint import list_checkpoints
    from .training.run_dir import read_run_config, read_status

    path = Path(run_dir)
    if path.is_file():
        raise GankitError(f"{path} is a file; `gankit report` takes run directories (folders "
                          "holding config.yaml)")
    record = read_run_config(path)  # GankitError: missing folder, no config.yaml, bad YAML
    status = read_status(path)
    metrics, metrics_note, history = _read_metrics(path)
    run = _Run(path=path, name=path.resolve().name, record=record, status=status,
               losses=_read_losses(path / "losses.csv"), metrics=metrics, metrics_note=metrics_note,
               history=history, checkpoints=list_checkpoints(path),
               samples=sorted((path / "samples").glob("step_*.png")))
    state, step, total = run.state, status.get("step"), status.get("total_steps")
    where = f"step {step} of {total}" if step is not None else "an unknown step"
    if not status:
        run.notes.append("status.json is missing or unreadable: the run may have crashed before its "
                         "first log, or was written by an older gankit")
    elif state == "running":
        run.notes.append(f"still training, or interrupted without a clean stop: at {where} "
                         f"(last update {status.get('updated', 'unknown')}); pictures, losses and "
                         "checkpoints are as of then")
    elif state == "stopped":
        run.notes.append(f"stopped early at {where}")
    elif state == "diverged":
        reason = status.get("reason") or status.get("message") or "a loss became NaN or infinite"
        run.notes.append(f"diverged at {where}: {reason}; the last good checkpoint is kept")
    elif state != "finished":
        run.notes.append(f"unrecognised state {state!r} in status.json")
    if metrics_note:
        run.notes.append(metrics_note)
    if not run.losses:
        run.notes.append("no losses logged yet (losses.csv is missing or empty)")
    if not run.samples:
        run.notes.append("no sample pictures yet (samples/ is empty)")
    if not (path / "training.gif").is_file():
        run.notes.append("no training.gif (it is written when training ends)")
    if not run.checkpoints:
        run.notes.append("no checkpoints yet (checkpoints/ is empty)")
    return run


def _unique_names(runs: list[_Run]) -> None:
    names = [r.name for r in runs]
    if len(set(names)) < len(names):
        for r in runs:
            parts = r.path.resolve().parts
            r.name = "/".join(parts[-2:])


def _status_text(run: _Run) -> str:
    s = run.status
    if not s:
        return "unknown (no status.json)"
    step, total = s.get("step"), s.get("total_steps")
    text = run.state
    if step is not None:
        text += f": step {step}"
        if total:
            text += f" of {total} ({100 * step / total:.0f}%)"
    return text


def _command_text(command: Any) -> str:
    if isinstance(command, (list, tuple)):
        return shlex.join(str(c) for c in command)
    return "" if command is None else str(command)


def _trained_facts(run: _Run) -> list[tuple[str, Any]]:
    t, d, h = run.train, run.data, run.record.get("held_out") or {}
    remedy = t.get("remedy")
    if remedy == "pac":
        remedy = f"pac (PacGAN, {t.get('pac')} samples packed)"
    elif remedy == "minibatch":
        remedy = (f"minibatch discrimination ({t.get('minibatch_features')} kernels of dimension "
                  f"{t.get('minibatch_kernel_dim')})")
    shape = "×".join(str(s) for s in d.get("sample_shape") or [])
    versions = run.record.get("versions") or {}
    facts = [
        ("model", t.get("model")),
        ("network", t.get("net")),
        ("conditional", bool(t.get("conditional"))),
        ("remedy", remedy or "none"),
        ("data", d.get("name")),
        ("data source", d.get("source")),
        ("data kind", f"{d.get('kind')} of shape {shape}" if d.get("kind") else None),
        ("data fingerprint (sha256)", d.get("fingerprint")),
        ("training samples", d.get("n")),
        ("classes", d.get("num_classes")),
        ("held-out samples", h.get("n")),
        ("held-out fingerprint (sha256)", h.get("fingerprint")),
        ("seed", t.get("seed")),
        ("generator steps", t.get("steps") if t.get("steps") is not None else f"{t.get('epochs')} epochs"),
        ("batch size", t.get("batch_size")),
        ("device", t.get("device")),
        ("processes", (run.record.get("distributed") or {}).get("world_size")),
        ("gankit / torch", f"{versions.get('gankit', '?')} / {versions.get('torch', '?')}"),
        ("git revision", run.record.get("git_revision") or "not recorded (not run from a git checkout)"),
        ("command", _command_text(run.record.get("command"))),
        ("created", run.record.get("created")),
    ]
    if run.record.get("resumed"):
        facts.append(("resumed", ", ".join(map(str, run.record["resumed"]))))
    return [(k, v) for k, v in facts if v is not None]


# ---------------------------------------------------------------------------------------------
# Metrics: one row per number, the protocol beside it
# ---------------------------------------------------------------------------------------------
def _metric_rows(value: Any) -> list[dict]:
    """[{key, fields (path -> exact value), text, unit}] for one metric's value.

    A scalar value gives one row with key "" and fields {"": value}. A dict is flattened to
    dotted paths; "mean" with "std" become one "mean ± std" row, and "accuracy" with "ci_low"
    and "ci_high" one row with its 95% interval.
    """
    if not isinstance(value, Mapping):
        return [{"key": "", "fields": {"": value}, "text": _fmt(value), "unit": ""}]
    leaves = _flatten(value)
    lookup = dict(leaves)
    used: set[str] = set()
    rows = []
    for path, leaf in leaves:
        if path in used:
            continue
        prefix, _, base = path.rpartition(".")
        pre = prefix + "." if prefix else ""
        percent = base in FRACTION_FIELDS
        if base == "mean" and pre + "std" in lookup:
            std = lookup[pre + "std"]
            used.update({path, pre + "std"})
            rows.append({"key": prefix or "mean ± std", "fields": {path: leaf, pre + "std": std},
                         "text": _fmt_spread(leaf, std), "unit": ""})
        elif pre + "ci_low" in lookup and pre + "ci_high" in lookup and base == "accuracy":
            lo, hi = lookup[pre + "ci_low"], lookup[pre + "ci_high"]
            used.update({path, pre + "ci_low", pre + "ci_high"})
            rows.append({"key": path, "fields": {path: leaf, pre + "ci_low": lo, pre + "ci_high": hi},
                         "text": f"{_fmt(leaf, percent=True)} (95% interval "
                                 f"{_fmt(lo, percent=True)} to {_fmt(hi, percent=True)})",
                         "unit": "%"})
        else:
            used.add(path)
            rows.append({"key": path, "fields": {path: leaf}, "text": _fmt(leaf, percent=percent),
                         "unit": FIELD_UNITS.get(base, "")})
    return rows


def _unflatten(fields: Mapping[str, Any]) -> Any:
    """Inverse of the row fields: {"": v} -> v; {"a.b": v} -> {"a": {"b": v}}."""
    if set(fields) == {""}:
        return fields[""]
    out: dict = {}
    for path, value in fields.items():
        node = out
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _protocol_pairs(protocol: Any) -> list[tuple[str, str]]:
    if not isinstance(protocol, Mapping):
        return [("protocol", "not recorded")] if protocol is None else [("protocol", _fmt(protocol))]
    labels = {"n_real": "real samples", "n_fake": "generated samples", "features": "features",
              "real_split": "real split", "resize": "resizing"}
    pairs = []
    for k, v in protocol.items():
        shown = "none" if (k == "resize" and v is None) else _fmt(v)
        pairs.append((labels.get(k, k), shown))
    return pairs


def _metrics_table(run: _Run, base: Path) -> dict | None:
    if not run.metrics or not run.metrics.get("results"):
        return None
    rows = []
    for name, entry in run.metrics["results"].items():
        if isinstance(entry, Mapping) and "value" in entry:
            value, protocol = entry["value"], entry.get("protocol")
        else:
            value, protocol = entry, None
        mrows = _metric_rows(value)
        proto_json = _json(protocol)
        for i, m in enumerate(mrows):
            cells = []
            if i == 0:
                cells.append(_cell(text=name, header=True, rowspan=len(mrows), raw=False))
            cells.append(_cell(text=m["key"] or "value", raw=False))
            cells.append(_cell(text=m["text"], raw=False, cls="num", fields=m["fields"]))
            cells.append(_cell(text=m["unit"], raw=False))
            if i == 0:
                cells.append(_cell(text="", pairs=_protocol_pairs(protocol), rowspan=len(mrows), raw=False))
            rows.append(_row(cells, data_metric=name, data_key=m["key"], data_protocol=proto_json))
    caption = ("Metrics from metrics.json, each with the protocol it was measured under "
               f"(updated {run.metrics.get('updated', 'unknown')}). Fractions are shown as percentages; "
               "each value cell holds its exact numbers in a data-fields attribute (JSON: field path -> value; "
               "the empty path is the metric's value itself).")
    return _table([{"label": "metric"}, {"label": "quantity"}, {"label": "value"}, {"label": "unit"},
                   {"label": "protocol"}], rows, caption, sortable=False, cls="metrics", tid="metrics-table")


# ---------------------------------------------------------------------------------------------
# Page assembly
# ---------------------------------------------------------------------------------------------
class _Page:
    def __init__(self, title: str, kind: str, out: Path):
        self.title, self.kind, self.out = title, kind, out
        self.base = out.parent
        self.subtitle = ""
        self.notes: list[str] = []
        self.sections: list[dict] = []
        self.pics: list[_Pic] = []
        self.data: dict[str, Any] = {}
        self._ids: set[str] = set()
        self.regenerate = ""

    def section(self, heading: str, text: str = "", notes: Iterable[str] = ()) -> dict:
        s = {"id": _slug(heading, self._ids), "heading": heading, "html": render_markdown(text),
             "notes": list(notes), "blocks": []}
        self.sections.append(s)
        return s

    def add_table(self, section: dict, table: dict | None) -> None:
        if table is not None:
            table["id"] = _slug(table.get("id") or f"table {table.get('caption', '')[:40]}", self._ids)
            section["blocks"].append({"kind": "table", "table": table})

    def add_figures(self, section: dict, pics: list[_Pic]) -> None:
        pics = [p for p in pics if p is not None]
        for p in pics:
            p.id = _slug(f"fig {p.caption[:40]}", self._ids)
        self.pics.extend(pics)
        if pics:
            section["blocks"].append({"kind": "figures", "figures": pics, "row": False})

    def pic(self, path: Path, caption: str, alt: str, link: Path | None = None, drawn: bool = False) -> _Pic:
        """A figure from `path`, linked to `link` (default: the file itself). drawn: the file is a
        temporary picture made for this page, so the page names no source file for it."""
        link = link or path
        return _Pic(path=path, caption=caption, alt=alt, href=_href(link, self.base),
                    href_label=str(_href(link, self.base) or link.name),
                    source="" if drawn else (_href(path, self.base) or ""))

    def render(self) -> str:
        import jinja2
        from importlib.resources import files

        from markupsafe import Markup

        from . import __version__

        _embed_all(self.pics)
        template_text = files("gankit").joinpath("templates/report.html").read_text(encoding="utf-8")
        env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined)
        template = env.from_string(template_text)
        # text below was escaped by render_markdown / _inline, so it is safe to mark as markup
        self.notes = [Markup(_inline(str(n))) for n in self.notes]
        for s in self.sections:
            s["html"] = Markup(s["html"])
            s["notes"] = [Markup(_inline(str(n))) for n in s["notes"]]
        payload = {"gankit_report": 1, "kind": self.kind, "title": self.title, "generated": _now(),
                   "gankit_version": __version__, **self.data}
        data_json = (json.dumps(_plain(payload), allow_nan=False, ensure_ascii=False)
                     .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
        return template.render(page=self, version=__version__, generated=payload["generated"],
                               data_json=Markup(data_json))


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _loss_figure(page: _Page, runs: list[_Run], tmp: Path) -> tuple[_Pic | None, str]:
    """The loss curves: the run's own losses.png when it is current, else drawn from losses.csv."""
    if len(runs) == 1:
        run = runs[0]
        png, csv_path = run.path / "losses.png", run.path / "losses.csv"
        keys = [k for k in LOSS_KEYS if k in run.losses]
        alt = (f"Line plot of {', '.join(keys) or 'the losses'} against generator step for run {run.name}"
               f", {len(run.losses.get('step', []))} logged points")
        if png.is_file() and (not csv_path.is_file() or png.stat().st_mtime >= csv_path.stat().st_mtime):
            return page.pic(png, f"Loss curves of {run.name} (losses.png, from losses.csv)", alt), ""
        if not run.losses.get("step"):
            return None, "no loss curves: losses.csv is missing or empty"
        from .plots.training import save_loss_curves
        drawn = save_loss_curves(csv_path, tmp / f"losses-{len(page.pics)}.png", title=f"losses of {run.name}")
        if drawn is None:
            return None, "losses.csv holds no loss columns to draw"
        return (page.pic(drawn, f"Loss curves of {run.name}, drawn from losses.csv for this page "
                         "(losses.png is missing or older than the log)", alt, link=csv_path, drawn=True),
                "losses.png is missing or out of date; the curves were drawn from losses.csv")
    from .plots.training import save_loss_curves
    with_losses = {r.name: r.path / "losses.csv" for r in runs if r.losses.get("step")}
    if not with_losses:
        return None, "none of the runs has logged losses yet"
    drawn = save_loss_curves(with_losses, tmp / "losses-overlay.png", title="losses, runs overlaid")
    if drawn is None:
        return None, "the runs' losses.csv files hold no loss columns to draw"
    pic = page.pic(drawn, "Loss curves of " + ", ".join(with_losses) + " overlaid (drawn from each run's "
                   "losses.csv)", f"Line plot of the losses of {len(with_losses)} runs against generator step",
                   link=next(iter(with_losses.values())), drawn=True)
    pic.href_label = f"{next(iter(with_losses))}/losses.csv"
    pic.extra_links = [(f"{name}/losses.csv", _href(p, page.base) or "") for name, p in
                       list(with_losses.items())[1:]]
    return pic, ""


def _sample_alt(run: _Run, step: str) -> str:
    kind = run.data.get("kind")
    if kind == "images":
        rows = " (one row per class)" if run.train.get("conditional") else ""
        return f"Grid of generated images{rows} at step {step} of run {run.name}"
    colour = " coloured by class" if run.train.get("conditional") else " in red"
    return (f"Scatter of generated points{colour} over the real data in grey, at step {step} "
            f"of run {run.name}")


def _last_sample(page: _Page, run: _Run) -> _Pic | None:
    if not run.samples:
        return None
    last = run.samples[-1]
    step = last.stem.split("_")[-1].lstrip("0") or "0"
    what = "grid" if run.data.get("kind") == "images" else "scatter"
    return page.pic(last, f"Last sample {what} of {run.name}, step {step}", _sample_alt(run, step))


def _final_losses_table(run: _Run) -> dict | None:
    steps = run.losses.get("step") or []
    if not steps:
        return None
    n = len(steps)
    tail = min(n, max(3, n // 4))  # the last quarter of the log, at least 3 points
    rows = []
    for key, values in run.losses.items():
        if key == "step":
            continue
        unit = "s" if key == "seconds" else ""
        window = [v for v in values[-tail:] if math.isfinite(v)]
        mean = sum(window) / len(window) if window else None
        std = math.sqrt(sum((v - mean) ** 2 for v in window) / len(window)) if window else None
        label = "elapsed time" if key == "seconds" else key
        spread_cell = (_cell({"mean": mean, "std": std}, _fmt_spread(mean, std))
                       if key != "seconds" else _cell(text="", raw=False))
        rows.append(_row([_cell(text=label, header=True, raw=False), _cell(values[-1]),
                          spread_cell, _cell(text=unit, raw=False)], data_key=key))
    first = int(steps[-tail])
    caption = (f"Losses at the last logged step ({int(steps[-1])}), and mean ± std over the last "
               f"{tail} logged point{'s' if tail > 1 else ''} (steps {first} to {int(steps[-1])}); "
               "losses have no unit.")
    return _table(["loss", {"label": "last value", "key": "last"},
                   {"label": "recent mean ± std", "key": "recent"}, "unit"], rows, caption,
                  sortable=False, tid="final-losses-table")


def _checkpoint_table(run: _Run, base: Path) -> dict | None:
    if not run.checkpoints:
        return None
    rows = []
    for step, path in run.checkpoints:
        size = path.stat().st_size
        rows.append(_row([_cell(step, header=True), _cell(text=path.name, href=_href(path, base), raw=False),
                          _cell(size, _fmt_bytes(size)), _cell(text=_mtime(path), raw=False)],
                         data_step=step))
    return _table(["step", "file", {"label": "size", "title": "exact size in bytes in data-value"},
                   "written (UTC)"],
                  rows, "Checkpoints (weights, optimizer and RNG state in safetensors); the newest resumes "
                  "the run with gankit train --resume.", tid="checkpoints-table")


def _run_page(run: _Run, out: Path, title: str | None, tmp: Path) -> _Page:
    page = _Page(title or f"gankit run {run.name}", "run", out)
    page.subtitle = (f"{run.train.get('model', '?')} on {run.data.get('name', '?')}, "
                     f"seed {run.train.get('seed', '?')}; status {_status_text(run)}")
    page.notes = list(run.notes)

    s = page.section("What was trained")
    status_pairs = [("state", run.state), ("progress", _status_text(run))]
    status_pairs += [(k, v) for k, v in run.status.items() if k not in ("state",)]
    page.add_table(s, _kv_table(_trained_facts(run), f"Run {run.name}: model, data and provenance",
                                tid="trained-table"))
    page.add_table(s, _kv_table(status_pairs, "Status (status.json)", key_label="field", tid="status-table"))

    pic, note = _loss_figure(page, [run], tmp)
    s = page.section("Losses", notes=[note] if note else [])
    page.add_figures(s, [pic])
    page.add_table(s, _final_losses_table(run))

    notes = []
    sample = _last_sample(page, run)
    if sample is None:
        notes.append("no sample pictures yet")
    gif = run.path / "training.gif"
    gif_pic = None
    if gif.is_file():
        gif_pic = page.pic(gif, f"Training of {run.name}: one frame per sample snapshot "
                           f"({len(run.samples)} in samples/)",
                           f"Animation of generated samples over training of run {run.name}")
    else:
        notes.append("no training.gif (it is written when training ends)")
    s = page.section("Samples", notes=notes)
    page.add_figures(s, [p for p in (sample, gif_pic) if p is not None])

    s = page.section("Metrics", notes=[run.metrics_note] if run.metrics_note else [])
    table = _metrics_table(run, page.base)
    page.add_table(s, table)
    links = []
    for name in ("metrics.json", "metrics.jsonl"):
        if (run.path / name).is_file():
            links.append(f"[{name}]({_href(run.path / name, page.base)})")
    if links:
        s["html"] += render_markdown(f"Files: {', '.join(links)}"
                                     + (f" ({run.history} results recorded in all)." if run.history else "."))

    s = page.section("Checkpoints", notes=[] if run.checkpoints else ["no checkpoints yet"])
    page.add_table(s, _checkpoint_table(run, page.base))

    s = page.section("Configuration", "Everything `config.yaml` records, section by section: "
                     "enough to repeat the run (`gankit train --config config.yaml`).")
    pairs = [(k, v) for k, v in _flatten({k: v for k, v in run.record.items()})]
    pairs = [(k, _command_text(v) if k == "command" else v) for k, v in pairs]
    page.add_table(s, _kv_table(pairs, f"config.yaml of {run.name}", sortable=True, tid="config-table"))
    page.data = {"runs": [_run_data(run, page.base)]}
    return page


def _run_data(run: _Run, base: Path) -> dict:
    return {"name": run.name, "path": _href(run.path, base), "status": run.status,
            "config": run.record, "final_losses": run.final_losses(),
            "metrics": run.metrics, "notes": run.notes,
            "checkpoints": [{"step": s, "file": _href(p, base), "bytes": p.stat().st_size}
                            for s, p in run.checkpoints]}


def _compare_page(runs: list[_Run], out: Path, title: str | None, tmp: Path) -> _Page:
    page = _Page(title or f"gankit: {len(runs)} runs side by side", "compare", out)
    page.subtitle = ", ".join(r.name for r in runs)
    for r in runs:
        page.notes.extend(f"{r.name}: {n}" for n in r.notes)

    loss_keys = [k for k in LOSS_KEYS if any(k in r.losses for r in runs)]
    head = ["run", "state", {"label": "step"}, {"label": "of", "title": "total steps"}, "model", "net", "data",
            "conditional", "remedy", "seed"] + [{"label": f"final {k}", "key": k} for k in loss_keys] \
        + [{"label": "elapsed", "unit": "s"}]
    rows = []
    for r in runs:
        final = r.final_losses()
        cells = [_cell(text=r.name, header=True, href=_href(r.path, page.base), raw=False),
                 _cell(text=r.state, raw=False, cls=f"state-{r.state}"),
                 _cell(r.status.get("step")), _cell(r.status.get("total_steps")),
                 _cell(r.train.get("model")), _cell(r.train.get("net")), _cell(r.data.get("name")),
                 _cell(bool(r.train.get("conditional"))), _cell(r.train.get("remedy") or "none"),
                 _cell(r.train.get("seed"))]
        cells += [_cell(final.get(k)) for k in loss_keys]
        cells.append(_cell(final.get("seconds"), spec=".1f") if final.get("seconds") is not None else _cell(None))
        rows.append(_row(cells, data_run=r.name))
    s = page.section("Runs")
    page.add_table(s, _table(head, rows, "One row per run: status and the losses at the last logged step "
                             "(click a header to sort).", tid="runs-table"))

    # settings side by side, those that differ first
    flat = [dict(_flatten({k: r.record.get(k) for k in ("train", "data", "held_out")}))
            for r in runs]
    for r, f in zip(runs, flat):
        f["git_revision"] = r.record.get("git_revision")
        f["versions.torch"] = (r.record.get("versions") or {}).get("torch")
        f["versions.gankit"] = (r.record.get("versions") or {}).get("gankit")
    keys: list[str] = []
    for f in flat:
        keys.extend(k for k in f if k not in keys)
    differs = {k: len({_json(f.get(k)) for f in flat}) > 1 for k in keys}
    keys.sort(key=lambda k: not differs[k])
    srows = []
    for k in keys:
        cells = [_cell(text=k, header=True, raw=False),
                 _cell(text="differs" if differs[k] else "same", raw=False,
                       cls="differs" if differs[k] else "")]
        cells += [_cell(f.get(k)) for f in flat]
        srows.append(_row(cells, data_key=k, data_differs="true" if differs[k] else "false"))
    s = page.section("Settings", f"{sum(differs.values())} of {len(keys)} settings differ between the runs; "
                     "they are listed first.")
    page.add_table(s, _table(["setting", "differs?"] + [r.name for r in runs], srows,
                             "Settings from each run's config.yaml side by side", tid="settings-table"))

    pic, note = _loss_figure(page, runs, tmp)
    s = page.section("Losses", notes=[note] if note else [])
    page.add_figures(s, [pic])

    s = page.section("Samples", "The last sample picture of each run, in the order given.")
    pics = []
    for r in runs:
        p = _last_sample(page, r)
        if p is None:
            s["notes"].append(f"{r.name}: no sample pictures yet")
            continue
        if (r.path / "training.gif").is_file():
            p.extra_links.append((f"{r.name}/training.gif", _href(r.path / "training.gif", page.base) or ""))
        pics.append(p)
    page.add_figures(s, pics)
    if pics:
        s["blocks"][-1]["row"] = True

    s = page.section("Metrics")
    mrows, order = {}, []
    protocols: dict[str, dict[str, Any]] = {}
    for r in runs:
        for name, entry in ((r.metrics or {}).get("results") or {}).items():
            value = entry.get("value") if isinstance(entry, Mapping) else entry
            protocols.setdefault(name, {})[r.name] = entry.get("protocol") if isinstance(entry, Mapping) else None
            for m in _metric_rows(value):
                key = (name, m["key"])
                if key not in mrows:
                    mrows[key] = {}
                    order.append(key)
                mrows[key][r.name] = m
    missing = [r.name for r in runs if not (r.metrics or {}).get("results")]
    if missing:
        s["notes"].append("no metrics for " + ", ".join(missing) + " (run `gankit eval RUN_DIR`)")
    if order:
        rows = []
        for name, key in order:
            cells = [_cell(text=name, header=True, raw=False), _cell(text=key or "value", raw=False)]
            for r in runs:
                m = mrows[(name, key)].get(r.name)
                cells.append(_cell(text=m["text"] if m else "n/a", raw=False, cls="num",
                                   fields=m["fields"] if m else None))
            protos = protocols[name]
            distinct = {_json(p) for p in protos.values()}
            if len(distinct) == 1:
                proto = _cell(text="", pairs=_protocol_pairs(next(iter(protos.values()))), raw=False)
            else:
                proto = _cell(text="differs between runs, so these numbers are not comparable: "
                              + "; ".join(f"{n}: " + ", ".join(f"{a} {b}" for a, b in _protocol_pairs(p))
                                          for n, p in protos.items()), raw=False, cls="differs")
            cells.append(proto)
            unit = next(iter(mrows[(name, key)].values()))["unit"]
            cells.append(_cell(text=unit, raw=False))
            rows.append(_row(cells, data_metric=name, data_key=key))
        page.add_table(s, _table(["metric", "quantity"] + [r.name for r in runs] + ["protocol", "unit"], rows,
                                 "Metrics from each run's metrics.json with their protocol; each value cell "
                                 "holds its exact numbers in data-fields.", tid="metrics-table"))
    page.data = {"runs": [_run_data(r, page.base) for r in runs]}
    return page


def _default_out(runs: list[_Run]) -> Path:
    if len(runs) == 1:
        return runs[0].path / REPORT_NAME
    parents = {r.path.resolve().parent for r in runs}
    if len(parents) != 1:
        raise GankitError("these runs live in different folders; pass --out FILE for the comparison page")
    parent = parents.pop()
    if (parent / "config.yaml").is_file():
        raise GankitError(f"the runs' common folder {parent} is itself a run directory; pass --out FILE")
    return parent / REPORT_NAME


def _resolve_out(out: str | Path | None, runs: list[_Run]) -> Path:
    if out is None:
        return _default_out(runs)
    path = Path(out)
    # a folder: one that exists, or a name ending in a separator or without a suffix
    if path.is_dir() or str(out).endswith(("/", os.sep)) or not path.suffix:
        path = path / REPORT_NAME
    return path


def write_report(run_dirs: str | Path | Sequence[str | Path], out: str | Path | None = None,
                 title: str | None = None) -> Path:
    """Write the HTML report of one run, or of several runs side by side; return its path.

    run_dirs: one run directory, or several. out: the HTML file to write; a folder (one that
    exists, or a name without a suffix) means FOLDER/report.html. Default: RUN_DIR/report.html
    for one run; for several runs, report.html in the folder that holds them all (they must
    share one parent folder, which must not itself be a run, else pass `out`).

    A run still training, stopped, diverged, or without metrics gets a page that says what is
    missing. Raises GankitError when a directory is not a run directory (no config.yaml).
    """
    dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    if not dirs:
        raise GankitError("no run directory given")
    seen = set()
    for d in dirs:
        key = Path(d).resolve()
        if key in seen:
            raise GankitError(f"run directory {d} is given twice")
        seen.add(key)
    runs = [_load_run(d) for d in dirs]
    _unique_names(runs)
    path = _resolve_out(out, runs)
    with tempfile.TemporaryDirectory(prefix="gankit-report-") as tmp:
        if len(runs) == 1:
            page = _run_page(runs[0], path, title, Path(tmp))
        else:
            page = _compare_page(runs, path, title, Path(tmp))
        page.regenerate = ("gankit report " + " ".join(shlex.quote(str(d)) for d in dirs)
                           + (f" --out {shlex.quote(str(path))}" if out is not None else ""))
        text = page.render()
    _atomic_write_text(path, text)
    return path


def write_experiment_report(out_dir: str | Path, title: str, sections: Sequence[Any], *,
                            intro: str = "", notes: Sequence[str] = (), provenance: Mapping[str, Any] | None = None,
                            data: Mapping[str, Any] | None = None, filename: str = REPORT_NAME) -> Path:
    """Write OUT_DIR/report.html for an experiment and return its path.

    out_dir: the experiment's output folder (created if missing); figure links are made
        relative to it, so keep figures inside it (or beside it) and move the folder whole.
    title: the page's title and <h1>.
    sections: in page order; each is a `Section`, a dict with Section's fields as keys
        ({"heading", "text", "tables", "figures", "notes"}), or a tuple
        (heading, text[, tables[, figures]]).
        - text: markdown-ish prose (paragraphs, lists, **bold**, *em*, `code`, [text](rel/link);
          see `render_markdown`).
        - tables: a list; each a pandas DataFrame, a list of dicts (one per row), a `Table`
          (caption, units, formats, spread, spread_label, sortable), or a dict of Table's fields
          ({"data": df, "caption": "...", "units": {"time": "s"}}). Columns "X" (or "X_mean")
          and "X_std" (or "X_se") are merged into one "mean ± spread" cell; a cell holding
          {"mean": m, "std": s} is shown as "m ± s". The first column heads the rows. Every
          cell's exact value is kept in a data-value attribute, and every table's records in
          the page's JSON block.
        - figures: a list; each a path, a (path, caption) or (path, caption, alt) tuple, a
          `Figure`, or a dict of Figure's fields. A relative path is found from the current
          folder, or else from out_dir. PNG/JPEG/GIF/WebP are embedded (re-encoded smaller
          when big; the page's pictures are kept under about 3.3 MB together) and link to
          their file; other formats are only linked. A missing file becomes a note.
        - notes: short strings shown highlighted (what is missing, caveats).
    intro: markdown-ish text under the title. notes: page-level notes shown at the top.
    provenance: {label: value} shown in a final "Provenance" section; default: gankit,
        python, torch and numpy versions, git revision, command line and time. Pass {} to omit.
    data: extra JSON-serialisable content for the page's machine-readable block.
    filename: the page's file name inside out_dir.

    Example:
        write_experiment_report("runs/mc", "Mode collapse on ring8 and grid25", [
            Section("Results", "Mean ± std over 3 seeds; published rows from PacGAN Table 1.",
                    tables=[Table(df, caption="Modes captured", units={"hq": "%"},
                                  spread_label="std")],
                    figures=[("runs/mc/grid.png", "Samples of every run, one column per seed")]),
        ])
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    page = _Page(title, "experiment", path)
    page.notes = [str(n) for n in notes]
    page.regenerate = _command_text(sys.argv) if sys.argv and sys.argv[0] else ""
    if intro:
        page.section("Overview", intro)
    records = []
    for item in sections:
        sec = _as_section(item)
        s = page.section(sec.heading, sec.text, [str(n) for n in sec.notes])
        tables_data = []
        for t in sec.tables or ():
            table, table_data = _user_table(t)
            page.add_table(s, table)
            tables_data.append(table_data)
        pics = [_user_figure(f, out_dir) for f in (sec.figures or ())]
        page.add_figures(s, pics)
        records.append({"heading": sec.heading, "tables": tables_data,
                        "figures": [{"file": p.source, "caption": p.caption} for p in pics]})
    if provenance is None:
        provenance = _default_provenance()
    if provenance:
        s = page.section("Provenance")
        page.add_table(s, _kv_table(list(provenance.items()), "How this page was made", tid="provenance-table"))
    page.data = {"sections": records, "provenance": _plain(provenance or {}), **_plain(dict(data or {}))}
    text = page.render()
    _atomic_write_text(path, text)
    return path


def _as_section(item: Any) -> Section:
    if isinstance(item, Section):
        return item
    if isinstance(item, Mapping):
        try:
            return Section(**dict(item))
        except TypeError as exc:
            raise GankitError(f"report section {item.get('heading', '?')!r}: {exc}") from None
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 4:
        return Section(*item)
    raise GankitError(f"a report section is a Section, a dict or a (heading, text, tables, figures) "
                      f"tuple; got {type(item).__name__}")


def _default_provenance() -> dict[str, Any]:
    import platform

    from . import __version__
    from .config import git_revision

    out: dict[str, Any] = {"gankit": __version__, "python": platform.python_version()}
    # versions of what this process has loaded; importing more here would only slow the page down
    for name in ("torch", "numpy", "pandas", "sklearn", "scipy"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    out.update({"platform": platform.platform(), "git revision": git_revision() or "not a git checkout",
                "command": _command_text(sys.argv), "written": _now()})
    return out


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def _cmd_report(args) -> int:
    started = time.perf_counter()
    path = write_report(args.run_dirs, out=args.out, title=args.title)
    print(f"wrote {path} ({_fmt_bytes(path.stat().st_size)}, {time.perf_counter() - started:.1f} s)")
    return 0


def register_cli(subparsers) -> None:
    """Adds `gankit report RUN_DIR [RUN_DIR ...] [--out FILE] [--title TEXT]`."""
    p = subparsers.add_parser(
        "report", help="write one self-contained HTML page for one run or several side by side",
        description="Write one self-contained HTML page (pictures embedded, no network needed): for one "
                    "run, what was trained, status, loss curves, samples and training.gif, metrics with "
                    "their protocol, checkpoints and the full config; for several runs, their settings, "
                    "losses, samples and metrics side by side.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (holding config.yaml)")
    p.add_argument("--out", help="HTML file to write, or a folder for FOLDER/report.html (default: "
                   "RUN_DIR/report.html for one run; report.html in the runs' common parent folder "
                   "for several)")
    p.add_argument("--title", help="page title")
    p.set_defaults(handler=_cmd_report)
