"""Running a training job end to end: data -> networks -> loop -> run directory, and back.

`train_run` is the one training entry: the CLI, the Python API, `TabularGAN` and the
experiments call it. It claims the run directory (refusing a folder the user owns, a run another
process trains, or a fresh start over an existing run), trains with `training_loop`, and keeps
the run's provenance: a resumed run keeps its first `created` and `command` and appends one
entry per resume. `load_run` rebuilds a trained model from a run directory (config and
checkpoint, whose identity must match) without the data.
"""
from __future__ import annotations

import contextlib
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from .. import provenance
from ..config import TrainConfig
from ..data import Dataset, load_data
from ..data.toy import is_toy_name, load_toy
from ..errors import GankitError
from ..models import DataSpec, GANModule, build_gan, checkpoint_identity
from ..run_directory import RunDir
from ..threads import threads_for, torch_threads
from .checkpoint import check_identity, load_checkpoint, restore
from .loop import Execution, LoopResult, training_loop
from .run_writer import FRESH, OVERWRITE, RESUME, RunWriter, claim_run_directory

__all__ = ["TrainConfig", "train_run", "load_run", "prepare_data", "rebuild_data", "build_module",
           "TrainedRun", "Execution"]

# what may change when a run is resumed; everything else would make it a different run
RESUME_OVERRIDES = ("steps", "epochs", "progress", "tensorboard", "log_every", "sample_every",
                    "checkpoint_every", "keep_checkpoints", "device", "threads", "lr_g", "lr_d")


@dataclass
class TrainedRun:
    module: GANModule
    config: TrainConfig
    run_dir: Path | None
    result: LoopResult
    train: Dataset
    held_out: Dataset


class TerminationRequested(KeyboardInterrupt):
    """SIGTERM, turned into the same clean stop as Ctrl-C (status "stopped", checkpoints kept)."""


