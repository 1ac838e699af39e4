"""Recording a metric's result in a run directory, with the protocol that makes it comparable.

A number without its protocol cannot be compared with anyone else's, so `record` refuses a
result whose protocol lacks the sample counts, the feature extractor, the real split and the
resizing (`REQUIRED_PROTOCOL`; `make_protocol` builds one). Perceptual path length reads no real
data, so `ppl_protocol` records n_real 0, says so in the real split, and adds its paths, epsilon
and space. Every result is appended to `metrics.jsonl` (the history) and merged into
`metrics.json` (the latest value per metric), which is replaced atomically so a reader never
sees half a file.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GankitError
from ..files import atomic_write

REQUIRED_PROTOCOL = ("n_real", "n_fake", "features", "real_split", "resize")


def make_protocol(n_real: int, n_fake: int, features: str, real_split: str, resize: str | None,
                  **extra: Any) -> dict:
    """A protocol dict with the required fields (and anything else worth recording, e.g. seed, k)."""
    return {"n_real": int(n_real), "n_fake": int(n_fake), "features": str(features),
            "real_split": str(real_split), "resize": resize, **extra}


def ppl_protocol(result: dict, resize: str | None = None, **extra: Any) -> dict:
    """The protocol of a `perceptual_path_length` result: two generated samples per path, no real
    data, and the settings a PPL is only comparable under (epsilon, space, band, sampling)."""
    paths = int(result["n_samples"])
    return make_protocol(n_real=0, n_fake=2 * paths, features=result["space"],
                         real_split="none (generated samples only)", resize=resize, n_paths=paths,
                         epsilon=result["epsilon"], space=result["space"],
                         percentiles=result["percentiles"], sampling=result["sampling"], **extra)


def _jsonable(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null so the file stays strict JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if hasattr(value, "detach"):  # torch tensors, without importing torch here
        return _jsonable(value.detach().cpu().numpy())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Path):
        return str(value)
    raise GankitError(f"cannot record a value of type {type(value).__name__} in metrics.json; pass numbers, "
                      "strings, lists or dicts")


def record(run_dir, name: str, value: Any, protocol: dict) -> dict:
    """Append {name, value, protocol, time} to run_dir/metrics.jsonl and update run_dir/metrics.json.

    Returns the new content of metrics.json.
    """
    if not isinstance(name, str) or not name:
        raise GankitError("metric name must be a non-empty string")
    if not isinstance(protocol, dict):
        raise GankitError(f"protocol must be a dict, got {type(protocol).__name__}")
    missing = [key for key in REQUIRED_PROTOCOL if key not in protocol]
    if missing:
        raise GankitError(
            f"protocol for {name!r} lacks {', '.join(missing)}; record sample counts, feature extractor, "
            "real split and resizing (see gankit.metrics.recording.make_protocol)")
    run = Path(run_dir)
    if not run.is_dir():
        raise GankitError(f"run directory {run} does not exist; train a model there first or create it")
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    entry = {"name": name, "value": _jsonable(value), "protocol": _jsonable(protocol), "time": now}
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, allow_nan=False) + "\n")

    summary_path = run / "metrics.json"
    summary: dict = {}
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            summary = {}  # a damaged summary is rebuilt; the history in metrics.jsonl is intact
        if not isinstance(summary, dict) or not isinstance(summary.get("results"), dict):
            summary = {}
    summary.setdefault("results", {})
    summary["results"][name] = {"value": entry["value"], "protocol": entry["protocol"]}
    summary["updated"] = now
    atomic_write(summary_path, json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary
