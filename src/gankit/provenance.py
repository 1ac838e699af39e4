"""Provenance: the one record of what produced a file, written beside it.

`record(...)` is what a run's config.yaml, a saved TabularGAN, an experiment's JSON and a report
page start from: when, by which command, with which library versions and gankit source revision.
`resume_entry` is what a resumed run appends, so a run keeps its first provenance and the
history of every later segment (issue: resume must not rewrite history).
"""
from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    import numpy
    import torch

    from . import __version__

    versions = {"gankit": __version__, "python": platform.python_version(), "torch": torch.__version__,
                "numpy": numpy.__version__, "platform": platform.platform()}
    for name in ("scipy", "sklearn", "pandas", "PIL", "safetensors"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            pass
    return versions


def git_revision() -> str | None:
    """The gankit source revision, when gankit runs from a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                   cwd=Path(__file__).parent, capture_output=True, text=True,
                                   timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def record(command: list[str] | None = None, **sections: Any) -> dict[str, Any]:
    """{"gankit_run": 1, "created", "command", **sections, "versions", "git_revision"}."""
    return {"gankit_run": 1, "created": now(),
            "command": list(command) if command is not None else list(sys.argv),
            **sections, "versions": library_versions(), "git_revision": git_revision()}


def resume_entry(command: list[str] | None, from_step: int, to_step: int,
                 changed: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """One segment of a resumed run: when, which command, from which step to which, and the
    settings it changed ({name: [before, after]})."""
    return {"time": now(), "command": list(command) if command is not None else list(sys.argv),
            "from_step": int(from_step), "to_step": int(to_step),
            "changed": {k: [a, b] for k, (a, b) in changed.items()},
            "versions": library_versions(), "git_revision": git_revision()}
