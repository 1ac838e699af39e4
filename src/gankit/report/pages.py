"""The pages of runs: one run's page, the comparison page of several runs, and `write_report`,
which reads the runs, picks the page and where it goes, and writes it. Both pages open with the
verdict (a line per run), then the runs' facts; the comparison lists the settings that differ
before the losses, the shared ones folded away."""
from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from typing import Sequence

from ..errors import GankitError
from ..files import atomic_write
from ..run_directory import CONFIG_FILE, GIF_FILE, METRICS_FILE, METRICS_LOG, RunDir
from .losses import LOSS_KEYS, final_losses_table, loss_figures
from .markdown import render_markdown
from .metrics import comparison_metrics_table, metrics_table
from .page import REPORT_NAME, Page
from .pictures import Picture
from .runs import ReportedRun, load_run, run_data, status_text, trained_facts, unique_names
from .tables import cell, kv_table, row, table
from .values import command_text, flatten, fmt_bytes, href, mtime, to_json
from .verdict import verdict


def _sample_alt(run: ReportedRun, step: str) -> str:
    kind = run.data.get("kind")
    if kind == "images":
        rows = " (one row per class)" if run.train.get("conditional") else ""
        return f"Grid of generated images{rows} at step {step} of run {run.name}"
    colour = " coloured by class" if run.train.get("conditional") else " in red"
    return (f"Scatter of generated points{colour} over the real data in grey, at step {step} "
            f"of run {run.name}")


def _last_sample(page: Page, run: ReportedRun) -> Picture | None:
    if not run.samples:
        return None
    last = run.samples[-1]
    step = last.stem.split("_")[-1].lstrip("0") or "0"
    what = "grid" if run.data.get("kind") == "images" else "scatter"
    return page.pic(last, f"Last sample {what} of {run.name}, step {step}", _sample_alt(run, step))


def _checkpoint_table(run: ReportedRun, base: Path) -> dict | None:
    if not run.checkpoints:
        return None
    rows = []
    for step, path in run.checkpoints:
        size = path.stat().st_size
        rows.append(row([cell(step, header=True), cell(text=path.name, href=href(path, base), raw=False),
                         cell(size, fmt_bytes(size)), cell(text=mtime(path), raw=False)],
                        data_step=step))
    return table(["step", "file", {"label": "size", "title": "exact size in bytes in data-value"},
                  "written (UTC)"],
                 rows, "Checkpoints (weights, optimizer and RNG state in safetensors); the newest resumes "
                 "the run with gankit train --resume.", tid="checkpoints-table")


def _run_page(run: ReportedRun, out: Path, title: str | None, tmp: Path) -> Page:
    page = Page(title or f"gankit run {run.name}", "run", out)
    page.subtitle = (f"{run.train.get('model', '?')} on {run.data.get('name', '?')}, "
                     f"seed {run.train.get('seed', '?')}; status {status_text(run)}")
    page.notes = list(run.notes)
    page.verdict = verdict([run], page.base)

    s = page.section("What was trained")
    status_pairs = [("state", run.state), ("progress", status_text(run))]
    status_pairs += [(k, v) for k, v in run.status.items() if k not in ("state",)]
    page.add_table(s, kv_table(trained_facts(run), f"Run {run.name}: model, data and provenance",
                               tid="trained-table"))
    page.add_table(s, kv_table(status_pairs, "Status (status.json)", key_label="field", tid="status-table"))

    pics, notes = loss_figures(page, [run], tmp)
    s = page.section("Losses", notes=notes)
    page.add_figures(s, pics)
    page.add_table(s, final_losses_table(run))

    notes = []
    sample = _last_sample(page, run)
    if sample is None:
        notes.append("no sample pictures yet")
    gif = run.dir.file(GIF_FILE)
    gif_pic = None
    if gif.is_file():
        gif_pic = page.pic(gif, f"Training of {run.name}: one frame per sample snapshot "
                           f"({len(run.samples)} in samples/)",
                           f"Animation of generated samples over training of run {run.name}")
    else:
        notes.append("no training.gif (it is written when training ends)")
    s = page.section("Samples", notes=notes)
    page.add_figures(s, [sample, gif_pic], large=True)

    s = page.section("Metrics", notes=[run.metrics_note] if run.metrics_note else [])
    page.add_table(s, metrics_table(run))
    links = [f"[{name}]({href(run.dir.file(name), page.base)})" for name in (METRICS_FILE, METRICS_LOG)
             if run.dir.file(name).is_file()]
    if links:
        s["html"] += render_markdown(f"Files: {', '.join(links)}"
                                     + (f" ({run.history} results recorded in all)." if run.history else "."))

    s = page.section("Checkpoints", notes=[] if run.checkpoints else ["no checkpoints yet"])
    page.add_table(s, _checkpoint_table(run, page.base))

    s = page.section("Configuration", "Everything `config.yaml` records, section by section: "
                     "enough to repeat the run (`gankit train --config config.yaml`).")
    pairs = [(k, command_text(v) if k == "command" else v) for k, v in flatten(dict(run.record))]
    page.add_table(s, kv_table(pairs, f"config.yaml of {run.name}", sortable=True, tid="config-table"))
    page.data = {"runs": [run_data(run, page.base)]}
    return page


