"""The one writer of a run directory (layout and reader: `gankit.run_directory`).

`claim_run_directory` decides whether a folder may be written at all (nothing a user owns is
overwritten, one process per run) and takes the run's lock; `RunWriter` then writes it on the
writer process (rank 0): config.yaml, status.json, losses.csv, TensorBoard events and sample
pictures. Files a reader may open mid-run are replaced atomically (`gankit.files`).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ..config import dump_yaml
from ..errors import GankitError
from ..files import _explain, atomic_write
from ..run_directory import (CHECKPOINTS_DIR, CONFIG_FILE, LOCK_FILE, LOSSES_FILE, SAMPLES_DIR,
                             STATUS_FILE, RunDir, RunLock)

FRESH, RESUME, OVERWRITE = "fresh", "resume", "overwrite"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def claim_run_directory(path: str | Path, mode: str = FRESH) -> RunLock:
    """Take `path` for a run and return its held lock, or refuse with what to do instead.

    mode "fresh": the folder must be new or empty. "resume": it must be a run with a checkpoint.
    "overwrite": whatever it holds (a run, or anything else) is deleted first: only on request.
    A folder that another process trains in is refused in every mode."""
    run = RunDir(path)

    def holdings():
        # what the folder holds; the empty samples/ and checkpoints/ of a run killed before it
        # wrote anything do not count (its retry would otherwise be refused)
        return [e for e in run.entries() if not (e.name in (SAMPLES_DIR, CHECKPOINTS_DIR)
                                                 and e.is_dir() and not any(e.iterdir()))]

    if run.path.exists() and not run.path.is_dir():
        raise GankitError(f"{run.path} is a file; the run directory must be a folder (choose "
                          "another --out)")
    if mode == FRESH and holdings() and not run.is_run():
        # refuse before creating anything in a folder that belongs to the user
        raise GankitError(f"{run.path} is not empty and is not a gankit run; choose a new or "
                          "empty folder, or pass --overwrite (overwrite=True) to replace what "
                          "it holds")
    lock = RunLock(run.path).acquire()
    try:
        entries = holdings()
        if mode == RESUME:
            if not run.is_run():
                raise GankitError(f"cannot resume: {run.path} is not a gankit run directory")
            if not run.checkpoints():
                raise GankitError(f"cannot resume: {run.path} has no checkpoints")
        elif mode == FRESH and entries:
            raise GankitError(f"{run.path} already holds a run; continue it with --resume "
                              f"{run.path}, replace it with --overwrite, or choose another --out")
        elif mode == OVERWRITE:
            for entry in run.entries():
                try:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                except OSError as exc:
                    raise _explain(exc, entry) from None
        elif mode not in (FRESH, RESUME, OVERWRITE):
            raise GankitError(f"unknown run-directory mode {mode!r}")
    except BaseException:
        lock.release()
        raise
    return lock


class RunWriter:
    """Writes one run directory. Create with `enabled=False` on processes that must not write."""

    def __init__(self, path: str | Path, enabled: bool = True, tensorboard: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        self.run = RunDir(self.path)
        self._tensorboard = tensorboard
        self._tb = None
        self._csv_columns: list[str] | None = None
        if enabled:
            try:
                (self.path / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
                (self.path / CHECKPOINTS_DIR).mkdir(exist_ok=True)
                # half-written files of a process that was killed mid-write (the run is ours
                # now, so nobody else is writing them)
                for folder in (self.path, self.path / CHECKPOINTS_DIR, self.path / SAMPLES_DIR):
                    for stale in folder.glob(".*.tmp-*"):
                        stale.unlink(missing_ok=True)
            except OSError as exc:
                raise _explain(exc, self.path) from None

    # -- provenance ---------------------------------------------------------------------------
    def write_config(self, record: dict[str, Any]) -> None:
        if self.enabled:
            atomic_write(self.path / CONFIG_FILE, dump_yaml(record))

    def write_status(self, state: str, step: int, total_steps: int, **extra) -> None:
        if self.enabled:
            record = {"state": state, "step": int(step), "total_steps": int(total_steps),
                      "updated": now(), **extra}
            atomic_write(self.path / STATUS_FILE, json.dumps(record, indent=1))

    # -- scalars ------------------------------------------------------------------------------
    def start_losses(self, resume_step: int) -> None:
        """On resume, drop the rows logged after the checkpoint, since they will be re-run."""
        path = self.path / LOSSES_FILE
        if not self.enabled or not path.exists():
            return
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [row for row in reader if row]
        if not header or header[0] != "step":
            raise GankitError(f"{path} is not a gankit losses file (its header is {header}); "
                              "move it away before resuming")
        self._csv_columns = header
        kept = [row for row in rows if _step_of_row(row) is not None and _step_of_row(row) <= resume_step]
        text = io.StringIO()
        csv.writer(text).writerows([header] + kept)
        atomic_write(path, text.getvalue())

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        path = self.path / LOSSES_FILE
        try:
            if self._csv_columns is None:
                self._csv_columns = ["step"] + list(values)
                with open(path, "w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerow(self._csv_columns)
            with open(path, "a", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(
                    [step] + [f"{values[c]:.6g}" if c in values else "" for c in self._csv_columns[1:]])
        except OSError as exc:
            raise _explain(exc, path) from None
        tb = self.tensorboard_writer(step)
        if tb is not None:
            for key, value in values.items():
                tb.add_scalar(f"train/{key}", value, step)

    def tensorboard_writer(self, purge_step: int | None = None):
        if not (self.enabled and self._tensorboard):
            return None
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:   # tensorboard is a dependency, but a broken install must not stop training
                print("gankit: tensorboard is not importable; skipping TensorBoard logs",
                      file=sys.stderr)
                self._tensorboard = False
                return None
            self._tb = SummaryWriter(log_dir=str(self.path), purge_step=purge_step)
        return self._tb

    def close(self) -> None:
        if self._tb is not None:
            try:
                self._tb.flush()
                self._tb.close()
            except OSError:
                pass       # a full disk must not hide the error that stopped the run
            self._tb = None

    # -- pictures -----------------------------------------------------------------------------
    def sample_path(self, step: int) -> Path:
        return self.run.sample_path(step)


def _step_of_row(row: list[str]) -> int | None:
    try:
        return int(float(row[0]))
    except (ValueError, IndexError):
        return None





def temporary_run_directory(owner) -> Path:
    """A fresh folder for an estimator fitted without `out`, removed with `owner` (when it is
    garbage-collected, or at exit): fitting in a loop does not fill /tmp."""
    import tempfile
    import weakref

    path = Path(tempfile.mkdtemp(prefix="gankit-run-"))
    weakref.finalize(owner, shutil.rmtree, str(path), ignore_errors=True)
    return path


def copy_model(run_dir: str | Path, path: str | Path, *, overwrite: bool = False,
               extra: tuple[str, ...] = ()) -> Path:
    """Write a self-contained model directory at `path`: the run's config.yaml, its newest
    checkpoint and the `extra` files of the run; the same ownership rules as a run (a non-empty
    folder is refused unless overwrite, a folder in use is refused)."""
    source, target = RunDir(run_dir), Path(path)
    if target.exists() and target.resolve() == source.path.resolve():
        return target
    newest = source.checkpoint()
    lock = claim_run_directory(target, OVERWRITE if overwrite else FRESH)
    try:
        for name in (CONFIG_FILE, *extra):
            if source.file(name).is_file():
                atomic_write(target / name, source.file(name).read_bytes())
        atomic_write(target / CHECKPOINTS_DIR / newest.name, newest.read_bytes())
    finally:
        lock.release()
    return target


__all__ = ["RunWriter", "claim_run_directory", "copy_model", "temporary_run_directory", "FRESH",
           "RESUME", "OVERWRITE", "LOCK_FILE"]
