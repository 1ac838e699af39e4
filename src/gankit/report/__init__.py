"""`gankit report`: one self-contained HTML page per run, per comparison of runs, or per experiment.

The page opens anywhere without a network: pictures and the training GIF are embedded as base64
`data:` URIs (big ones re-encoded smaller with Pillow), styles are inline, and the only script is
a small inline one that sorts tables. Every figure has alt text and a caption that links to its
file (a relative link, so it works wherever the run directory and the page travel together);
tables are real `<table>`s whose cells carry the raw numbers in `data-value` attributes, and the
whole content is repeated as JSON in `<script type="application/json" id="gankit-report-data">`
for programs.

Python:
    write_report(run_dirs, out=None, title=None) -> Path
        one run: RUN_DIR/report.html by default; several runs side by side: by default
        report.html in the runs' common parent folder (they must share one; else pass `out`).
    write_experiment_report(out_dir, title, sections, ...) -> Path
        the generic builder experiment modules call (see its docstring).

Command line: `gankit report RUN_DIR [RUN_DIR ...] [--out FILE] [--title TEXT]`.

Modules: pages (run and comparison pages, write_report), experiment (experiment pages),
page (the page model and its template), runs (what a page knows about a run), verdict (the
line per run that opens a page), metrics, losses, tables, pictures (embedding within a size
budget), markdown, values (formatting), cli.
"""
from .cli import register_cli
from .experiment import Section, write_experiment_report
from .markdown import render_markdown
from .page import REPORT_NAME
from .pages import write_report
from .pictures import Figure
from .tables import Table

__all__ = ["write_report", "write_experiment_report", "Section", "Table", "Figure",
           "render_markdown", "register_cli", "REPORT_NAME"]
