"""Pictures of a training run: sample scatters for 2-D data, loss curves, the training GIF."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_scatter(path, fake, real=None, title: str = "", limits=None, labels=None) -> Path:
    """Generated points over the real ones (first two features)."""
    fake = np.asarray(fake)
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=80)
    if real is not None:
        real = np.asarray(real)
        ax.scatter(real[:, 0], real[:, 1], s=2, c="#bbbbbb", label="real", rasterized=True)
    colours = labels if labels is not None else "#d62728"
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c=colours, cmap="tab10" if labels is not None else None,
               label="generated", rasterized=True)
    if limits is not None:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal", adjustable="box")
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_limits(real: np.ndarray, margin: float = 0.15):
    lo, hi = real[:, :2].min(axis=0), real[:, :2].max(axis=0)
    pad = (hi - lo) * margin + 1e-6
    return [(lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])]


def read_losses(csv_path) -> dict[str, np.ndarray]:
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows])
        except ValueError:
            continue
    return columns


def save_loss_curves(csv_paths: dict[str, Path] | Path, path, title: str = "losses") -> Path | None:
    """Loss curves of one run, or of several runs overlaid (a dict name -> losses.csv)."""
    runs = csv_paths if isinstance(csv_paths, dict) else {"": csv_paths}
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=90)
    drew = False
    for run_name, csv_path in runs.items():
        columns = read_losses(csv_path)
        if "step" not in columns:
            continue
        # BEGAN also logs its convergence measure and k_t (Berthelot et al. plot both)
        for key in ("d_loss", "g_loss", "wasserstein", "gradient_penalty", "convergence", "k"):
            if key in columns and np.isfinite(columns[key]).any():
                label = f"{run_name} {key}".strip()
                ax.plot(columns["step"], columns[key], label=label, linewidth=1)
                drew = True
    if not drew:
        plt.close(fig)
        return None
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
