"""Drawing samples from a trained run into files: .npy arrays, .csv rows, .png grids or scatters."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from .errors import GankitError

SUFFIXES = (".npy", ".csv", ".png")


def draw(run_dir, n: int, label: int | None = None, seed: int = 0, device: str = "cpu",
         with_generators: bool = False, refine: str | None = None, mh_steps: int | None = None):
    """(samples, labels or None, record) from a run's newest checkpoint, seeded.

    with_generators: append which generator made each sample (None for single-generator runs,
    and for refined samples, whose rows no longer follow the generators' order).
    refine: "drs" or "mh" keeps the samples the run's discriminator calibrates as real
    (gankit.refine); its statistics are printed to stderr."""
    from .training import load_run

    if n < 1:
        raise GankitError(f"-n must be at least 1, got {n}")
    module, config, record = load_run(run_dir, device=device)
    if label is not None and module.num_classes and not 0 <= label < module.num_classes:
        raise GankitError(f"label {label} is outside the model's classes 0..{module.num_classes - 1}")
    if refine:
        from .refine import MH_STEPS, refine_run
        samples, labels, stats = refine_run(module, config, record, n, refine, y=label, seed=seed,
                                            steps=mh_steps or MH_STEPS)
        print(f"gankit: {stats.method}: kept {stats.kept} of {stats.proposals} proposals "
              f"({100 * stats.acceptance_rate:.1f}%, {stats.proposals_per_kept:.1f} per sample, "
              f"{stats.seconds:.1f} s); calibration accuracy "
              f"{stats.calibration['held_out_accuracy']:.3f}", file=sys.stderr)
        out = samples.cpu(), labels, record
        return out + (None,) if with_generators else out
    rng = torch.Generator(device=device).manual_seed(seed)
    samples, labels = module.sample(n, y=label, rng=rng)
    out = samples.cpu(), (None if labels is None else labels.cpu()), record
    return out + (module.generator_of(n),) if with_generators else out


def class_rows(samples: torch.Tensor, labels: torch.Tensor, fill: float = 1.0):
    """(images, nrow) laid out for a grid with one row per class present, in class order.

    Rows are as long as the largest class; shorter rows are completed with blank images of
    value `fill` (white, like the grid's padding)."""
    classes = torch.unique(labels).tolist()
    per_row = max(int((labels == c).sum()) for c in classes)
    cells = torch.full((len(classes) * per_row, *samples.shape[1:]), fill, dtype=samples.dtype)
    for r, c in enumerate(classes):
        mine = samples[labels == c]
        cells[r * per_row:r * per_row + len(mine)] = mine
    return cells, per_row


def sample_to_file(run_dir, n: int, out, label: int | None = None, seed: int = 0,
                   refine: str | None = None, mh_steps: int | None = None) -> Path:
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise GankitError(f"cannot write samples to {out.name}; use one of {', '.join(SUFFIXES)}")
    samples, labels, record, made_by = draw(run_dir, n, label, seed, with_generators=True,
                                            refine=refine, mh_steps=mh_steps)
    out.parent.mkdir(parents=True, exist_ok=True)
    kind = record["spec"]["kind"]
    suffix = out.suffix.lower()
    if suffix == ".npy":
        np.save(out, samples.numpy())
    elif suffix == ".csv":
        if kind == "images":
            raise GankitError("image samples cannot be written as CSV; use .npy or .png")
        import pandas as pd
        columns = record["data"].get("columns") or [f"x{i}" for i in range(samples.shape[1])]
        frame = pd.DataFrame(samples.numpy(), columns=columns)
        if labels is not None:
            frame["label"] = labels.numpy()
        if made_by is not None:
            frame["generator"] = made_by.numpy()
        frame.to_csv(out, index=False)
    elif kind == "images":
        from .imaging import save_grid
        nrow, row_labels = None, None          # a square grid
        if labels is not None and label is None:
            # conditional, all classes: one row per class, as in the training snapshots
            names = record.get("data", {}).get("class_names")
            row_labels = [names[c] if names and c < len(names) else str(c)
                          for c in torch.unique(labels).tolist()]
            samples, nrow = class_rows(samples, labels)
        # tiny images (e.g. digits at their native 8x8) are magnified to be seen
        save_grid(samples, out, nrow=nrow, upscale=max(1, 32 // int(samples.shape[-1])),
                  row_labels=row_labels)
    else:
        from .plots.training import save_scatter
        colours = made_by if made_by is not None else labels
        save_scatter(out, samples.numpy(), title=f"{n} samples" + (" by generator" if made_by is not None else ""),
                     labels=None if colours is None else colours.numpy(),
                     colour_by="generator" if made_by is not None else "class")
    return out
