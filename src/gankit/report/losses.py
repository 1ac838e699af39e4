"""Losses as a page shows them: each run's chart, and the table of each loss at the last logged
step with its recent mean and spread, from the losses RunDir read (losses.csv). The chart itself
(the discriminator's side and the generator's side on axes of their own) is drawn by
`gankit.plots.training.loss_chart`, the same picture as the run's losses.png."""
from __future__ import annotations

import math
from pathlib import Path

from ..plots.training import loss_chart, loss_sides
from ..run_directory import LOSSES_FILE, LOSSES_PICTURE
from .page import Page
from .pictures import Picture
from .runs import ReportedRun
from .tables import cell, row, table
from .values import fmt_spread, href

# the losses the runs table shows at the last step
LOSS_KEYS = ("d_loss", "g_loss", "wasserstein", "gradient_penalty")


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
