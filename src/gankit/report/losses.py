"""Losses as a page shows them: each run's curves on small axes of its own, the discriminator's
side and the generator's side apart (a generator loss of 15 would flatten a Wasserstein estimate
of 0.1 on shared axes), and the table of each loss at the last logged step with its recent mean
and spread. Drawn from the losses RunDir read (losses.csv), with matplotlib's Agg renderer."""
from __future__ import annotations

import math
from pathlib import Path

from ..run_directory import LOSSES_FILE, LOSSES_PICTURE
from .page import Page
from .pictures import Picture
from .runs import ReportedRun
from .tables import cell, row, table
from .values import fmt_spread, href

# the losses the runs table shows at the last step
LOSS_KEYS = ("d_loss", "g_loss", "wasserstein", "gradient_penalty")
# logged columns that are not losses of either side
NOT_LOSSES = {"step", "seconds"}
# what the generator's step logs; everything else in losses.csv comes from the discriminator's
GENERATOR_SIDE = {"g_loss", "pull_away"}
# one colour per quantity on every chart of a page, so runs read alike
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


def _colour(key: str, palette: list) -> object:
    # a quantity outside COLOUR_ORDER takes its colour from its name, the same on every chart
    index = COLOUR_ORDER.index(key) if key in COLOUR_ORDER else len(COLOUR_ORDER) + sum(map(ord, key))
    return palette[index % len(palette)]


def loss_chart(losses: dict[str, list[float]], title: str = ""):
    """A matplotlib Figure: one axes per side against generator step, legends right of the
    curves (never over them). None when nothing was logged."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure as MatplotlibFigure

    sides = loss_sides(losses)
    steps = losses.get("step") or []
    if not sides or not steps:
        return None
    palette = list(colormaps["tab20"].colors[::2]) + list(colormaps["tab20"].colors[1::2])
    fig = MatplotlibFigure(figsize=CHART_SIZE_INCHES, dpi=CHART_DPI, layout="constrained")
    axes = fig.subplots(1, len(sides), squeeze=False)[0]
    for ax, (side, keys) in zip(axes, sides.items()):
        for key in keys:
            points = [(s, v) for s, v in zip(steps, losses[key]) if math.isfinite(v)]
            ax.plot([s for s, _ in points], [v for _, v in points], label=key, linewidth=1.1,
                    color=_colour(key, palette), marker="." if len(points) < 3 else None)
        ax.set_title(f"{side} side", fontsize=9)
        ax.set_xlabel("generator step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7,
                  frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _loss_picture(page: Page, run: ReportedRun, tmp: Path) -> Picture | None:
    fig = loss_chart(run.losses, title=run.name)
    if fig is None:
        return None
    drawn = tmp / f"losses-{len(page.pics)}-{run.name.replace('/', '-')}.png"
    fig.savefig(drawn)
    sides = loss_sides(run.losses)
    described = " and ".join(f"{side} side ({', '.join(keys)})" for side, keys in sides.items())
    csv_path = run.dir.file(LOSSES_FILE)
    pic = page.pic(drawn, f"Losses of {run.name}: {described}, each on its own axes, drawn from losses.csv",
                   f"Line plots against generator step for run {run.name}, one per side: {described}; "
                   f"{len(run.losses.get('step', []))} logged points", link=csv_path, drawn=True)
    pic.href_label = f"{run.name}/{LOSSES_FILE}" if page.kind == "compare" else LOSSES_FILE
    png = run.dir.file(LOSSES_PICTURE)
    if png.is_file():
        pic.extra_links.append((f"{LOSSES_PICTURE} (written by training)", href(png, page.base) or ""))
    return pic


def loss_figures(page: Page, runs: list[ReportedRun], tmp: Path) -> tuple[list[Picture], list[str]]:
    """(one loss picture per run that logged losses, notes for those that did not)."""
    pics, notes = [], []
    for run in runs:
        pic = _loss_picture(page, run, tmp)
        if pic is not None:
            pics.append(pic)
        else:
            who = f"{run.name}: " if len(runs) > 1 else ""
            notes.append(f"{who}no loss curves: losses.csv is missing, empty or holds no losses")
    return pics, notes


def final_losses_table(run: ReportedRun) -> dict | None:
    """Each logged quantity at the last step, and its mean ± std over the last quarter of the log."""
    steps = run.losses.get("step") or []
    if not steps:
        return None
    n = len(steps)
    tail = min(n, max(3, n // 4))  # the last quarter of the log, at least 3 points
    rows = []
    for key, values in run.losses.items():
        if key == "step":
            continue
        unit = "s" if key == "seconds" else ""
        window = [v for v in values[-tail:] if math.isfinite(v)]
        mean = sum(window) / len(window) if window else None
        std = math.sqrt(sum((v - mean) ** 2 for v in window) / len(window)) if window else None
        label = "elapsed time" if key == "seconds" else key
        spread_cell = (cell({"mean": mean, "std": std}, fmt_spread(mean, std))
                       if key != "seconds" else cell(text="", raw=False))
        rows.append(row([cell(text=label, header=True, raw=False), cell(values[-1]),
                         spread_cell, cell(text=unit, raw=False)], data_key=key))
    first = int(steps[-tail])
    caption = (f"Losses at the last logged step ({int(steps[-1])}), and mean ± std over the last "
               f"{tail} logged point{'s' if tail > 1 else ''} (steps {first} to {int(steps[-1])}); "
               "losses have no unit.")
    return table(["loss", {"label": "last value", "key": "last"},
                  {"label": "recent mean ± std", "key": "recent"}, "unit"], rows, caption,
                 sortable=False, tid="final-losses-table")
