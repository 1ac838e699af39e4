"""The one training loop, for every network family, GAN variant and data kind.

Data that fits in memory lives on the device as one tensor and batches are drawn by index with
the run's own seeded `torch.Generator`; that generator also draws noise and penalty
interpolates, and its state is checkpointed, so a run resumed from step N continues exactly as
if it had never stopped. Nothing here is module-level state: device, rank and world size come
in as arguments, and only a writer process touches the run directory.

Data parallel (world_size > 1, see gankit.distributed): every rank seeds the same stream, draws
the global batch (batch_size * world_size) of indices, noise and penalty weights and keeps its
own slice; gradients are averaged across ranks after each backward. With world_size 1 the draws
are exactly the single-process ones.
"""
from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from ..errors import GankitError, TrainingDiverged
from ..models import GANModule
from ..gans import LossContext, variant_for
from .ema import update_average
from .checkpoint import (check_finite_state, check_identity, checkpoint_path, list_checkpoints,
                         load_checkpoint, prune_checkpoints, restore, save_checkpoint)
from .run_writer import RunWriter
from .snapshots import Snapshots
from .unrolled import unrolled_generator_loss


def make_optimizers(module: GANModule, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    return {"g": torch.optim.Adam(module.generator.parameters(), lr=config.lr_g, betas=config.betas_g),
            "d": torch.optim.Adam(module.discriminator.parameters(), lr=config.lr_d, betas=config.betas_d)}


def rank_seed(seed: int, rank: int) -> int:
    # distinct, reproducible streams per process; rank 0 keeps the plain seed. Training itself
    # uses rank 0's stream on every rank (the global batch is drawn and sliced), so that W
    # processes repeat one process with the global batch.
    return int(seed) + 1_000_003 * int(rank)


@dataclass
class Execution:
    """Where and how a run executes, not what it learns: the device, the data-parallel place of
    this process, and the GPU paths (recorded in the run's config; free to change on resume).

    rank/world_size/sync_gradients: data-parallel training (gankit.distributed sets them under
      torchrun); sync_gradients is called on a network after its backward pass and defaults to
      gankit.distributed.all_reduce_gradients when world_size > 1.
    amp: "bf16" runs the forward passes under bf16 autocast (the gradient penalty stays float32).
    channels_last: conv nets and image batches in NHWC memory layout.
    compile: torch.compile the generator and the discriminator's score passes (the penalty's
      double backward uses the eager discriminator: compiled graphs cannot be differentiated twice).
    sync_bn: torch.nn.SyncBatchNorm across ranks (CUDA only); otherwise BatchNorm normalises each
      process's own batch.
    """
    device: str | None = None          # None: the config's device
    rank: int = 0
    world_size: int = 1
    sync_gradients: Callable[[torch.nn.Module], None] | None = None
    amp: str | None = None
    channels_last: bool = False
    compile: bool = False
    sync_bn: bool = False

    def __post_init__(self):
        if self.amp in ("", "none", "off", "fp32"):
            self.amp = None
        if self.amp not in (None, "bf16"):
            raise GankitError(f"unknown --amp {self.amp!r}; choose bf16 or none")

    def to_dict(self) -> dict:
        return {"amp": self.amp or "none", "channels_last": self.channels_last,
                "compile": self.compile, "sync_bn": self.sync_bn}


def _float_scores(network):
    """The discriminator as the losses see it under autocast: float32 scores."""
    def scores(x, y=None):
        return network(x, y).float()
    return scores


@dataclass
class LoopResult:
    steps_done: int
    final_step: int
    seconds: float
    last_losses: dict[str, float] = field(default_factory=dict)


def _mean_logs(buffer: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    keys = buffer[0].keys()
    return {k: float(torch.stack([b[k] for b in buffer if k in b]).mean()) for k in keys}


def _data_parallel(execution: Execution):
    """(gankit.distributed or None, the gradient hook) for this process's place in the world."""
    if execution.world_size == 1:
        return None, execution.sync_gradients
    from .. import distributed
    if not 0 <= execution.rank < execution.world_size:
        raise GankitError(f"rank {execution.rank} is outside a world of {execution.world_size} processes")
    sync = execution.sync_gradients
    if sync is None:
        if not distributed.is_active():
            raise GankitError(f"world_size {execution.world_size} needs a torch.distributed process "
                              "group (launch with torchrun) or a sync_gradients hook")
        sync = distributed.all_reduce_gradients
    return distributed, sync


def _restore_newest(run_dir: Path, module: GANModule, optimizers: dict, rng: torch.Generator,
                    config: TrainConfig, execution: Execution, identity: dict | None,
                    distributed) -> int:
    """Load the newest checkpoint into the networks, optimizers and stream; its step."""
    found = list_checkpoints(run_dir)
    chosen = found[-1] if found else None
    if distributed is not None and distributed.is_active():
        # every rank resumes from the checkpoint rank 0 sees as newest (it may still have been
        # writing it when another rank got here)
        step_of_rank0 = distributed.broadcast_object(chosen[0] if chosen else None)
        chosen = None if step_of_rank0 is None else (step_of_rank0, checkpoint_path(run_dir, step_of_rank0))
        if chosen is not None and not chosen[1].exists():
            raise GankitError(f"rank {execution.rank} cannot see {chosen[1]}: resuming on several "
                              "machines needs the run directory on storage that every machine sees")
    if chosen is None:
        raise GankitError(f"cannot resume: {run_dir} has no checkpoints")
    checkpoint = load_checkpoint(chosen[1])
    if identity is not None:
        check_identity(checkpoint, identity, run_dir)
    rng_states = restore(checkpoint, module, optimizers)
    # the learning rate is one of the settings a resume may change (after a divergence, say)
    for name, rate in (("g", config.lr_g), ("d", config.lr_d)):
        for group in optimizers[name].param_groups:
            group["lr"] = rate
    key = f"train_rank{execution.rank}" if f"train_rank{execution.rank}" in rng_states else "train_rank0"
    if key in rng_states:
        try:
            state = rng_states[key]
            rng.set_state(state.to(torch.uint8).cpu() if rng.device.type == "cpu" else state)
        except (RuntimeError, ValueError, TypeError):
            raise GankitError(f"checkpoint {chosen[1]} holds a damaged random-number state "
                              "(delete it to fall back to the previous checkpoint)") from None
    saved_world = int(checkpoint.meta.get("extra", {}).get("world_size", 1) or 1)
    if saved_world != execution.world_size and execution.rank == 0:
        print(f"gankit: resuming a checkpoint written by {saved_world} process(es) on "
              f"{execution.world_size}: the global batch changes from "
              f"{config.batch_size * saved_world} to {config.batch_size * execution.world_size} "
              "(the random stream continues)", file=sys.stderr)
    return checkpoint.step


class _Step:
    """One generator step: n_critic discriminator updates, then one generator update.

    Holds what a step reads (data on the device, the shared random stream, the networks as the
    step runs them, the variant whose losses it computes) so that `training_loop` reads as the
    schedule it is. Nothing here depends on which variant it is."""

    def __init__(self, module: GANModule, x, y, config: TrainConfig, execution: Execution,
                 optimizers, rng, sync_gradients, average_over_ranks):
        generator, discriminator = module.generator, module.discriminator
        self.module, self.x, self.y, self.config = module, x, y, config
        self.optimizers, self.rng, self.sync = optimizers, rng, sync_gradients
        self.average = average_over_ranks
        self.variant = variant_for(config)
        self.device = x.device
        world, rank = execution.world_size, execution.rank
        # networks as the step uses them: eager by default, compiled and/or float32-scored
        self.fast_generator, self.critic = generator, discriminator
        self.ctx = LossContext(rng=rng, shard=(rank, world) if world > 1 else None)
        if execution.compile:
            self.fast_generator, self.critic = torch.compile(generator), torch.compile(discriminator)
            self.ctx.penalty_critic = discriminator
        if execution.amp:
            self.critic = _float_scores(self.critic)
        self.autocast = ((lambda: torch.autocast(self.device.type, dtype=torch.bfloat16))
                         if execution.amp == "bf16" else contextlib.nullcontext)
        self.global_batch = config.batch_size * world
        self.mine = None if world == 1 else slice(rank * config.batch_size, (rank + 1) * config.batch_size)
        self.channels_last = execution.channels_last

    def draw(self, tensor):
        # this rank's rows of a draw made for the global batch (all of it with one process)
        return tensor if self.mine is None else tensor[self.mine]

    def batch(self):
        """A real batch and its labels, drawn from the shared stream."""
        index = self.draw(torch.randint(self.x.shape[0], (self.global_batch,), generator=self.rng,
                                        device=self.device))
        real = self.x[index]
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real, (self.y[index] if self.y is not None else None)

    def noise(self):
        return self.draw(torch.randn(self.global_batch, self.module.generator.latent_dim,
                                     generator=self.rng, device=self.device))

    def update(self, optimizer, loss, network) -> None:
        """One optimizer step on `network` (its gradients averaged over ranks first)."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.sync is not None:
            self.sync(network)
        optimizer.step()

    def __call__(self, step: int, total: int) -> dict:
        config, optimizers = self.config, self.optimizers
        generator, discriminator = self.module.generator, self.module.discriminator
        if config.lr_decay == "linear":
            # a function of the step alone, so a resumed run gets the same rates
            scale = 1.0 - (step - 1) / total
            for name, base in (("g", config.lr_g), ("d", config.lr_d)):
                for group in optimizers[name].param_groups:
                    group["lr"] = base * scale
        discriminator.requires_grad_(True)
        for _ in range(config.n_critic):
            real, labels = self.batch()
            z = self.noise()
            with self.autocast():
                with torch.no_grad():
                    fake = self.fast_generator(z, labels)
                d_loss, d_logs = self.variant.discriminator_loss(self.critic, real, fake, labels,
                                                                 labels, self.ctx)
            self.update(optimizers["d"], d_loss, discriminator)
        # the generator step needs gradients through D, not of D's weights
        discriminator.requires_grad_(False)
        if config.unroll:
            # Metz et al.: the look-ahead copy of D trains on a real batch and this step's fakes
            real, labels = self.batch()
            z = self.noise()
            with self.autocast():
                g_loss, g_logs = unrolled_generator_loss(
                    self.variant, discriminator, optimizers["d"], self.fast_generator(z, labels),
                    real, labels, steps=config.unroll, order=config.unroll_order, ctx=self.ctx)
        else:
            z = self.noise()
            labels = (self.y[self.draw(torch.randint(self.x.shape[0], (self.global_batch,),
                                                     generator=self.rng, device=self.device))]
                      if self.y is not None else None)
            with self.autocast():
                g_loss, g_logs = self.variant.generator_loss(self.critic, self.fast_generator(z, labels),
                                                             labels, self.ctx)
        self.update(optimizers["g"], g_loss, generator)
        if self.module.generator_ema is not None:
            update_average(self.module.generator_ema, generator, config.ema, step)
        logs = {**d_logs, **g_logs}
        # state kept between steps (BEGAN's k_t)
        logs.update(self.variant.end_step(discriminator, logs, average=self.average))
        return logs


def _cadences(config: TrainConfig, total: int) -> tuple[int, int, int]:
    """(log_every, sample_every, checkpoint_every) for a run of `total` steps."""
    log_every = config.log_interval(total)
    sample_every = config.sample_every or max(1, total // 20)
    checkpoint_every = config.checkpoint_every or max(log_every, total // 5)
    # checkpoints must follow a finiteness check of the losses, which happens at log steps
    checkpoint_every = max(log_every, int(math.ceil(checkpoint_every / log_every)) * log_every)
    return log_every, sample_every, checkpoint_every


def _place(module: GANModule, data: Dataset, config: TrainConfig, device, fit: bool = True):
    """The data on the device in the networks' units: (x, y), x standardised for MLP networks
    (y: the labels, or the clusters the networks are conditioned on). fit: fit the scaling to
    the data first."""
    x = data.x.to(device)
    y = data.y.to(device) if (config.conditional and data.y is not None) else None
    if fit:
        module.fit_scaling(x, y, config.seed)
    return module.encode(x, y)


def _gpu_paths(module: GANModule, x, execution: Execution, device) -> None:
    """Memory layout and batch-norm synchronisation, as the execution asks."""
    if execution.channels_last:
        if x.dim() != 4:
            raise GankitError("--channels-last is for image data and the conv nets; this data "
                              f"has samples of shape {tuple(x.shape[1:])}")
        module.to(memory_format=torch.channels_last)
    if execution.sync_bn and execution.world_size > 1:
        from ..distributed import convert_sync_batchnorm
        convert_sync_batchnorm(module, device)


def _logged_losses(buffer: list[dict], step: int, distributed, device) -> dict[str, float]:
    """The mean losses since the last log (over every rank), or TrainingDiverged."""
    losses = _mean_logs(buffer)
    buffer.clear()
    if distributed is not None and distributed.is_active():
        # the global batch's losses, and one divergence verdict for every rank
        losses = distributed.average_scalars(losses, device)
    bad = [k for k, v in losses.items() if not math.isfinite(v)]
    if bad:
        raise TrainingDiverged(
            f"training diverged at step {step}: {', '.join(bad)} became NaN or infinite; the "
            "last good checkpoint is kept (resume from it with a lower learning rate: --resume "
            "RUN --lr-g ... --lr-d ...)")
    return losses


def _save(writer: RunWriter, module: GANModule, optimizers, rng, step: int, config: TrainConfig,
          execution: Execution, identity: dict | None) -> None:
    """A checkpoint of a finite state (a "last good" one training can continue from)."""
    check_finite_state(module, optimizers, step)
    world = execution.world_size
    save_checkpoint(checkpoint_path(writer.path, step), module, optimizers,
                    {f"train_rank{execution.rank}": rng.get_state()}, step,
                    extra={"world_size": world, "global_batch": config.batch_size * world},
                    identity=identity)
    prune_checkpoints(writer.path, config.keep_checkpoints)


def training_loop(module: GANModule, data: Dataset, config: TrainConfig, *,
                  writer: RunWriter | None = None, execution: Execution | None = None,
                  resume: bool = False, identity: dict | None = None,
                  on_step: Callable[[int, dict], None] | None = None,
                  on_start: Callable[[int, int], None] | None = None,
                  previous_seconds: float = 0.0, progress: str | None = None) -> LoopResult:
    """Train `module` on `data` for config.total_steps generator steps.

    resume: continue from the newest checkpoint in the writer's run directory, which must
      belong to `identity` (see gankit.models.checkpoint_identity) when one is given.
    execution: device, data-parallel place and GPU paths (see `Execution`).
    on_start(start_step, total_steps): called once the run is ready to train (after a resume
      has restored its checkpoint); on_step(step, losses): after every logged step.
    previous_seconds: training time of earlier segments of a resumed run (for total_seconds).
    progress: show a bar with this description even without a run directory (experiments);
      a run that writes shows one when config.progress says so.
    """
    execution = execution or Execution()
    device = torch.device(execution.device or config.device)
    distributed, sync_gradients = _data_parallel(execution)
    world_size = execution.world_size
    writer = writer or RunWriter("", enabled=False)
    if not config.variant().scores_samples and (execution.amp or execution.compile):
        raise GankitError(f"--amp and --compile are for the scoring discriminators; {config.model}'s "
                          "autoencoder discriminator runs in float32, eagerly: drop them")
    module.to(device)
    optimizers = make_optimizers(module, config)
    # one stream for every rank: each draws the global batch and keeps its slice
    rng = torch.Generator(device=device).manual_seed(rank_seed(config.seed, 0))
    # --epochs counts passes over the data at the global batch (batch_size * world_size)
    total = config.total_steps(len(data) if world_size == 1 else len(data) / world_size)
    start = 0
    if resume:
        start = _restore_newest(writer.path, module, optimizers, rng, config, execution, identity,
                                distributed)
        module.to(device)
        if start >= total:
            raise GankitError(f"the run is already at step {start}, and {total} steps would train "
                              f"nothing; pass --steps above {start} to continue it")
    # a resumed run keeps the scaling (and clusters) its checkpoint holds
    x, y = _place(module, data, config, device, fit=not resume)
    if on_start is not None:
        on_start(start, total)
    writer.start_losses(start)
    if distributed is not None and distributed.is_active():
        distributed.broadcast_module(module)      # identical start on every rank, whatever happened
    _gpu_paths(module, x, execution, device)
    average = (distributed.average_tensor if distributed is not None and distributed.is_active()
               else None)
    run_step = _Step(module, x, y, config, execution, optimizers, rng, sync_gradients, average)
    log_every, sample_every, checkpoint_every = _cadences(config, total)
    snapshots = Snapshots(module, data, config, device, writer) if writer.enabled else None

    bar = None
    if (progress or (config.progress and writer.enabled)) and total > start:
        from tqdm.auto import tqdm
        # disable=None: a bar on a terminal, none in a pipe or a log file (tqdm's rule)
        bar = tqdm(total=total, initial=start, desc=progress or f"train {config.variant().label}",
                   unit="step", dynamic_ncols=True, file=sys.stderr, disable=None,
                   leave=progress is None)
    writer.write_status("running", start, total)
    buffer: list[dict[str, torch.Tensor]] = []
    last: dict[str, float] = {}
    t0 = time.perf_counter()
    step = start

    def status(state, at, **extra):
        seconds = time.perf_counter() - t0
        writer.write_status(state, at, total, seconds=round(seconds, 3),
                            total_seconds=round(previous_seconds + seconds, 3), **extra)

    try:
        for step in range(start + 1, total + 1):
            buffer.append(run_step(step, total))
            if step % log_every == 0 or step == total:
                last = _logged_losses(buffer, step, distributed, device)
                last["seconds"] = time.perf_counter() - t0
                writer.log_scalars(step, last)
                if bar is not None:
                    bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()
                                          if k in ("d_loss", "g_loss", "wasserstein")})
                if on_step is not None:
                    on_step(step, last)
            if bar is not None:
                bar.update(1)
            # the checkpoint first: a picture that fails must never cost the run its weights
            if writer.enabled and (step % checkpoint_every == 0 or step == total):
                _save(writer, module, optimizers, rng, step, config, execution, identity)
                status("running", step)
            if snapshots is not None and (step % sample_every == 0 or step == total):
                snapshots.save(module, writer.sample_path(step), step)
    except TrainingDiverged as exc:
        status("diverged", step, message=str(exc))
        raise
    except KeyboardInterrupt as exc:
        status("stopped", step - 1, message=str(exc) or "interrupted by the user")
        raise
    except BaseException as exc:
        with contextlib.suppress(Exception):     # the disk may be what failed
            status("failed", step - 1, message=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if bar is not None:
            bar.close()
    status("finished", max(step, start))
    return LoopResult(steps_done=max(0, total - start), final_step=max(total, start),
                      seconds=time.perf_counter() - t0, last_losses=last)
