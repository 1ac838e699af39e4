"""Pictures of a training run: generated vs real points, and the loss curves.

Owns the drawing of both, for the run directory (samples/step_*.png, losses.png, `gankit sample
--out x.png`) and for the report's pages alike (`gankit.report.losses` calls `loss_chart`).
Points of any width are drawn: two features or more as a scatter of the first two (the title
says so when there are more), one feature as overlaid histograms. Generated points may be
coloured by group (class, or generator for multi-generator runs); the groups' palette holds no
grey, so the light grey of the real data is never a group's colour. Legends stand right of the
axes, never over what is drawn. Figures are matplotlib `Figure`s (no pyplot state), drawn with
the Agg renderer.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import GankitError
from ..run_directory import LOSSES_FILE, RunDir

HIST_BINS = 40
SCATTER_SIZE_INCHES = (8.0, 6.0)   # at SCATTER_DPI: 640 x 480 px, room for the legend beside
SCATTER_DPI = 80
REAL_COLOUR = "#c7c7c7"
UNGROUPED_COLOUR = "#d62728"      # generated points when nothing says which group made them
# generated points let the real ones under them show through: a covered mode reads as covered
FAKE_ALPHA = 0.6
LEGEND = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)

# the groups' colours: tab10 with its grey (index 7) taken out, so the real points (grey) look
# like no group, near-black in tenth place, then eight of tab20b's dark and middle shades (its
# pale ones, like tab20's, are too near the real points' light grey); repeated beyond 18
_TAB10 = list(colormaps["tab10"].colors)
PALETTE = (_TAB10[:7] + _TAB10[8:] + [(0.1, 0.1, 0.1)]
           + [colormaps["tab20b"].colors[i] for i in (0, 2, 4, 6, 8, 10, 12, 16)])


def _columns(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return points.reshape(len(points), -1)


def _groups(labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the distinct labels, the PALETTE slot of each, the slot of each point). Integer labels
    0..K-1 are their own slot, so class 3 has the same colour whether or not class 2 was drawn;
    other labels take their rank."""
    labels = np.asarray(labels).reshape(-1)
    values, ranks = np.unique(labels, return_inverse=True)
    whole = values.dtype.kind in "iu" or (values.dtype.kind == "f" and np.all(values == np.round(values)))
    if whole and values.size and values.min() >= 0:
        slots = values.astype(np.int64)
    else:
        slots = np.arange(len(values))
    return values, slots, slots[ranks]


def _name(value) -> str:
    # 3.0 from a float array of class indices reads "3"
    try:
        return str(int(value)) if float(value).is_integer() else str(value)
    except (TypeError, ValueError):
        return str(value)


def scatter_figure(fake, real=None, title: str = "", limits=None, labels=None,
                   colour_by: str = "class") -> Figure:
    """The figure `save_scatter` writes (see there)."""
    fake = _columns(fake)
    real = None if real is None else _columns(real)
    width = fake.shape[1]
    if labels is not None and len(np.asarray(labels).reshape(-1)) != len(fake):
        raise GankitError(f"{len(np.asarray(labels).reshape(-1))} labels for {len(fake)} points")
    fig = Figure(figsize=SCATTER_SIZE_INCHES, dpi=SCATTER_DPI, layout="constrained")
    ax = fig.subplots()
    if width == 1:
        _histograms(ax, fake[:, 0], None if real is None else real[:, 0], labels, limits, colour_by)
    else:
        _scatter(ax, fake, real, labels, colour_by)
        if limits is not None:
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
        # the equal-aspect box keeps to the left of its room, so the legend anchored to its
        # right edge stays beside it and inside the picture
        ax.set_aspect("equal", adjustable="box", anchor="W")
        if width > 2:
            title = f"{title} (features 1-2 of {width})".strip()
    ax.set_title(title, fontsize=11)
    ax.tick_params(labelsize=8)
    return fig


def save_scatter(path, fake, real=None, title: str = "", limits=None, labels=None,
                 colour_by: str = "class") -> Path:
    """Generated points over the real ones, from arrays (N, D), as a PNG about 640 px wide.

    D >= 2: a scatter of the first two features. D == 1: histograms (densities) of the real
    values (grey) and the generated ones (red outline, or one outline per group). labels: one
    group index per generated point, coloured from `PALETTE`; colour_by says what the
    groups are ("class", or "generator" for multi-generator runs), as the legend says.
    limits: from `plot_limits`, one (low, high) per drawn axis.
    """
    fig = scatter_figure(fake, real, title, limits, labels, colour_by)
    return _save(fig, path)


