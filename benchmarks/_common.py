"""Shared by every benchmark: machine facts, computed verdicts, and writing one section of
docs/benchmarks.md (with its machine-readable check block).

Each benchmark owns one or more sections, delimited by HTML comments, and replaces only those,
so benchmarks can be re-run one at a time without losing the others' figures.

Check blocks (`make bench-check`, `python -m benchmarks.check`): a full run also computes a few
short, seeded rows through the same code as its tables (`check_rows` of the module) and
`write_section` stores them in the section as

    <!-- CHECK name {"commit": ..., "cpu": ..., "tolerance": ..., "rows": [...]} -->

`benchmarks.check` computes the same rows again and compares them with what the full run
recorded, within the block's tolerance.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from gankit.files import atomic_write

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SHARED_DATA = ROOT.parent / "shared" / "data"
BASELINES = ROOT.parent / "shared" / "baselines"


def cpu_signature() -> str:
    """The CPU as its kernels see it: model name, family/model/stepping, torch's vector ISA and
    torch's version. Exact comparisons of trained numbers only hold on the same signature."""
    import torch

    name, ids = platform.processor() or platform.machine(), {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and "name" not in ids:
                ids["name"] = value.strip()
            elif key in ("cpu family", "model", "stepping") and key not in ids:
                ids[key] = value.strip()
    except OSError:
        pass
    name = ids.get("name", name)
    family = "/".join(ids.get(k, "?") for k in ("cpu family", "model", "stepping"))
    return (f"{name} (family/model/stepping {family}, {torch.backends.cpu.get_cpu_capability()}), "
            f"torch {torch.__version__}")


def machine() -> str:
    """The machine line: CPU, cores, Python and torch. Not the thread count: every section
    states the threads its measurements used (write_section's `threads`)."""
    import torch

    return (f"{cpu_signature().split(', torch ')[0]}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, torch {torch.__version__}")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def commit() -> str:
    """The gankit commit the figures are measured at. "-dirty" when tracked files under src/
    differ from it, followed by a short hash of that difference (so two dirty runs can be told
    apart, and a check knows whether it runs the same code)."""
    head = _git("rev-parse", "--short=12", "HEAD").strip() or "unknown"
    diff = _git("diff", "HEAD", "--", "src")
    if not diff.strip():
        return head
    return f"{head}-dirty (src diff {hashlib.sha256(diff.encode()).hexdigest()[:10]})"


# taken when the benchmark starts: the code it measures (a tree edited while it runs does not
# relabel its figures)
COMMIT_AT_START = commit()


def head_of(stamp: str) -> str:
    """The commit hash of a stamp written by `commit()`."""
    return stamp.split("-dirty")[0].split()[0] if stamp else ""


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def load_text(values=None) -> str:
    one, five, fifteen = values or os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def cpu_seconds(children: bool = True) -> float:
    """CPU seconds (user + system) of this process, and of its finished children."""
    own = time.process_time()
    if not children:
        return own
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + c.ru_utime + c.ru_stime


# ---------------------------------------------------------------------------------- verdicts
def _fmt(value, fmt: str) -> str:
    return fmt.format(value) if isinstance(value, (int, float)) and math.isfinite(value) else str(value)


def verdict(what: str, value: float, target: float, higher_is_better: bool = True,
            fmt: str = "{:.3g}", unit: str = "") -> str:
    """A target with its verdict computed from the measured value: met, or missed by how much."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"- Target {what} {'>=' if higher_is_better else '<='} {_fmt(target, fmt)}{unit}: **not measured**."
    met = value >= target if higher_is_better else value <= target
    relation = ">=" if higher_is_better else "<="
    shown = _fmt(value, fmt) + unit
    if met:
        return f"- Target {what} {relation} {_fmt(target, fmt)}{unit}: **met** ({shown})."
    return (f"- Target {what} {relation} {_fmt(target, fmt)}{unit}: **missed** by "
            f"{_fmt(abs(value - target), fmt)}{unit} ({shown}).")


def verdict_all(what: str, items: list[tuple[str, bool, str]]) -> str:
    """A target that every item must meet: (name, met, detail) each; missed names the misses."""
    if not items:
        return f"- Target {what}: **not measured**."
    misses = [(n, d) for n, ok, d in items if not ok]
    detail = "; ".join(f"{n}: {d}" for n, _, d in items)
    if not misses:
        return f"- Target {what}: **met** on {len(items)} of {len(items)} ({detail})."
    return (f"- Target {what}: **missed** on {len(misses)} of {len(items)} "
            f"({', '.join(n for n, _ in misses)}). Measured: {detail}.")


def verdict_count(what: str, count: int, total: int, needed: int) -> str:
    """A target of at least `needed` of `total` items."""
    if count >= needed:
        return f"- Target {what} (at least {needed} of {total}): **met** ({count} of {total})."
    return (f"- Target {what} (at least {needed} of {total}): **missed** by {needed - count} "
            f"({count} of {total}).")


# ---------------------------------------------------------------------------- the document
@contextlib.contextmanager
def _doc_lock():
    """Benchmarks may run at the same time: one read-modify-write of the document at a time."""
    import fcntl

    # a lock file beside the run folders, not the document: the document is replaced whole
    # (atomically), so a lock held on it would be held on a file no longer in place
    lock = ROOT / "runs" / ".benchmarks-doc.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


CHECK_RE = re.compile(r"<!-- CHECK (\S+) (\{.*?\}) -->", re.S)


def check_block(name: str, rows: list[dict], tolerance: dict, note: str = "") -> str:
    """The machine-readable block of a section: its check rows as the full run computed them."""
    record = {"commit": COMMIT_AT_START, "cpu": cpu_signature(),
              "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "tolerance": tolerance,
              "note": note, "rows": rows}
    text = json.dumps(record, sort_keys=True, allow_nan=True)
    return f"<!-- CHECK {name} {text.replace('-->', '-- >')} -->"


def tolerance_text(tolerance: dict) -> str:
    """The block's tolerance in words (printed in the section beside the check rows)."""
    if tolerance.get("kind") == "exact":
        return ("exact: the same numbers to the last digit, since the computation is deterministic "
                "at one thread on the same CPU and torch (on another CPU or torch the check reports "
                "the rows as not comparable)")
    parts = []
    if "rel" in tolerance:
        parts.append(f"relative difference at most {tolerance['rel']:g}")
    if "abs" in tolerance:
        parts.append(f"absolute difference at most {tolerance['abs']:g}")
    why = tolerance.get("why", "")
    return " or ".join(parts) + (f" ({why})" if why else "")


def check_table(rows: list[dict], tolerance: dict) -> str:
    """The check rows in words: what `make bench-check` recomputes, and the tolerance."""
    lines = ["| check row | settings | values |", "|---|---|---|"]
    for r in rows:
        settings = ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items())
        values = ", ".join(f"{k}={_fmt(v, '{:.6g}')}" for k, v in r["values"].items())
        lines.append(f"| {r['row']} | {settings} | {values} |")
    return ("#### Check rows\n\nShort seeded rows computed by this run through the same code as the "
            "tables above; `make bench-check` computes them again and compares, tolerance: "
            f"{tolerance_text(tolerance)}.\n\n" + "\n".join(lines))


