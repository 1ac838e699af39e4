"""Shared by every benchmark: machine facts and writing one section of docs/benchmarks.md.

Each benchmark owns one section, delimited by HTML comments, and replaces only that section,
so benchmarks can be re-run one at a time without losing the others' figures.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SHARED_DATA = ROOT.parent / "shared" / "data"
BASELINES = ROOT.parent / "shared" / "baselines"


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # the thread count is the benchmark's to state: it is set per measurement
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def commit() -> str:
    """The gankit commit the figures are measured at ("-dirty" when tracked files differ)."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("-dirty" if dirty else "")


# taken when the benchmark starts: the code it measures (a tree edited while it runs does not
# relabel its figures)
COMMIT_AT_START = commit()


def verdict(what: str, value: float, target: float, higher_is_better: bool = True,
            fmt: str = "{:.3g}") -> str:
    """A target with its verdict computed from the measured value: met, or missed by how much."""
    met = value >= target if higher_is_better else value <= target
    relation = ">=" if higher_is_better else "<="
    shown = fmt.format(value)
    if met:
        return f"- Target {what} {relation} {fmt.format(target)}: **met** ({shown})."
    return (f"- Target {what} {relation} {fmt.format(target)}: **missed** by "
            f"{fmt.format(abs(value - target))} ({shown}).")


def write_section(name: str, title: str, body: str, command: str) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md, stamped with the machine,
    the command, the commit measured and the date."""
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    block = (f"<!-- BEGIN {name} -->\n## {title}\n\n"
             f"- Machine: {machine()}\n- Command: `{command}`\n- Commit: {COMMIT_AT_START}\n"
             f"- Date: {stamp}\n\n{body.strip()}\n<!-- END {name} -->")
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else (
        "# Benchmarks\n\nEvery figure here was written by a command in `benchmarks/`; "
        "each section names its command, machine and date. `make bench` re-runs them all.\n")
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)
    print(f"wrote section {name!r} of {DOC}", file=sys.stderr)


def markdown_table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
