"""Experiment pages: `write_experiment_report`, the generic builder experiment modules call with
their `Section`s (prose, tables, figures, notes), and the provenance a page ends with."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import GankitError
from ..files import atomic_write
from .page import REPORT_NAME, Page
from .pictures import user_figure
from .tables import kv_table, user_table
from .values import command_text, plain


@dataclass
class Section:
    """One part of an experiment report, shown in this order: heading, notes, text, tables, figures.

    text: markdown-ish prose (see `render_markdown`). tables: `Table`s, DataFrames, lists of
    dicts, or dicts with Table's fields as keys. figures: `Figure`s, paths, (path, caption)
    pairs, or dicts with Figure's fields as keys; shown side by side, wrapping. notes: short
    warnings shown highlighted (something missing, a caveat on comparability).
    """
    heading: str
    text: str = ""
    tables: Sequence[Any] = ()
    figures: Sequence[Any] = ()
    notes: Sequence[str] = ()


def write_experiment_report(out_dir: str | Path, title: str, sections: Sequence[Any], *,
                            intro: str = "", notes: Sequence[str] = (), provenance: Mapping[str, Any] | None = None,
                            data: Mapping[str, Any] | None = None, filename: str = REPORT_NAME) -> Path:
    """Write OUT_DIR/report.html for an experiment and return its path.

    out_dir: the experiment's output folder (created if missing); figure links are made
        relative to it, so keep figures inside it (or beside it) and move the folder whole.
    title: the page's title and <h1>.
    sections: in page order; each is a `Section`, a dict with Section's fields as keys
        ({"heading", "text", "tables", "figures", "notes"}), or a tuple
        (heading, text[, tables[, figures]]).
        - text: markdown-ish prose (paragraphs, lists, **bold**, *em*, `code`, [text](rel/link);
          see `render_markdown`).
        - tables: a list; each a pandas DataFrame, a list of dicts (one per row), a `Table`
          (caption, units, formats, spread, spread_label, sortable), or a dict of Table's fields
          ({"data": df, "caption": "...", "units": {"time": "s"}}). Columns "X" (or "X_mean")
          and "X_std" (or "X_se") are merged into one "mean ± spread" cell; a cell holding
          {"mean": m, "std": s} is shown as "m ± s". The first column heads the rows. Every
          cell's exact value is kept in a data-value attribute, and every table's records in
          the page's JSON block.
        - figures: a list; each a path, a (path, caption) or (path, caption, alt) tuple, a
          `Figure`, or a dict of Figure's fields. A relative path is found from the current
          folder, or else from out_dir. PNG/JPEG/GIF/WebP are embedded (re-encoded smaller
          when big; the page's pictures are kept under about 3.3 MB together) and link to
          their file; other formats are only linked. A missing file becomes a note.
        - notes: short strings shown highlighted (what is missing, caveats).
    intro: markdown-ish text under the title. notes: page-level notes shown at the top.
    provenance: {label: value} shown in a final "Provenance" section; default: gankit,
        python, torch and numpy versions, git revision, command line and time. Pass {} to omit.
    data: extra JSON-serialisable content for the page's machine-readable block.
    filename: the page's file name inside out_dir.

    Example:
        write_experiment_report("runs/mc", "Mode collapse on ring8 and grid25", [
            Section("Results", "Mean ± std over 3 seeds; published rows from PacGAN Table 1.",
                    tables=[Table(df, caption="Modes captured", units={"hq": "%"},
                                  spread_label="std")],
                    figures=[("runs/mc/grid.png", "Samples of every run, one column per seed")]),
        ])
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    page = Page(title, "experiment", path)
    page.notes = [str(n) for n in notes]
    page.regenerate = command_text(sys.argv) if sys.argv and sys.argv[0] else ""
    if intro:
        page.section("Overview", intro)
    records = []
    for item in sections:
        sec = _as_section(item)
        s = page.section(sec.heading, sec.text, [str(n) for n in sec.notes])
        tables_data = []
        for t in sec.tables or ():
            table, table_data = user_table(t)
            page.add_table(s, table)
            tables_data.append(table_data)
        pics = [user_figure(f, out_dir) for f in (sec.figures or ())]
        page.add_figures(s, pics)
        records.append({"heading": sec.heading, "tables": tables_data,
                        "figures": [{"file": p.source, "caption": p.caption} for p in pics]})
    if provenance is None:
        provenance = _default_provenance()
    if provenance:
        s = page.section("Provenance")
        page.add_table(s, kv_table(list(provenance.items()), "How this page was made", tid="provenance-table"))
    page.data = {"sections": records, "provenance": plain(provenance or {}), **plain(dict(data or {}))}
    text = page.render()
    atomic_write(path, text)
    return path


def _as_section(item: Any) -> Section:
    if isinstance(item, Section):
        return item
    if isinstance(item, Mapping):
        try:
            return Section(**dict(item))
        except TypeError as exc:
            raise GankitError(f"report section {item.get('heading', '?')!r}: {exc}") from None
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 4:
        return Section(*item)
    raise GankitError(f"a report section is a Section, a dict or a (heading, text, tables, figures) "
                      f"tuple; got {type(item).__name__}")


def _default_provenance() -> dict[str, Any]:
    """The page's provenance, from the one provenance record (gankit.provenance), flattened for
    a two-column table."""
    from .. import provenance

    record = provenance.record()
    out: dict[str, Any] = dict(record["versions"])
    out.update({"git revision": record["git_revision"] or "not a git checkout",
                "command": command_text(record["command"]), "written": record["created"]})
    return out
