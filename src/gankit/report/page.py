"""The page model every report page is built on (sections of prose, notes, tables and figures),
and its rendering through the template in gankit/templates/report.html into one self-contained
HTML text, with the page's content repeated as JSON for programs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .markdown import inline, render_markdown
from .pictures import Picture, embed_all
from .values import href, now, plain, slug

REPORT_NAME = "report.html"
TEMPLATE = "templates/report.html"
# pictures that are a section's content (samples) are shown at least this wide, to be judged
LARGE_FIGURE_PX = 540


class Page:
    """One page: `kind` is "run", "compare" or "experiment"; links are relative to `out`'s folder."""

    def __init__(self, title: str, kind: str, out: Path):
        self.title, self.kind, self.out = title, kind, out
        self.base = out.parent
        self.subtitle = ""
        self.notes: list[str] = []
        self.sections: list[dict] = []
        self.pics: list[Picture] = []
        self.verdict: list[dict] = []  # one line per run, shown first (see verdict.py)
        self.data: dict[str, Any] = {}
        self._ids: set[str] = {"notes", "verdict"}  # the template's own ids
        self.regenerate = ""

    def section(self, heading: str, text: str = "", notes: Iterable[str] = ()) -> dict:
        s = {"id": slug(heading, self._ids), "heading": heading, "html": render_markdown(text),
             "notes": list(notes), "blocks": []}
        self.sections.append(s)
        return s

    def add_table(self, section: dict, table: dict | None, folded: str = "") -> None:
        """folded: the table starts closed (a <details> element) under this summary line."""
        if table is not None:
            table["id"] = slug(table.get("id") or f"table {table.get('caption', '')[:40]}", self._ids)
            section["blocks"].append({"kind": "table", "table": table, "folded": folded})

    def add_figures(self, section: dict, pics: list[Picture | None], row: bool = False,
                    large: bool = False) -> None:
        """row: side by side on one line that scrolls (else wrapping). large: the pictures are the
        section's content (samples), shown at least LARGE_FIGURE_PX wide (see the template)."""
        pics = [p for p in pics if p is not None]
        for p in pics:
            p.id = slug(f"fig {p.caption[:40]}", self._ids)
        self.pics.extend(pics)
        if pics:
            section["blocks"].append({"kind": "figures", "figures": pics, "row": row, "large": large})

    def pic(self, path: Path, caption: str, alt: str, link: Path | None = None, drawn: bool = False) -> Picture:
        """A figure from `path`, linked to `link` (default: the file itself). drawn: the file is a
        temporary picture made for this page, so the page names no source file for it."""
        link = link or path
        return Picture(path=path, caption=caption, alt=alt, href=href(link, self.base),
                       href_label=str(href(link, self.base) or link.name),
                       source="" if drawn else (href(path, self.base) or ""))

    def render(self) -> str:
        import jinja2
        from importlib.resources import files

        from markupsafe import Markup

        from .. import __version__

        embed_all(self.pics)
        template_text = files("gankit").joinpath(TEMPLATE).read_text(encoding="utf-8")
        env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined)
        template = env.from_string(template_text)
        # text below was escaped by render_markdown / inline, so it is safe to mark as markup
        self.notes = [Markup(inline(str(n))) for n in self.notes]
        for s in self.sections:
            s["html"] = Markup(s["html"])
            s["notes"] = [Markup(inline(str(n))) for n in s["notes"]]
        payload = {"gankit_report": 1, "kind": self.kind, "title": self.title, "generated": now(),
                   "gankit_version": __version__, **self.data}
        data_json = (json.dumps(plain(payload), allow_nan=False, ensure_ascii=False)
                     .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
        return template.render(page=self, version=__version__, generated=payload["generated"],
                               data_json=Markup(data_json), large_figure_px=LARGE_FIGURE_PX)
