"""Running a training job end to end: data -> networks -> loop -> run directory, and back.

`train_run` is what the CLI and the Python API call; `load_run` rebuilds a trained model from
a run directory (its config and newest checkpoint) without the data.
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig, git_revision, library_versions
from ..data import Dataset, load_data
from ..data.toy import is_toy_name, load_toy
from ..errors import GankitError
from ..models import DataSpec, GANModule, build_gan
from .checkpoint import list_checkpoints, load_checkpoint, restore
from .loop import ExecutionOptions, LoopResult, training_loop
from .run_dir import RunWriter, is_run_dir, read_run_config

__all__ = ["TrainConfig", "train_run", "load_run", "prepare_data", "TrainedRun", "ExecutionOptions"]


@dataclass
class TrainedRun:
    module: GANModule
    config: TrainConfig
    run_dir: Path
    result: LoopResult
    train: Dataset
    held_out: Dataset


def prepare_data(config: TrainConfig) -> tuple[Dataset, Dataset]:
    """(training split, held-out split) for a config's data source, reproducibly."""
    if is_toy_name(config.data):
        # an independent draw of the same mixture is the natural held-out set
        return (load_toy(config.data, n=config.n_samples, seed=config.seed),
                load_toy(config.data, n=max(2500, config.n_samples // 4), seed=config.seed + 1_000_000))
    data = load_data(config.data, label_column=config.label_column, image_size=config.image_size,
                     channels=config.channels, n=config.n_samples, seed=config.seed)
    return data.split(config.held_out, seed=config.seed)


def build_module(config: TrainConfig, spec: DataSpec) -> GANModule:
    # weights are initialised from the run's seed without disturbing the caller's global RNG
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build_gan(config, spec)


def _provenance(config: TrainConfig, train: Dataset, held_out: Dataset, spec: DataSpec,
                world_size: int, command: list[str] | None,
                options: ExecutionOptions | None = None) -> dict[str, Any]:
    import torch.distributed as dist
    backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
    return {
        "gankit_run": 1,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv,
        "train": config.to_dict(),
        "data": train.describe(),
        "held_out": held_out.describe(),
        "spec": spec.to_dict(),
        "distributed": {"world_size": world_size, "per_process_batch": config.batch_size,
                        "global_batch": config.batch_size * world_size, "backend": backend},
        "execution": (options or ExecutionOptions()).to_dict(),
        "versions": library_versions(),
        "git_revision": git_revision(),
    }


def train_run(config: TrainConfig, out: str | Path, *, data: tuple[Dataset, Dataset] | None = None,
              resume: bool = False, device: str | None = None, rank: int = 0, world_size: int = 1,
              sync_gradients=None, command: list[str] | None = None,
              spec_extra: dict | None = None, options: ExecutionOptions | None = None) -> TrainedRun:
    """Train according to `config`, writing the run directory `out` (rank 0 only).

    rank/world_size/sync_gradients: data-parallel training (gankit.distributed sets them under
    torchrun). options: bf16 autocast, channels_last, torch.compile, SyncBatchNorm.
    """
    out = Path(out)
    if resume:
        if not is_run_dir(out):
            raise GankitError(f"cannot resume: {out} is not a gankit run directory")
        if not list_checkpoints(out):
            raise GankitError(f"cannot resume: {out} has no checkpoints")
    train, held_out = data if data is not None else prepare_data(config)
    config = config.resolve(train.kind)
    if config.conditional and train.y is None:
        raise GankitError(f"--conditional needs labels, and data {train.name!r} has none "
                          "(CSV: add a 'label' column or pass --label-column)")
    if config.batch_size > len(train) and train.kind != "points":
        config.batch_size = len(train)
    spec = DataSpec.of(train, **(spec_extra or {}))
    module = build_module(config, spec)
    writer = RunWriter(out, enabled=(rank == 0), tensorboard=config.tensorboard)
    if resume and rank == 0:
        recorded = read_run_config(out)
        if recorded.get("data", {}).get("fingerprint") not in (None, train.fingerprint):
            raise GankitError(f"cannot resume {out}: its data fingerprint "
                              f"{recorded['data']['fingerprint']} differs from this data's "
                              f"{train.fingerprint}")
    if rank == 0:
        record = _provenance(config, train, held_out, spec, world_size, command, options)
        if resume:
            record["resumed"] = read_run_config(out).get("resumed", []) + [record["created"]]
        writer.write_config(record)
    device = device or config.device
    try:
        result = training_loop(module, train, config, writer=writer, device=device, rank=rank,
                               world_size=world_size, resume=resume, sync_gradients=sync_gradients,
                               options=options)
    finally:
        writer.close()
    if rank == 0:
        finish_pictures(out)
    if world_size > 1:
        from ..distributed import barrier
        barrier()        # on return, every rank may read the finished run directory
    return TrainedRun(module, config, out, result, train, held_out)


def finish_pictures(run_dir: Path) -> None:
    """training.gif from the snapshots and losses.png from losses.csv."""
    from ..plots.training import save_loss_curves

    run_dir = Path(run_dir)
    frames = sorted((run_dir / "samples").glob("step_*.png"))
    if frames:
        from ..imaging import save_gif
        save_gif(frames, run_dir / "training.gif", duration_ms=250)
    if (run_dir / "losses.csv").exists():
        save_loss_curves(run_dir / "losses.csv", run_dir / "losses.png")


def load_run(run_dir: str | Path, device: str = "cpu", step: int | None = None):
    """(module, config, record) rebuilt from a run directory's config and newest checkpoint."""
    record = read_run_config(run_dir)
    config = TrainConfig.from_dict(record["train"])
    spec = DataSpec.from_dict(record["spec"])
    module = build_module(config, spec)
    found = list_checkpoints(run_dir)
    if not found:
        raise GankitError(f"{run_dir} has no checkpoints yet; train it first")
    chosen = dict(found).get(step) if step is not None else found[-1][1]
    if chosen is None:
        raise GankitError(f"{run_dir} has no checkpoint at step {step}; it has "
                          f"{[s for s, _ in found]}")
    restore(load_checkpoint(chosen), module)
    module.to(device).eval()
    return module, config, record