def _save(fig: Figure, path) -> Path:
    # a reader (TensorBoard, the report, a GIF being assembled) never sees half a picture
    from ..files import atomic_path
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _scatter(ax, fake: np.ndarray, real: np.ndarray | None, labels, colour_by: str) -> None:
    handles = []
    if real is not None:
        # larger than the generated points, so real modes show around generated ones drawn on them
        ax.scatter(real[:, 0], real[:, 1], s=12, c=REAL_COLOUR, linewidths=0, rasterized=True)
        handles.append(_marker(REAL_COLOUR, "real data"))
    if labels is None:
        ax.scatter(fake[:, 0], fake[:, 1], s=5, c=UNGROUPED_COLOUR, alpha=FAKE_ALPHA, linewidths=0,
                   rasterized=True)
        handles.append(_marker(UNGROUPED_COLOUR, "generated"))
        ax.legend(handles=handles, fontsize=9, **LEGEND)
        return
    values, slots, point_slots = _groups(labels)
    # one collection in the points' own order, so no group is always drawn over the others
    colours = [PALETTE[i % len(PALETTE)] for i in point_slots]
    ax.scatter(fake[:, 0], fake[:, 1], s=5, c=colours, alpha=FAKE_ALPHA, linewidths=0, rasterized=True)
    handles += _group_handles(values, slots, colour_by, _marker)
    ax.legend(handles=handles, fontsize=9, **LEGEND)


def _marker(colour, label: str) -> Line2D:
    return Line2D([], [], linestyle="none", marker="o", markersize=6, color=colour, label=label)


def _outline(colour, label: str) -> Line2D:
    return Line2D([], [], color=colour, linewidth=1.5, label=label)


def _group_handles(values: np.ndarray, slots: np.ndarray, colour_by: str, make) -> list:
    # a text-only entry heads the groups, so "real data" above it is not read as a group
    handles = [Line2D([], [], linestyle="none", label=f"generated, by {colour_by}:")]
    if slots.size and int(slots.max()) < len(PALETTE):
        return handles + [make(PALETTE[i], f"{colour_by} {_name(v)}") for i, v in zip(slots, values)]
    # more groups than distinct colours: a legend entry per group would name two groups alike
    return handles + [make(PALETTE[0], f"{len(values)} {_plural(colour_by)} (colours repeat "
                                       f"after {len(PALETTE)})")]


def _plural(word: str) -> str:
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def _histograms(ax, fake: np.ndarray, real: np.ndarray | None, labels, limits,
                colour_by: str) -> None:
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
    handles = []
    if real is not None and shown[1].size:
        ax.hist(shown[1], bins=bins, density=True, color=REAL_COLOUR)
        handles.append(Patch(color=REAL_COLOUR, label="real data"))
    if labels is None:
        if shown[0].size:
            ax.hist(shown[0], bins=bins, density=True, histtype="step", color=UNGROUPED_COLOUR,
                    linewidth=1.2)
        handles.append(_outline(UNGROUPED_COLOUR, "generated"))
    else:
        # each group's share of the generated density, so the outlines add up to the whole
        values, slots, _ = _groups(labels)
        labels = np.asarray(labels).reshape(-1)
        total = max(int(fake_ok.sum()), 1) * (bins[1] - bins[0])
        for value, slot in zip(values, slots):
            part = fake[(labels == value) & fake_ok]
            ax.hist(part, bins=bins, weights=np.full(len(part), 1.0 / total), histtype="step",
                    color=PALETTE[slot % len(PALETTE)], linewidth=1.2)
        handles += _group_handles(values, slots, colour_by, _outline)
    ax.set_xlim(lo, hi)
    ax.set_ylabel("density", fontsize=9)
    ax.legend(handles=handles, fontsize=9, **LEGEND)