def _runs_table(runs: list[ReportedRun], base: Path) -> dict:
    """One row per run: its state, what it is, and its losses at the last logged step."""
    loss_keys = [k for k in LOSS_KEYS if any(k in r.losses for r in runs)]
    head = ["run", "state", {"label": "step"}, {"label": "of", "title": "total steps"}, "model", "net", "data",
            "conditional", "remedy", "seed"] + [{"label": f"final {k}", "key": k} for k in loss_keys] \
        + [{"label": "elapsed", "unit": "s"}]
    rows = []
    for r in runs:
        final = r.final_losses()
        cells = [cell(text=r.name, header=True, href=href(r.path, base), raw=False),
                 cell(text=r.state, raw=False, cls=f"state-{r.state}"),
                 cell(r.status.get("step")), cell(r.status.get("total_steps")),
                 cell(r.train.get("model")), cell(r.train.get("net")), cell(r.data.get("name")),
                 cell(bool(r.train.get("conditional"))), cell(r.train.get("remedy") or "none"),
                 cell(r.train.get("seed"))]
        cells += [cell(final.get(k)) for k in loss_keys]
        cells.append(cell(final.get("seconds"), spec=".1f") if final.get("seconds") is not None else cell(None))
        rows.append(row(cells, data_run=r.name))
    return table(head, rows, "One row per run: status and the losses at the last logged step "
                 "(click a header to sort).", tid="runs-table")


def _settings_side_by_side(runs: list[ReportedRun]) -> tuple[list[str], list[dict], dict[str, bool]]:
    """(setting names, each run's settings flattened, whether each differs between the runs)."""
    flat = [dict(flatten({k: r.record.get(k) for k in ("train", "data", "held_out")})) for r in runs]
    for r, f in zip(runs, flat):
        f["git_revision"] = r.record.get("git_revision")
        f["versions.torch"] = (r.record.get("versions") or {}).get("torch")
        f["versions.gankit"] = (r.record.get("versions") or {}).get("gankit")
    keys: list[str] = []
    for f in flat:
        keys.extend(k for k in f if k not in keys)
    differs = {k: len({to_json(f.get(k)) for f in flat}) > 1 for k in keys}
    return keys, flat, differs


def _settings_section(page: Page, runs: list[ReportedRun]) -> None:
    """The settings that differ between the runs, then the rest folded away."""
    keys, flat, differs = _settings_side_by_side(runs)
    differing = [k for k in keys if differs[k]]
    same = [k for k in keys if not differs[k]]

    def settings_table(names: list[str], caption: str, tid: str) -> dict:
        rows = [row([cell(text=k, header=True, raw=False)] + [cell(f.get(k)) for f in flat],
                    data_key=k, data_differs="true" if differs[k] else "false") for k in names]
        return table(["setting"] + [r.name for r in runs], rows, caption, tid=tid)

    s = page.section("Settings", f"{len(differing)} of {len(keys)} settings differ between the runs"
                     + ("; the ones they share are folded away below." if same and differing else "."))
    if differing:
        page.add_table(s, settings_table(differing, "The settings that differ between the runs "
                                         "(from each run's config.yaml)", "settings-table"))
    if same:
        page.add_table(s, settings_table(same, "The settings every run shares", "settings-same-table"),
                       folded=f"{len(same)} settings the runs share")
    page.data["settings"] = {"differ": differing, "same": same}


