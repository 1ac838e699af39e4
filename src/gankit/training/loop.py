"""The one training loop, for every network family, objective and data kind.

Data that fits in memory lives on the device as one tensor and batches are drawn by index with
the run's own seeded `torch.Generator`; that generator also draws noise and penalty
interpolates, and its state is checkpointed, so a run resumed from step N continues exactly as
if it had never stopped. Nothing here is module-level state: device, rank and world size come
in as arguments, and only a writer process touches the run directory.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from ..errors import GankitError, TrainingDiverged
from ..models import GANModule
from ..objectives import BCEObjective, WassersteinGP
from .checkpoint import checkpoint_path, list_checkpoints, load_checkpoint, prune_checkpoints, restore, save_checkpoint
from .run_dir import RunWriter

SNAPSHOT_SAMPLES = {"points": 1000, "table": 1000}


def make_objective(config: TrainConfig):
    if config.model == "wgan-gp":
        return WassersteinGP(gp_lambda=config.gp_lambda)
    return BCEObjective(generator_loss=config.generator_loss, label_smoothing=config.label_smoothing)


def make_optimizers(module: GANModule, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    return {"g": torch.optim.Adam(module.generator.parameters(), lr=config.lr_g, betas=config.betas_g),
            "d": torch.optim.Adam(module.discriminator.parameters(), lr=config.lr_d, betas=config.betas_d)}


def rank_seed(seed: int, rank: int) -> int:
    # distinct, reproducible streams per process; rank 0 keeps the plain seed
    return int(seed) + 1_000_003 * int(rank)


@dataclass
class LoopResult:
    steps_done: int
    final_step: int
    seconds: float
    last_losses: dict[str, float] = field(default_factory=dict)


class _Snapshots:
    """Fixed noise (its own generator, so snapshots never disturb training) and the picture."""

    def __init__(self, module: GANModule, data: Dataset, config: TrainConfig, device):
        self.kind = data.kind
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
            save_grid(x.cpu(), path, nrow=self.nrow)
        else:
            from ..plots.training import save_scatter
            fake = (module.scaler.inverse(x) if module.scaler is not None else x).cpu().numpy()
            labels = None if self.labels is None else self.labels.cpu().numpy()
            save_scatter(path, fake, self.real, title=f"step {step}", limits=self.limits,
                         labels=labels)


def _mean_logs(buffer: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    keys = buffer[0].keys()
    return {k: float(torch.stack([b[k] for b in buffer if k in b]).mean()) for k in keys}


def training_loop(module: GANModule, data: Dataset, config: TrainConfig, *,
                  writer: RunWriter | None = None, device: torch.device | str = "cpu",
                  rank: int = 0, world_size: int = 1, resume: bool = False,
                  sync_gradients: Callable[[torch.nn.Module], None] | None = None,
                  on_step: Callable[[int, dict], None] | None = None) -> LoopResult:
    """Train `module` on `data` for config.total_steps generator steps.

    resume: continue from the newest checkpoint in the writer's run directory.
    sync_gradients: called on a network after its backward pass (data-parallel all-reduce).
    """
    device = torch.device(device)
    writer = writer or RunWriter("", enabled=False)
    objective = make_objective(config)
    module.to(device)
    x = data.x.to(device)
    y = data.y.to(device) if (config.conditional and data.y is not None) else None
    if module.scaler is not None:
        module.scaler.fit(x)
        x = module.scaler(x)
    optimizers = make_optimizers(module, config)
    rng = torch.Generator(device=device).manual_seed(rank_seed(config.seed, rank))
    total = config.total_steps(len(data))
    start = 0
    if resume:
        found = list_checkpoints(writer.path)
        if not found:
            raise GankitError(f"cannot resume: {writer.path} has no checkpoints")
        checkpoint = load_checkpoint(found[-1][1])
        rng_states = restore(checkpoint, module, optimizers)
        module.to(device)
        key = f"train_rank{rank}" if f"train_rank{rank}" in rng_states else "train_rank0"
        if key in rng_states:
            rng.set_state(rng_states[key].to(torch.uint8).cpu() if device.type == "cpu" else rng_states[key])
        start = checkpoint.step
        if start >= total:
            print(f"gankit: run already at step {start} of {total}; nothing to train "
                  "(pass a larger --steps to continue)", file=sys.stderr)
    writer.start_losses(start)

    generator, discriminator = module.generator, module.discriminator
    batch, latent, n_critic = config.batch_size, generator.latent_dim, config.n_critic
    n = x.shape[0]
    log_every = config.log_every
    sample_every = config.sample_every or max(1, total // 20)
    checkpoint_every = config.checkpoint_every or max(log_every, total // 5)
    # checkpoints must follow a finiteness check of the losses, which happens at log steps
    checkpoint_every = max(log_every, int(math.ceil(checkpoint_every / log_every)) * log_every)
    snapshots = _Snapshots(module, data, config, device) if writer.enabled else None

    def draw_labels(size):
        return y[torch.randint(n, (size,), generator=rng, device=device)] if y is not None else None

    def save(step):
        states = {f"train_rank{rank}": rng.get_state()}
        path = save_checkpoint(checkpoint_path(writer.path, step), module, optimizers, states, step,
                               extra={"world_size": world_size})
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
            discriminator.requires_grad_(True)
            for _ in range(n_critic):
                index = torch.randint(n, (batch,), generator=rng, device=device)
                real = x[index]
                labels = y[index] if y is not None else None
                z = torch.randn(batch, latent, generator=rng, device=device)
                with torch.no_grad():
                    fake = generator(z, labels)
                d_loss, d_logs = objective.discriminator_loss(discriminator, real, fake, labels,
                                                              labels, rng)
                optimizers["d"].zero_grad(set_to_none=True)
                d_loss.backward()
                if sync_gradients is not None:
                    sync_gradients(discriminator)
                optimizers["d"].step()
            # the generator step needs gradients through D, not of D's weights
            discriminator.requires_grad_(False)
            z = torch.randn(batch, latent, generator=rng, device=device)
            labels = draw_labels(batch)
            g_loss, g_logs = objective.generator_loss(discriminator, generator(z, labels), labels)
            optimizers["g"].zero_grad(set_to_none=True)
            g_loss.backward()
            if sync_gradients is not None:
                sync_gradients(generator)
            optimizers["g"].step()
            buffer.append({**d_logs, **g_logs})

            if step % log_every == 0 or step == total:
                last = _mean_logs(buffer)
                buffer.clear()
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
