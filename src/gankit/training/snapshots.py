"""Training snapshots: a picture of the generator's samples every few steps, from fixed noise.

The noise has its own generator, so snapshots never disturb training's random stream, and a
picture that fails to draw is reported and skipped: it never costs a run its checkpoints.
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from ..models import GANModule
from .run_writer import RunWriter

SNAPSHOT_SAMPLES = {"points": 1000, "table": 1000}
MAX_ROWS = 16                 # class rows of a conditional image snapshot
# the snapshots' own stream: the run's seed moved by a constant, so it never meets training's
SNAPSHOT_SEED_OFFSET = 7919


class Snapshots:
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
        self.failures = 0
        gen = torch.Generator(device="cpu").manual_seed(int(config.seed) + SNAPSHOT_SEED_OFFSET)
        classes = module.num_classes
        self.row_labels = None
        if data.kind == "images":
            per_row = 8
            # one row per class, up to MAX_ROWS of them (Stacked MNIST has 1,000 classes)
            shown = min(classes, MAX_ROWS)
            n = per_row * (shown if classes else 8)
            self.nrow = per_row
            self.labels = (torch.arange(shown).repeat_interleave(per_row).to(device)
                           if classes else None)
            if classes:
                names = data.class_names if data.class_names and len(data.class_names) == classes \
                    else [str(c) for c in range(classes)]
                self.row_labels = list(names[:shown])
        else:
            n = SNAPSHOT_SAMPLES.get(data.kind, 1000)
            self.labels = (torch.arange(n) % classes).to(device) if classes else None
        self.z = torch.randn(n, module.generator.latent_dim, generator=gen).to(device)
        if module.clusters is not None:
            # the clusters the samples are made from (the loop fits them before it builds the
            # snapshots); the scatter is not coloured by them
            self.labels = module.generator_labels(n, None, device, gen)
        # scatter colours: which generator made each point (MAD-GAN), else the class
        made_by = module.generator_of(n)
        self.colour_by = "generator" if made_by is not None else "class"
        self.colours = made_by.numpy() if made_by is not None else (
            self.labels.cpu().numpy() if classes else None)
        self.real = data.x[:2000].cpu().numpy()
        self.limits = None
        if data.kind == "points":
            from ..plots.training import plot_limits
            self.limits = plot_limits(self.real)

    def save(self, module: GANModule, path, step: int) -> None:
        """Draw the snapshot of `step`; a picture that cannot be drawn is reported once and
        skipped, never allowed to stop training (checkpoints come first)."""
        try:
            self._draw(module, path, step)
        except Exception as exc:  # noqa: BLE001 - pictures are a view of the run, not the run
            self.failures += 1
            if self.failures == 1:
                print(f"gankit: warning: could not draw the sample picture of step {step} "
                      f"({type(exc).__name__}: {exc}); training goes on without it", file=sys.stderr)

    @torch.no_grad()
    def _draw(self, module: GANModule, path, step: int) -> None:
        generator = module.sampler
        was_training = generator.training
        generator.eval()
        try:
            x = generator(self.z, self.labels)
        finally:
            generator.train(was_training)
        if self.kind == "images":
            from ..imaging import save_grid
            save_grid(x.float().cpu(), path, nrow=self.nrow, row_labels=self.row_labels)
        else:
            from ..plots.training import save_scatter
            fake = module.decode(x, self.labels).cpu().numpy()
            save_scatter(path, fake, self.real, title=f"step {step}", limits=self.limits,
                         labels=self.colours, colour_by=self.colour_by)
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