def _compare_page(runs: list[ReportedRun], out: Path, title: str | None, tmp: Path) -> Page:
    page = Page(title or f"gankit: {len(runs)} runs side by side", "compare", out)
    page.subtitle = ", ".join(r.name for r in runs)
    for r in runs:
        page.notes.extend(f"{r.name}: {n}" for n in r.notes)
    page.verdict = verdict(runs, page.base)

    s = page.section("Runs")
    page.add_table(s, _runs_table(runs, page.base))

    _settings_section(page, runs)

    pics, notes = loss_figures(page, runs, tmp)
    s = page.section("Losses", "Each run on axes of its own: the discriminator's side and the generator's "
                     "side apart, so neither scale hides the other.", notes=notes)
    page.add_figures(s, pics)

    s = page.section("Samples", "The last sample picture of each run, in the order given.")
    pics = []
    for r in runs:
        p = _last_sample(page, r)
        if p is None:
            s["notes"].append(f"{r.name}: no sample pictures yet")
            continue
        if r.dir.file(GIF_FILE).is_file():
            p.extra_links.append((f"{r.name}/{GIF_FILE}", href(r.dir.file(GIF_FILE), page.base) or ""))
        pics.append(p)
    page.add_figures(s, pics, row=True, large=True)

    s = page.section("Metrics")
    missing = [r.name for r in runs if not r.results]
    if missing:
        s["notes"].append("no metrics for " + ", ".join(missing) + " (run `gankit eval RUN_DIR`)")
    page.add_table(s, comparison_metrics_table(runs))
    page.data["runs"] = [run_data(r, page.base) for r in runs]
    return page


def _default_out(runs: list[ReportedRun]) -> Path:
    if len(runs) == 1:
        return runs[0].path / REPORT_NAME
    parents = {r.path.resolve().parent for r in runs}
    if len(parents) != 1:
        raise GankitError("these runs live in different folders; pass --out FILE for the comparison page")
    parent = parents.pop()
    if RunDir(parent).file(CONFIG_FILE).is_file():
        raise GankitError(f"the runs' common folder {parent} is itself a run directory; pass --out FILE")
    return parent / REPORT_NAME


def _resolve_out(out: str | Path | None, runs: list[ReportedRun]) -> Path:
    if out is None:
        return _default_out(runs)
    path = Path(out)
    # a folder: one that exists, or a name ending in a separator or without a suffix
    if path.is_dir() or str(out).endswith(("/", os.sep)) or not path.suffix:
        path = path / REPORT_NAME
    return path


def write_report(run_dirs: str | Path | Sequence[str | Path], out: str | Path | None = None,
                 title: str | None = None) -> Path:
    """Write the HTML report of one run, or of several runs side by side; return its path.

    run_dirs: one run directory, or several. out: the HTML file to write; a folder (one that
    exists, or a name without a suffix) means FOLDER/report.html. Default: RUN_DIR/report.html
    for one run; for several runs, report.html in the folder that holds them all (they must
    share one parent folder, which must not itself be a run, else pass `out`).

    A run still training, stopped, diverged, or without metrics gets a page that says what is
    missing. Raises GankitError when a directory is not a run directory (no config.yaml).
    """
    dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    if not dirs:
        raise GankitError("no run directory given")
    seen = set()
    for d in dirs:
        key = Path(d).resolve()
        if key in seen:
            raise GankitError(f"run directory {d} is given twice")
        seen.add(key)
    runs = [load_run(d) for d in dirs]
    unique_names(runs)
    path = _resolve_out(out, runs)
    with tempfile.TemporaryDirectory(prefix="gankit-report-") as tmp:
        if len(runs) == 1:
            page = _run_page(runs[0], path, title, Path(tmp))
        else:
            page = _compare_page(runs, path, title, Path(tmp))
        page.regenerate = ("gankit report " + " ".join(shlex.quote(str(d)) for d in dirs)
                           + (f" --out {shlex.quote(str(path))}" if out is not None else ""))
        text = page.render()
    atomic_write(path, text)
    return path
