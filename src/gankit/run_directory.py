"""The run directory: its layout, the one reader of it, and the lock that says who owns it.

Layout (written by `gankit.training.run_writer.RunWriter`, rank 0 only):

    config.yaml      provenance: settings, data, versions, command, resumes (`gankit.provenance`)
    status.json      state and step, updated as the run goes
    losses.csv       averaged losses every log_every steps
    metrics.json     newest value of each metric, with its protocol; metrics.jsonl: all of them
    samples/         step_XXXXXXXX.png snapshots;  training.gif, losses.png at the end
    checkpoints/     step_XXXXXXXX.safetensors (weights, optimizer and RNG state, identity)
    events.*         TensorBoard
    .gankit.lock     held (fcntl.flock) by the process that trains, for the run's whole life

`RunDir` is how everything else (sampling, evaluation, the report, the API, the CLI) reads a
run: nobody else opens these files. `RunLock` makes a run directory belong to one process at a
time; the lock is the kernel's, so a process that dies, even by SIGKILL, releases it, and a
reader can tell a run that is training ("running", lock held) from one that was killed
("interrupted at step N", status says running but nobody holds the lock).
"""
from __future__ import annotations

import csv
import json
import math
import os
import socket
from pathlib import Path
from typing import Any

import yaml

from .errors import GankitError

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"
LOSSES_FILE = "losses.csv"
METRICS_FILE = "metrics.json"
METRICS_LOG = "metrics.jsonl"
LOCK_FILE = ".gankit.lock"
SAMPLES_DIR = "samples"
CHECKPOINTS_DIR = "checkpoints"
GIF_FILE = "training.gif"
LOSSES_PICTURE = "losses.png"


