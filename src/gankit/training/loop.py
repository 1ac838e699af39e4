"""The one training loop, for every network family, objective and data kind.

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
from typing import Callable

import numpy as np
import torch

from ..config import AUTOENCODER_MODELS, TrainConfig
from ..data.dataset import Dataset
from ..errors import GankitError, TrainingDiverged
from ..models import GANModule
from ..objectives import make_objective
from .checkpoint import checkpoint_path, list_checkpoints, load_checkpoint, prune_checkpoints, restore, save_checkpoint
from .run_dir import RunWriter
from .unrolled import unrolled_generator_loss

SNAPSHOT_SAMPLES = {"points": 1000, "table": 1000}


def make_optimizers(module: GANModule, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    return {"g": torch.optim.Adam(module.generator.parameters(), lr=config.lr_g, betas=config.betas_g),
            "d": torch.optim.Adam(module.discriminator.parameters(), lr=config.lr_d, betas=config.betas_d)}


def rank_seed(seed: int, rank: int) -> int:
    # distinct, reproducible streams per process; rank 0 keeps the plain seed. Training itself
    # uses rank 0's stream on every rank (the global batch is drawn and sliced), so that W
    # processes repeat one process with the global batch.
    return int(seed) + 1_000_003 * int(rank)


@dataclass
class ExecutionOptions:
    """How to run the step, not what to learn (recorded in the run's config, free on resume).

    amp: "bf16" runs the forward passes under bf16 autocast (the gradient penalty stays float32).
    channels_last: conv nets and image batches in NHWC memory layout.
    compile: torch.compile the generator and the discriminator's score passes (the penalty's
      double backward uses the eager discriminator: compiled graphs cannot be differentiated twice).
    sync_bn: torch.nn.SyncBatchNorm across ranks (CUDA only); otherwise BatchNorm normalises each
      process's own batch.
    """
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
    """The discriminator as the objectives see it under autocast: float32 scores."""
    def scores(x, y=None):
        return network(x, y).float()
    return scores


@dataclass
class LoopResult:
    steps_done: int
    final_step: int
    seconds: float
    last_losses: dict[str, float] = field(default_factory=dict)


class _Snapshots:
    """Fixed noise (its own generator, so snapshots never disturb training) and the picture.

    Images: a grid with one row per class (8 samples each) for conditional models, 8 x 8
    otherwise; points: a scatter over the real data, coloured by class or, with several
    generators, by the generator that made each point. Each picture is also logged as a
    TensorBoard image ("samples") when the run writes TensorBoard events.
    """

    def __init__(self, module: GANModule, data: Dataset, config: TrainConfig, device,
                 writer: RunWriter | None = None):
        self.kind = data.kind
        self.writer = writer
        gen = torch.Generator(device="cpu").manual_seed(rank_seed(config.seed, 0) + 7919)
        classes = module.num_classes
        if data.kind == "images":
            per_row = 8
            n = per_row * (classes if classes else 8)
            self.nrow = per_row
            self.labels = (torch.arange(classes).repeat_interleave(per_row).to(device)
                           if classes else None)
        else:
            n = SNAPSHOT_SAMPLES.get(data.kind, 1000)
            self.labels = (torch.arange(n) % classes).to(device) if classes else None
        self.z = torch.randn(n, module.generator.latent_dim, generator=gen).to(device)
        # scatter colours: which generator made each point (MAD-GAN), else the class
        made_by = module.generator_of(n)
        self.colours = made_by.numpy() if made_by is not None else (
            None if self.labels is None else self.labels.cpu().numpy())
        self.real = data.x[:2000].cpu().numpy()
        self.limits = None
        if data.kind == "points":
            from ..plots.training import plot_limits
            self.limits = plot_limits(self.real)

    @torch.no_grad()
    def save(self, module: GANModule, path, step: int) -> None:
        generator = module.generator
        was_training = generator.training
        generator.eval()
        try:
            x = generator(self.z, self.labels)
        finally:
            generator.train(was_training)
        if self.kind == "images":
            from ..imaging import save_grid
            save_grid(x.float().cpu(), path, nrow=self.nrow)
        else:
            from ..plots.training import save_scatter
            fake = (module.scaler.inverse(x) if module.scaler is not None else x).cpu().numpy()
            save_scatter(path, fake, self.real, title=f"step {step}", limits=self.limits,
                         labels=self.colours)
        self._log_image(path, step)

    def _log_image(self, path, step: int) -> None:
        # the picture as written (grid or scatter), so TensorBoard shows exactly the file;
        # purge_step as for the scalars: a resumed run replaces what followed its checkpoint
        tb = self.writer.tensorboard_writer(step) if self.writer is not None else None
        if tb is None:
            return
        from PIL import Image
        with Image.open(path) as im:
            picture = np.asarray(im.convert("L" if im.mode in ("1", "L", "LA") else "RGB"))
        tb.add_image("samples", picture, step, dataformats="HW" if picture.ndim == 2 else "HWC")


def _mean_logs(buffer: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    keys = buffer[0].keys()
    return {k: float(torch.stack([b[k] for b in buffer if k in b]).mean()) for k in keys}


def training_loop(module: GANModule, data: Dataset, config: TrainConfig, *,
                  writer: RunWriter | None = None, device: torch.device | str = "cpu",
                  rank: int = 0, world_size: int = 1, resume: bool = False,
                  sync_gradients: Callable[[torch.nn.Module], None] | None = None,
                  on_step: Callable[[int, dict], None] | None = None,
                  options: ExecutionOptions | None = None) -> LoopResult:
    """Train `module` on `data` for config.total_steps generator steps.

    resume: continue from the newest checkpoint in the writer's run directory.
    sync_gradients: called on a network after its backward pass (data-parallel all-reduce);
      with world_size > 1 it defaults to gankit.distributed.all_reduce_gradients.
    options: GPU-oriented execution paths (bf16 autocast, channels_last, torch.compile, SyncBN).
    """
    device = torch.device(device)
    options = options or ExecutionOptions()
    distributed = None
    if world_size > 1:
        from .. import distributed
        if not 0 <= rank < world_size:
            raise GankitError(f"rank {rank} is outside a world of {world_size} processes")
        if sync_gradients is None:
            if not distributed.is_active():
                raise GankitError(f"world_size {world_size} needs a torch.distributed process group "
                                  "(launch with torchrun) or a sync_gradients hook")
            sync_gradients = distributed.all_reduce_gradients
    writer = writer or RunWriter("", enabled=False)
    objective = make_objective(config)
    if config.model in AUTOENCODER_MODELS and (options.amp or options.compile):
        raise GankitError(f"--amp and --compile are for the scoring discriminators; {config.model}'s "
                          "autoencoder discriminator runs in float32, eagerly: drop them")
    module.to(device)
    x = data.x.to(device)
    y = data.y.to(device) if (config.conditional and data.y is not None) else None
    if module.scaler is not None:
        module.scaler.fit(x)
        x = module.scaler(x)
    optimizers = make_optimizers(module, config)
    # one stream for every rank: each draws the global batch and keeps its slice
    rng = torch.Generator(device=device).manual_seed(rank_seed(config.seed, 0))
    # --epochs counts passes over the data at the global batch (batch_size * world_size)
    total = config.total_steps(len(data) if world_size == 1 else len(data) / world_size)
    start = 0
    if resume:
        found = list_checkpoints(writer.path)
        chosen = found[-1] if found else None
        if distributed is not None and distributed.is_active():
            # every rank resumes from the checkpoint rank 0 sees as newest (it may still have been
            # writing it when another rank got here)
            step_of_rank0 = distributed.broadcast_object(chosen[0] if chosen else None)
            chosen = None if step_of_rank0 is None else (step_of_rank0, checkpoint_path(writer.path, step_of_rank0))
            if chosen is not None and not chosen[1].exists():
                raise GankitError(f"rank {rank} cannot see {chosen[1]}: resuming on several machines "
                                  "needs the run directory on storage that every machine sees")
        if chosen is None:
            raise GankitError(f"cannot resume: {writer.path} has no checkpoints")
        checkpoint = load_checkpoint(chosen[1])
        rng_states = restore(checkpoint, module, optimizers)
        module.to(device)
        key = f"train_rank{rank}" if f"train_rank{rank}" in rng_states else "train_rank0"
        if key in rng_states:
            rng.set_state(rng_states[key].to(torch.uint8).cpu() if device.type == "cpu" else rng_states[key])
        start = checkpoint.step
        saved_world = int(checkpoint.meta.get("extra", {}).get("world_size", 1))
        if saved_world != world_size and rank == 0:
            print(f"gankit: resuming a checkpoint written by {saved_world} process(es) on "
                  f"{world_size}: the global batch changes from {config.batch_size * saved_world} "
                  f"to {config.batch_size * world_size} (the random stream continues)",
                  file=sys.stderr)
        if start >= total:
            print(f"gankit: run already at step {start} of {total}; nothing to train "
                  "(pass a larger --steps to continue)", file=sys.stderr)
    writer.start_losses(start)
    if distributed is not None and distributed.is_active():
        distributed.broadcast_module(module)      # identical start on every rank, whatever happened
    if options.channels_last:
        if x.dim() != 4:
            raise GankitError("--channels-last is for image data and the conv nets; this data "
                              f"has samples of shape {tuple(x.shape[1:])}")
        module.to(memory_format=torch.channels_last)
    if options.sync_bn and world_size > 1:
        from ..distributed import convert_sync_batchnorm
        convert_sync_batchnorm(module, device)

    generator, discriminator = module.generator, module.discriminator
    batch, latent, n_critic = config.batch_size, generator.latent_dim, config.n_critic
    # networks as the step uses them: eager by default, compiled and/or float32-scored on request
    fast_generator, critic = generator, discriminator
    d_kwargs: dict = {}
    if options.compile:
        fast_generator, critic = torch.compile(generator), torch.compile(discriminator)
        d_kwargs["penalty_discriminator"] = discriminator
    if options.amp:
        critic = _float_scores(critic)
    autocast = ((lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if options.amp == "bf16"
                else contextlib.nullcontext)
    if world_size > 1:
        d_kwargs["shard"] = (rank, world_size)
    global_batch, mine = batch * world_size, slice(rank * batch, (rank + 1) * batch)
    average_over_ranks = (distributed.average_tensor
                          if distributed is not None and distributed.is_active() else None)

    def draw(tensor):
        # this rank's rows of a draw made for the global batch (all of it with one process)
        return tensor if world_size == 1 else tensor[mine]

    def as_layout(images):
        return images.contiguous(memory_format=torch.channels_last) if options.channels_last else images

    n = x.shape[0]
    log_every = config.log_every
    sample_every = config.sample_every or max(1, total // 20)
    checkpoint_every = config.checkpoint_every or max(log_every, total // 5)
    # checkpoints must follow a finiteness check of the losses, which happens at log steps
    checkpoint_every = max(log_every, int(math.ceil(checkpoint_every / log_every)) * log_every)
    snapshots = _Snapshots(module, data, config, device, writer) if writer.enabled else None

    def draw_labels():
        return y[draw(torch.randint(n, (global_batch,), generator=rng, device=device))] \
            if y is not None else None

    def save(step):
        states = {f"train_rank{rank}": rng.get_state()}
        path = save_checkpoint(checkpoint_path(writer.path, step), module, optimizers, states, step,
                               extra={"world_size": world_size, "global_batch": batch * world_size})
        prune_checkpoints(writer.path, config.keep_checkpoints)
        return path

    progress = None
    if config.progress and writer.enabled and total > start:
        from tqdm.auto import tqdm
        progress = tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True,
                        file=sys.stderr)
    writer.write_status("running", start, total)
    buffer: list[dict[str, torch.Tensor]] = []
    last: dict[str, float] = {}
    t0 = time.perf_counter()
    step = start
    try:
        for step in range(start + 1, total + 1):
            if config.lr_decay == "linear":
                # a function of the step alone, so a resumed run gets the same rates
                scale = 1.0 - (step - 1) / total
                for name, base in (("g", config.lr_g), ("d", config.lr_d)):
                    for group in optimizers[name].param_groups:
                        group["lr"] = base * scale
            discriminator.requires_grad_(True)
            for _ in range(n_critic):
                index = draw(torch.randint(n, (global_batch,), generator=rng, device=device))
                real = as_layout(x[index])
                labels = y[index] if y is not None else None
                z = draw(torch.randn(global_batch, latent, generator=rng, device=device))
                with autocast():
                    with torch.no_grad():
                        fake = fast_generator(z, labels)
                    d_loss, d_logs = objective.discriminator_loss(critic, real, fake, labels,
                                                                  labels, rng, **d_kwargs)
                optimizers["d"].zero_grad(set_to_none=True)
                d_loss.backward()
                if sync_gradients is not None:
                    sync_gradients(discriminator)
                optimizers["d"].step()
            # the generator step needs gradients through D, not of D's weights
            discriminator.requires_grad_(False)
            if config.unroll:
                # Metz et al.: the look-ahead copy of D trains on a real batch and this step's fakes
                index = draw(torch.randint(n, (global_batch,), generator=rng, device=device))
                real, labels = x[index], (y[index] if y is not None else None)
                z = draw(torch.randn(global_batch, latent, generator=rng, device=device))
                with autocast():
                    g_loss, g_logs = unrolled_generator_loss(
                        objective, discriminator, optimizers["d"], fast_generator(z, labels), real,
                        labels, steps=config.unroll, order=config.unroll_order, rng=rng,
                        shard=d_kwargs.get("shard"))
            else:
                z = draw(torch.randn(global_batch, latent, generator=rng, device=device))
                labels = draw_labels()
                with autocast():
                    g_loss, g_logs = objective.generator_loss(critic, fast_generator(z, labels), labels)
            optimizers["g"].zero_grad(set_to_none=True)
            g_loss.backward()
            if sync_gradients is not None:
                sync_gradients(generator)
            optimizers["g"].step()
            logs = {**d_logs, **g_logs}
            if hasattr(objective, "end_step"):       # state kept between steps (BEGAN's k_t)
                logs.update(objective.end_step(discriminator, logs, average=average_over_ranks))
            buffer.append(logs)

            if step % log_every == 0 or step == total:
                last = _mean_logs(buffer)
                buffer.clear()
                if distributed is not None and distributed.is_active():
                    # the global batch's losses, and one divergence verdict for every rank
                    last = distributed.average_scalars(last, device)
                bad = [k for k, v in last.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingDiverged(
                        f"training diverged at step {step}: {', '.join(bad)} became NaN or infinite; "
                        "the last good checkpoint is kept (try a lower learning rate)")
                last["seconds"] = time.perf_counter() - t0
                writer.log_scalars(step, last)
                if progress is not None:
                    progress.set_postfix({k: f"{v:.3g}" for k, v in last.items()
                                          if k in ("d_loss", "g_loss", "wasserstein")})
                if on_step is not None:
                    on_step(step, last)
            if progress is not None:
                progress.update(1)
            if snapshots is not None and (step % sample_every == 0 or step == total):
                snapshots.save(module, writer.sample_path(step), step)
            if writer.enabled and (step % checkpoint_every == 0 or step == total):
                save(step)
                writer.write_status("running", step, total)
    except TrainingDiverged:
        writer.write_status("diverged", step, total, message="losses became NaN or infinite")
        raise
    except KeyboardInterrupt:
        writer.write_status("stopped", step - 1, total, message="interrupted by the user")
        raise
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - t0
    writer.write_status("finished", max(step, start), total, seconds=round(seconds, 3))
    return LoopResult(steps_done=max(0, total - start), final_step=max(total, start),
                      seconds=seconds, last_losses=last)