def write_section(name: str, title: str, body: str, command: str, *, threads: str,
                  check: tuple[list[dict], dict] | None = None) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md, stamped with the machine,
    the command, the commit measured (at the start of the run), the date and the threads the
    measurements used. check: (rows, tolerance) of the section's check rows (`check_rows`)."""
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    tail = ""
    if check is not None:
        rows, tolerance = check
        tail = "\n\n" + check_table(rows, tolerance) + "\n\n" + check_block(name, rows, tolerance)
    block = (f"<!-- BEGIN {name} -->\n## {title}\n\n"
             f"- Machine: {machine()}\n- Threads: {threads}\n- Command: `{command}`\n"
             f"- Commit: {COMMIT_AT_START}\n- Date: {stamp}\n\n{body.strip()}{tail}\n"
             f"<!-- END {name} -->")
    with _doc_lock():
        text = DOC.read_text() if DOC.exists() else (
            "# Benchmarks\n\nEvery figure here was written by a command in `benchmarks/`; "
            "each section names its command, machine and date. `make bench` re-runs them all.\n")
        pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m: block, text)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        atomic_write(DOC, text)
    print(f"wrote section {name!r} of {DOC}", file=sys.stderr)


def read_sections() -> dict[str, str]:
    """Every section of the document: name -> its text between BEGIN and END."""
    text = DOC.read_text() if DOC.exists() else ""
    return {m.group(1): m.group(2) for m in
            re.finditer(r"<!-- BEGIN (\S+) -->(.*?)<!-- END \1 -->", text, re.S)}


def command_line(module: str, argv, drop_with_value=("--json",)) -> str:
    """`python -m benchmarks.MODULE ARGS` as run, less the options that only say where raw
    results went (not part of the method)."""
    shown, skip = [], False
    for a in (argv if argv is not None else sys.argv[1:]):
        if skip:
            skip = False
            continue
        if a in drop_with_value:
            skip = True
            continue
        if any(a.startswith(d + "=") for d in drop_with_value):
            continue
        shown.append(a)
    return " ".join([f"python -m benchmarks.{module}"] + shown)


def markdown_table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def one_thread() -> None:
    """torch and the BLAS libraries at one thread (the benchmarks' default)."""
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
