"""The run directory: what a training run leaves behind, and the one object that writes it.

Layout: config.yaml (settings, data description, versions, git revision), status.json (state
and step, updated as the run goes), losses.csv, events.* (TensorBoard), samples/ (a scatter or
grid per snapshot), checkpoints/, and at the end training.gif and losses.png. Only the writer
process (rank 0) creates any of it.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from ..config import dump_yaml
from ..errors import GankitError
from .checkpoint import atomic_write_bytes

STATUS_FILE = "status.json"
CONFIG_FILE = "config.yaml"
LOSSES_FILE = "losses.csv"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def is_run_dir(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise GankitError(f"run directory {run_dir} does not exist")
    if not path.is_file():
        raise GankitError(f"{run_dir} is not a gankit run directory (no {CONFIG_FILE})")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GankitError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(values, dict) or "train" not in values:
        raise GankitError(f"{path} is not a gankit run config (no 'train' section)")
    return values


def read_status(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


class RunWriter:
    """Writes one run directory. Create with `enabled=False` on processes that must not write."""

    def __init__(self, path: str | Path, enabled: bool = True, tensorboard: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        self._tensorboard = tensorboard
        self._tb = None
        self._csv_columns: list[str] | None = None
        if enabled:
            (self.path / "samples").mkdir(parents=True, exist_ok=True)
            (self.path / "checkpoints").mkdir(exist_ok=True)

    # -- provenance ---------------------------------------------------------------------------
    def write_config(self, record: dict[str, Any]) -> None:
        if self.enabled:
            atomic_write_bytes(self.path / CONFIG_FILE, dump_yaml(record).encode())

    def write_status(self, state: str, step: int, total_steps: int, **extra) -> None:
        if self.enabled:
            record = {"state": state, "step": int(step), "total_steps": int(total_steps),
                      "updated": now(), **extra}
            atomic_write_bytes(self.path / STATUS_FILE, json.dumps(record, indent=1).encode())

    # -- scalars ------------------------------------------------------------------------------
    def start_losses(self, resume_step: int) -> None:
        """On resume, drop the rows logged after the checkpoint, since they will be re-run."""
        path = self.path / LOSSES_FILE
        if not self.enabled or not path.exists():
            return
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows:
            self._csv_columns = list(rows[0].keys())
        kept = [r for r in rows if int(float(r["step"])) <= resume_step]
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._csv_columns or ["step"])
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, path)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        path = self.path / LOSSES_FILE
        if self._csv_columns is None:
            self._csv_columns = ["step"] + list(values)
            with open(path, "w", newline="") as handle:
                csv.writer(handle).writerow(self._csv_columns)
        with open(path, "a", newline="") as handle:
            csv.writer(handle).writerow(
                [step] + [f"{values[c]:.6g}" if c in values else "" for c in self._csv_columns[1:]])
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
            self._tb.flush()
            self._tb.close()
            self._tb = None

    # -- pictures -----------------------------------------------------------------------------
    def sample_path(self, step: int) -> Path:
        return self.path / "samples" / f"step_{step:08d}.png"

    def snapshots(self) -> list[Path]:
        return sorted((self.path / "samples").glob("step_*.png"))
