"""Pictures of a training run: generated vs real points, loss curves, the training GIF.

Points of any width are drawn: two features or more as a scatter of the first two (the title
says so when there are more), one feature as overlaid histograms.
"""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

HIST_BINS = 40
MAX_LEGEND = 11  # real and up to 10 generated groups (tab10's colours)


def _columns(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return points.reshape(len(points), -1)


def save_scatter(path, fake, real=None, title: str = "", limits=None, labels=None) -> Path:
    """Generated points over the real ones, from arrays (N, D).

    D >= 2: a scatter of the first two features. D == 1: histograms (densities) of the real
    values (grey) and the generated ones (red outline, or one outline per label). labels colour
    the generated points (class or generator), as a scatter's tab10 colour map does.
    limits: from `plot_limits`, one (low, high) per drawn axis.
    """
    fake = _columns(fake)
    real = None if real is None else _columns(real)
    width = fake.shape[1]
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=80)
    if width == 1:
        _histograms(ax, fake[:, 0], None if real is None else real[:, 0], labels, limits)
    else:
        if real is not None:
            ax.scatter(real[:, 0], real[:, 1], s=2, c="#bbbbbb", label="real", rasterized=True)
        colours = labels if labels is not None else "#d62728"
        ax.scatter(fake[:, 0], fake[:, 1], s=3, c=colours,
                   cmap="tab10" if labels is not None else None, label="generated",
                   rasterized=True)
        if limits is not None:
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
        ax.set_aspect("equal", adjustable="box")
        if width > 2:
            title = f"{title} (features 1-2 of {width})".strip()
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _histograms(ax, fake: np.ndarray, real: np.ndarray | None, labels, limits) -> None:
    # a diverged generator's NaN would make the bin range undefined; such points are not drawn
    # in a scatter either
    fake_ok = np.isfinite(fake)
    shown = [fake[fake_ok]] + ([] if real is None else [real[np.isfinite(real)]])
    if limits is not None:
        lo, hi = limits[0]
    else:
        values = np.concatenate(shown)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, HIST_BINS + 1)
    if real is not None and shown[1].size:
        ax.hist(shown[1], bins=bins, density=True, color="#bbbbbb", label="real")
    if labels is None:
        if shown[0].size:
            ax.hist(shown[0], bins=bins, density=True, histtype="step", color="#d62728",
                    linewidth=1.2, label="generated")
    else:
        # each label's share of the generated density, so the outlines add up to the whole
        labels = np.asarray(labels).reshape(-1)
        total = max(int(fake_ok.sum()), 1) * (bins[1] - bins[0])
        norm, cmap = Normalize(labels.min(), labels.max()), plt.get_cmap("tab10")
        for value in np.unique(labels):
            part = fake[(labels == value) & fake_ok]
            ax.hist(part, bins=bins, weights=np.full(len(part), 1.0 / total), histtype="step",
                    color=cmap(norm(value)), linewidth=1.2, label=f"generated {value}")
    ax.set_xlim(lo, hi)
    ax.set_ylabel("density", fontsize=8)
    if len(ax.get_legend_handles_labels()[1]) <= MAX_LEGEND:
        ax.legend(fontsize=6)


def plot_limits(real: np.ndarray, margin: float = 0.15):
    """Axis limits around the real data, one (low, high) per drawn feature (the first two)."""
    real = _columns(real)[:, :2]
    lo, hi = real.min(axis=0), real.max(axis=0)
    pad = (hi - lo) * margin + 1e-6
    return [(float(a - p), float(b + p)) for a, b, p in zip(lo, hi, pad)]


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
