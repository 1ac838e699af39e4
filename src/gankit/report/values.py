"""Values as a page holds them: JSON-safe plain values, numbers as a person reads them, relative
links, times and command lines."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shlex
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote


def plain(value: Any) -> Any:
    """JSON-safe plain values: numpy and torch scalars/arrays unwrapped, NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return plain(value.tolist())
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


def to_json(value: Any) -> str:
    return json.dumps(plain(value), allow_nan=False, ensure_ascii=False)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt(value: Any, spec: str | None = None, percent: bool = False) -> str:
    """A number or value as a person reads it (the exact value goes in data-value)."""
    value = plain(value)
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
        shown = [fmt(v, spec, percent) if not isinstance(v, (list, dict)) else to_json(v) for v in value]
        text = "[" + ", ".join(shown) + "]"
        return text if len(text) <= 160 else text[:157] + "…]"
    if isinstance(value, dict):
        text = to_json(value)
        return text if len(text) <= 160 else text[:157] + "…}"
    return str(value)


def fmt_spread(mean: Any, spread: Any, spec: str | None = None, percent: bool = False) -> str:
    return f"{fmt(mean, spec, percent)} ± {fmt(spread, spec, percent)}"


def fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as (dotted path, leaf) pairs; an empty mapping is a leaf."""
    if isinstance(value, Mapping) and value:
        out = []
        for k, v in value.items():
            out.extend(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


def href(target: Path, base: Path) -> str | None:
    """A relative link from the folder `base` to `target` (never an absolute address)."""
    try:
        rel = os.path.relpath(Path(target).resolve(), Path(base).resolve())
    except ValueError:  # another drive on Windows: no relative path exists
        return None
    rel = rel.replace(os.sep, "/")
    if Path(target).is_dir() and not rel.endswith("/"):
        rel += "/"
    return quote(rel, safe="/._-~")


def slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    found, i = base, 2
    while found in used:
        found, i = f"{base}-{i}", i + 1
    used.add(found)
    return found


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def mtime(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")


def command_text(command: Any) -> str:
    if isinstance(command, (list, tuple)):
        return shlex.join(str(c) for c in command)
    return "" if command is None else str(command)