def plot_limits(real: np.ndarray, margin: float = 0.15):
    """Axis limits around the real data, one (low, high) per drawn feature (the first two)."""
    real = _columns(real)[:, :2]
    lo, hi = real.min(axis=0), real.max(axis=0)
    pad = (hi - lo) * margin + 1e-6
    return [(float(a - p), float(b + p)) for a, b, p in zip(lo, hi, pad)]


# ------------------------------------------------------------------------------ losses
# logged columns that are not losses of either side
NOT_LOSSES = {"step", "seconds"}
# what the generator's step logs; everything else in losses.csv comes from the discriminator's
GENERATOR_SIDE = {"g_loss", "pull_away"}
# one colour per quantity on every chart, so runs read alike
COLOUR_ORDER = ("d_loss", "wasserstein", "gradient_penalty", "d_real", "d_fake", "energy_real",
                "energy_fake", "convergence", "k", "g_loss", "pull_away")
CHART_SIZE_INCHES = (8.4, 2.5)
CHART_DPI = 100


def loss_sides(losses: dict[str, list[float]]) -> dict[str, list[str]]:
    """{"discriminator": [columns], "generator": [columns]}: the logged quantities of each side
    that hold at least one finite value, in the log's order; a side with none is left out."""
    sides: dict[str, list[str]] = {"discriminator": [], "generator": []}
    for key, values in losses.items():
        if key in NOT_LOSSES or not any(math.isfinite(v) for v in values):
            continue
        generator = key in GENERATOR_SIDE or key.startswith("g_")
        sides["generator" if generator else "discriminator"].append(key)
    return {side: keys for side, keys in sides.items() if keys}


def _loss_colour(key: str, palette: list) -> object:
    # a quantity outside COLOUR_ORDER takes its colour from its name, the same on every chart
    index = COLOUR_ORDER.index(key) if key in COLOUR_ORDER else len(COLOUR_ORDER) + sum(map(ord, key))
    return palette[index % len(palette)]


def loss_chart(losses: dict[str, list[float]], title: str = "") -> Figure | None:
    """A Figure: one axes per side (discriminator, generator) against generator step, so a
    generator loss of 15 never flattens a Wasserstein estimate of 0.1; legends right of the
    curves, never over them. losses: columns as `RunDir.losses()` reads them. None when nothing
    was logged."""
    sides = loss_sides(losses)
    steps = losses.get("step")
    if not sides or steps is None or not len(steps):
        return None
    palette = list(colormaps["tab20"].colors[::2]) + list(colormaps["tab20"].colors[1::2])
    fig = Figure(figsize=CHART_SIZE_INCHES, dpi=CHART_DPI, layout="constrained")
    axes = fig.subplots(1, len(sides), squeeze=False)[0]
    for ax, (side, keys) in zip(axes, sides.items()):
        for key in keys:
            points = [(s, v) for s, v in zip(steps, losses[key]) if math.isfinite(v)]
            ax.plot([s for s, _ in points], [v for _, v in points], label=key, linewidth=1.1,
                    color=_loss_colour(key, palette), marker="." if len(points) < 3 else None)
        ax.set_title(f"{side} side", fontsize=9)
        ax.set_xlabel("generator step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, **LEGEND)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _run_dir(run) -> RunDir:
    if isinstance(run, RunDir):
        return run
    path = Path(run)
    if path.name == LOSSES_FILE and not path.is_dir():
        return RunDir(path.parent)
    if path.suffix and not path.is_dir():
        raise GankitError(f"{path}: losses are read from a run folder or its {LOSSES_FILE}")
    return RunDir(path)


def run_losses(run) -> dict[str, list[float]]:
    """The losses of a run (a RunDir, a run folder, or its losses.csv), read by RunDir."""
    return _run_dir(run).losses()


def read_losses(run) -> dict[str, np.ndarray]:
    """`run_losses` as numpy arrays, for arithmetic on whole columns."""
    return {key: np.asarray(values, dtype=np.float64) for key, values in run_losses(run).items()}


def save_loss_curves(run, path, title: str | None = None) -> Path | None:
    """losses.png of a run (a RunDir, a run folder or its losses.csv): `loss_chart` as a PNG.
    title: default "losses of RUN". None (and nothing written) when nothing was logged."""
    run = _run_dir(run)
    fig = loss_chart(run.losses(), title=f"losses of {run.name}" if title is None else title)
    if fig is None:
        return None
    return _save(fig, path)
