"""Drawing samples from a trained run into files: .npy arrays, .csv rows, .png grids or scatters."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .errors import GankitError

SUFFIXES = (".npy", ".csv", ".png")


def draw(run_dir, n: int, label: int | None = None, seed: int = 0, device: str = "cpu"):
    """(samples, labels or None, record) from a run's newest checkpoint, seeded."""
    from .training import load_run

    if n < 1:
        raise GankitError(f"-n must be at least 1, got {n}")
    module, _config, record = load_run(run_dir, device=device)
    if label is not None and module.num_classes and not 0 <= label < module.num_classes:
        raise GankitError(f"label {label} is outside the model's classes 0..{module.num_classes - 1}")
    rng = torch.Generator(device=device).manual_seed(seed)
    samples, labels = module.sample(n, y=label, rng=rng)
    return samples.cpu(), (None if labels is None else labels.cpu()), record


def sample_to_file(run_dir, n: int, out, label: int | None = None, seed: int = 0) -> Path:
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise GankitError(f"cannot write samples to {out.name}; use one of {', '.join(SUFFIXES)}")
    samples, labels, record = draw(run_dir, n, label, seed)
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
        frame.to_csv(out, index=False)
    elif kind == "images":
        from .imaging import save_grid
        nrow = int(np.ceil(np.sqrt(n))) if label is not None or labels is None else None
        if labels is not None and label is None:
            # conditional, all classes: one row per class as in the training snapshots
            classes = int(labels.max()) + 1
            order = torch.argsort(labels, stable=True)
            samples = samples[order]
            nrow = max(1, n // classes)
        save_grid(samples, out, nrow=nrow)
    else:
        from .plots.training import save_scatter
        save_scatter(out, samples.numpy(), title=f"{n} samples",
                     labels=None if labels is None else labels.numpy())
    return out
