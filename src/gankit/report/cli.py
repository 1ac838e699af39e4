"""`gankit report RUN_DIR [RUN_DIR ...] [--out FILE] [--title TEXT]`: the command line of the report."""
from __future__ import annotations

import time

from .pages import write_report
from .values import fmt_bytes


def _cmd_report(args) -> int:
    started = time.perf_counter()
    path = write_report(args.run_dirs, out=args.out, title=args.title)
    print(f"wrote {path} ({fmt_bytes(path.stat().st_size)}, {time.perf_counter() - started:.1f} s)")
    return 0


def register_cli(subparsers) -> None:
    """Adds `gankit report RUN_DIR [RUN_DIR ...] [--out FILE] [--title TEXT]`."""
    p = subparsers.add_parser(
        "report", help="write one self-contained HTML page for one run or several side by side",
        description="Write one self-contained HTML page (pictures embedded, no network needed): for one "
                    "run, what was trained, status, loss curves, samples and training.gif, metrics with "
                    "their protocol, checkpoints and the full config; for several runs, their settings, "
                    "losses, samples and metrics side by side.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (holding config.yaml)")
    p.add_argument("--out", help="HTML file to write, or a folder for FOLDER/report.html (default: "
                   "RUN_DIR/report.html for one run; report.html in the runs' common parent folder "
                   "for several)")
    p.add_argument("--title", help="page title")
    p.set_defaults(handler=_cmd_report)