class RunDir:
    """Read access to one run directory. Cheap to create; every method reads the disk afresh."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.resolve().name

    # -- what it is ---------------------------------------------------------------------------
    def is_run(self) -> bool:
        """Whether the folder holds a gankit run (a config.yaml with a `train` section)."""
        try:
            self.record()
            return True
        except GankitError:
            return False

    def entries(self) -> list[Path]:
        """What the folder holds, the lock file aside (empty when the folder does not exist)."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.name != LOCK_FILE)

    def record(self) -> dict[str, Any]:
        """config.yaml, checked to be a gankit run's."""
        path = self.path / CONFIG_FILE
        if self.path.is_file():
            raise GankitError(f"{self.path} is a file, not a run directory")
        if not self.path.is_dir():
            raise GankitError(f"run directory {self.path} does not exist")
        if not path.is_file():
            raise GankitError(f"{self.path} is not a gankit run directory (no {CONFIG_FILE})")
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise GankitError(f"{path} is not valid YAML{where}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise GankitError(f"cannot read {path}: {exc}") from None
        if not isinstance(values, dict) or not isinstance(values.get("train"), dict) \
                or not (values.get("gankit_run") or isinstance(values.get("spec"), dict)):
            raise GankitError(f"{path} is not a gankit run config (no 'gankit_run' marker and "
                              "'train' section)")
        return values

    def train_config(self):
        """The run's TrainConfig (as resolved when it was trained)."""
        from .config import TrainConfig
        values = dict(self.record()["train"])
        # Records older than a default that now depends on the run trained with it off: before
        # conditional points averaged by default they said off as None, and before class scaling
        # existed (then became the conditional points default) they did not name it. Resolving
        # them now would turn both on.
        if values.get("ema") is None:
            values["ema"] = 0.0
        values.setdefault("class_scaling", False)
        return TrainConfig.from_dict(values)

    def spec(self):
        """The DataSpec the networks were built for."""
        from .models import DataSpec
        record = self.record()
        if not isinstance(record.get("spec"), dict):
            raise GankitError(f"{self.path / CONFIG_FILE} has no 'spec' section; it was not written "
                              "by `gankit train`")
        return DataSpec.from_dict(record["spec"])

    # -- progress -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """status.json, or {} when it is missing or unreadable."""
        try:
            values = json.loads((self.path / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return values if isinstance(values, dict) else {}

    def state(self) -> str:
        """running | interrupted | finished | stopped | diverged | failed | unknown.

        "running" only while a process holds the run's lock; a status of "running" with the lock
        free means the process died without a word (SIGKILL, power cut): "interrupted"."""
        state = str(self.status().get("state") or "unknown")
        if state == "running" and not RunLock(self.path).is_held():
            return "interrupted"
        return state

    def losses(self) -> dict[str, list[float]]:
        """losses.csv as columns of floats (a half-written last line of a running run skipped)."""
        path = self.path / LOSSES_FILE
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except (OSError, csv.Error, UnicodeDecodeError):
            return {}
        columns: dict[str, list[float]] = {}
        for row in rows:
            try:
                values = {k: float(v) if v not in ("", None) else math.nan
                          for k, v in row.items() if k}
            except (TypeError, ValueError):
                continue
            if "step" not in values or math.isnan(values["step"]):
                continue
            for k, v in values.items():
                columns.setdefault(k, []).append(v)
        return columns

    def losses_frame(self):
        """losses.csv as a pandas DataFrame (None when there is none)."""
        import pandas as pd
        columns = self.losses()
        return pd.DataFrame(columns) if columns.get("step") else None

    def metrics(self) -> tuple[dict | None, str, int]:
        """(metrics.json or None, a note when it is missing or damaged, entries in metrics.jsonl)."""
        history = 0
        log = self.path / METRICS_LOG
        if log.is_file():
            with open(log, encoding="utf-8", errors="replace") as handle:
                history = sum(1 for line in handle if line.strip())
        path = self.path / METRICS_FILE
        if not path.is_file():
            return None, (f"no metrics yet: {self.path.name}/{METRICS_FILE} does not exist "
                          f"(measure the run with `gankit eval {self.path}`)"), history
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return None, f"{METRICS_FILE} could not be read ({exc}); its history is in {METRICS_LOG}", history
        if not isinstance(summary, dict) or not isinstance(summary.get("results"), dict):
            return None, f"{METRICS_FILE} has no 'results' section; nothing to show", history
        if not summary["results"]:
            return summary, f"{METRICS_FILE} holds no results yet", history
        return summary, "", history

    # -- files --------------------------------------------------------------------------------
    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every complete checkpoint, oldest first."""
        from .training.checkpoint import list_checkpoints
        return list_checkpoints(self.path)

    def checkpoint(self, step: int | None = None) -> Path:
        """The newest checkpoint, or the one at `step`; a clear error when there is none."""
        found = self.checkpoints()
        if not found:
            raise GankitError(f"{self.path} has no checkpoints yet; train it first")
        if step is None:
            return found[-1][1]
        chosen = dict(found).get(step)
        if chosen is None:
            raise GankitError(f"{self.path} has no checkpoint at step {step}; it has "
                              f"{[s for s, _ in found]}")
        return chosen

    def samples(self) -> list[Path]:
        return sorted((self.path / SAMPLES_DIR).glob("step_*.png"))

    def sample_path(self, step: int) -> Path:
        return self.path / SAMPLES_DIR / f"step_{int(step):08d}.png"

    def file(self, name: str) -> Path:
        return self.path / name


class RunLock:
    """An exclusive advisory lock on a run directory (`fcntl.flock` on .gankit.lock).

    `acquire()` creates the folder if needed and fails with a GankitError naming the process
    that holds it. The kernel drops the lock when the holder's process ends, however it ends, so
    a dead process never leaves a stale lock; the file itself stays and is harmless."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._handle = None

    @property
    def file(self) -> Path:
        return self.path / LOCK_FILE

    def holder(self) -> str:
        try:
            info = json.loads(self.file.read_text(encoding="utf-8"))
            return f"process {info.get('pid')} on {info.get('host')} since {info.get('since')}"
        except (OSError, ValueError, AttributeError):
            return "another process"

    def acquire(self) -> "RunLock":
        import fcntl
        import datetime as dt

        if self._handle is not None:
            return self
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.file, "a+", encoding="utf-8")
        except OSError as exc:
            from .files import _explain
            raise _explain(exc, self.path) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise GankitError(f"{self.path} is in use by {self.holder()}: one run directory "
                              "belongs to one process at a time (wait for it to finish, or "
                              "choose another --out)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            import fcntl
            try:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            finally:
                self._handle.close()
                self._handle = None

    def is_held(self) -> bool:
        """Whether some process (this one included) holds the lock now."""
        import fcntl

        if self._handle is not None:
            return True
        try:
            handle = open(self.file, encoding="utf-8")
        except OSError:
            return False
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
        finally:
            handle.close()

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