@contextlib.contextmanager
def stop_cleanly_on_sigterm():
    """Within the block, SIGTERM stops training like Ctrl-C instead of killing it mid-write."""
    def handler(signum, frame):
        raise TerminationRequested(f"stopped by signal {signum}")
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread: leave signals to the caller
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def prepare_data(config: TrainConfig) -> tuple[Dataset, Dataset]:
    """(training split, held-out split) for a config's data source, reproducibly."""
    if is_toy_name(config.data):
        # an independent draw of the same mixture is the natural held-out set
        return (load_toy(config.data, n=config.n_samples, seed=config.seed),
                load_toy(config.data, n=max(2500, config.n_samples // 4), seed=config.seed + 1_000_000))
    data = load_data(config.data, label_column=config.label_column, image_size=config.image_size,
                     channels=config.channels, n=config.n_samples, seed=config.seed)
    return data.split(config.held_out, seed=config.seed)


def rebuild_data(config: TrainConfig, record: dict) -> tuple[Dataset, Dataset]:
    """A finished run's (training, held-out) data, rebuilt from its config and checked against
    the fingerprints it recorded, so nothing is measured against other data than the run's."""
    if config.data == "array":
        raise GankitError("this run was fitted from arrays in Python, so its real data cannot be "
                          "rebuilt; pass your held-out arrays (gankit.metrics, GAN.sample(real=...))")
    if config.data == "table":
        raise GankitError("this run was fitted by gankit.TabularGAN from a DataFrame, so its real "
                          "data cannot be rebuilt; call gankit.metrics (e.g. column_fidelity) on "
                          "your held-out frame and TabularGAN.sample(n)")
    train, held_out = prepare_data(config)
    for part, data in (("data", train), ("held_out", held_out)):
        expected = record.get(part, {}).get("fingerprint")
        if expected and expected != data.fingerprint:
            raise GankitError(f"the run's {part.replace('_', '-')} data has changed since training "
                              f"(fingerprint {data.fingerprint}, recorded {expected}); use the "
                              "data the run was trained on")
    return train, held_out


def build_module(config: TrainConfig, spec: DataSpec) -> GANModule:
    # weights are initialised from the run's seed without disturbing the caller's global RNG
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build_gan(config, spec)


def _record(config: TrainConfig, train: Dataset, held_out: Dataset, spec: DataSpec,
            execution: Execution, command: list[str] | None) -> dict[str, Any]:
    import torch.distributed as dist
    backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
    world = execution.world_size
    return provenance.record(
        command, train=config.to_dict(), data=train.describe(), held_out=held_out.describe(),
        spec=spec.to_dict(),
        distributed={"world_size": world, "per_process_batch": config.batch_size,
                     "global_batch": config.batch_size * world, "backend": backend},
        execution=execution.to_dict())


def _resumed_record(previous: dict, fresh: dict, from_step: int, to_step: int) -> dict:
    """The run's first provenance, its current settings, and one more entry in its history."""
    before, after = previous.get("train", {}), fresh["train"]
    changed = {k: (before.get(k), after[k]) for k in after if before.get(k) != after[k]}
    record = {**fresh, "created": previous.get("created", fresh["created"]),
              "command": previous.get("command", fresh["command"])}
    if "resumed" in previous:            # the list of times written before resume entries existed
        record["resumed"] = previous["resumed"]
    record["resumes"] = list(previous.get("resumes", [])) + [
        provenance.resume_entry(fresh["command"], from_step, to_step, changed)]
    return record


def train_run(config: TrainConfig, out: str | Path | None, *,
              data: tuple[Dataset, Dataset] | None = None, resume: bool = False,
              overwrite: bool = False, execution: Execution | None = None,
              command: list[str] | None = None, spec_extra: dict | None = None,
              prepare: Callable[[GANModule, TrainConfig], None] | None = None) -> TrainedRun:
    """Train according to `config`, writing the run directory `out` (rank 0 only).

    out=None trains without writing anything. resume: continue `out` from its newest checkpoint
    (only the settings in RESUME_OVERRIDES may differ from the run's). overwrite: replace
    whatever `out` holds. execution: device, data-parallel rank and world size, GPU paths.
    prepare(module, config): called on the freshly built networks before training (e.g. to
    seed a generator's own noise stream).
    """
    execution = execution or Execution()
    writes = out is not None and execution.rank == 0
    if resume and out is None:
        raise GankitError("cannot resume without a run directory")
    lock = claim_run_directory(out, RESUME if resume else OVERWRITE if overwrite else FRESH) \
        if writes else None
    try:
        with stop_cleanly_on_sigterm():
            return _train_claimed(config, Path(out) if out is not None else None, data, resume,
                                  execution, command, spec_extra, prepare, writes)
    finally:
        if lock is not None:
            lock.release()


def _train_claimed(config, out, data, resume, execution, command, spec_extra, prepare, writes):
    train, held_out = data if data is not None else prepare_data(config)
    batch_chosen = config.batch_size is not None
    config = config.resolve(train.kind)
    if config.conditional and train.y is None:
        raise GankitError(f"--conditional needs labels, and data {train.name!r} has none "
                          "(CSV: add a 'label' column or pass --label-column)")
    if config.batch_size > len(train) and train.kind != "points" and not batch_chosen:
        # a default batch larger than the data: one pass is the natural batch. A batch size the
        # user chose is kept (batches are drawn with replacement, as CTGAN's are).
        config.batch_size = len(train)
    spec = DataSpec.of(train, **(spec_extra or {}))
    module = build_module(config, spec)
    if prepare is not None:
        prepare(module, config)
    identity = checkpoint_identity(config, spec, train.fingerprint)
    previous = RunDir(out).record() if (resume and writes) else None
    if previous is not None:
        recorded = previous.get("data", {}).get("fingerprint")
        if recorded not in (None, train.fingerprint):
            raise GankitError(f"cannot resume {out}: its data fingerprint {recorded} differs from "
                              f"this data's {train.fingerprint}")
    writer = RunWriter(out or "", enabled=writes, tensorboard=config.tensorboard)
    fresh = _record(config, train, held_out, spec, execution, command) if writes else None
    before = RunDir(out).status() if previous is not None else {}

    def on_start(start: int, total: int) -> None:
        # written only now: a resume is valid once its checkpoint has been restored
        if writes:
            writer.write_config(fresh if previous is None else
                                _resumed_record(previous, fresh, start, total))

    try:
        with torch_threads(threads_for(config), execution.device or config.device):
            result = training_loop(module, train, config, writer=writer, execution=execution,
                                   resume=resume, identity=identity, on_start=on_start,
                                   previous_seconds=float(before.get("total_seconds",
                                                                     before.get("seconds", 0.0)) or 0.0))
    finally:
        writer.close()
    if writes:
        finish_pictures(out)
    if execution.world_size > 1:
        from ..distributed import barrier
        barrier()        # on return, every rank may read the finished run directory
    return TrainedRun(module, config, out, result, train, held_out)


def finish_pictures(run_dir: Path) -> None:
    """training.gif from the snapshots and losses.png from losses.csv; a picture that cannot be
    drawn is reported and skipped (the run's checkpoints are already written)."""
    from ..imaging import save_gif
    from ..plots.training import save_loss_curves
    from ..run_directory import GIF_FILE, LOSSES_FILE, LOSSES_PICTURE

    run = RunDir(run_dir)
    frames = run.samples()
    for make, what in ((lambda: save_gif(frames, run.file(GIF_FILE), duration_ms=250)
                        if frames else None, GIF_FILE),
                       (lambda: save_loss_curves(run.file(LOSSES_FILE), run.file(LOSSES_PICTURE))
                        if run.file(LOSSES_FILE).exists() else None, LOSSES_PICTURE)):
        try:
            make()
        except Exception as exc:  # noqa: BLE001 - a picture never costs the user a finished run
            print(f"gankit: warning: could not draw {what} ({type(exc).__name__}: {exc}); the "
                  "run itself is complete", file=sys.stderr)


def run_identity(run: RunDir) -> dict:
    """What a checkpoint of this run must belong to, from the run's own config."""
    record = run.record()
    fingerprint = (record.get("data") or {}).get("fingerprint")
    return checkpoint_identity(run.train_config(), run.spec(), fingerprint)


def load_run(run_dir: str | Path, device: str = "cpu", step: int | None = None):
    """(module, config, record) rebuilt from a run directory's config and newest checkpoint
    (or the one at `step`), after checking that the checkpoint belongs to the run."""
    run = RunDir(run_dir)
    record = run.record()
    config = run.train_config()
    module = build_module(config, run.spec())
    checkpoint = load_checkpoint(run.checkpoint(step))
    check_identity(checkpoint, run_identity(run), run.path)
    restore(checkpoint, module)
    module.to(device).eval()
    return module, config, record
