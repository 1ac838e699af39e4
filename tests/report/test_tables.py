"""Tables (gankit.report.tables): numbers and identifiers never wrap, and a wide table scrolls in
its own container instead of squeezing its columns."""
from __future__ import annotations

import json
import re
import shutil

from report.page_reading import parse, table_rows

from gankit.metrics.registry import make_protocol, record
from gankit.report import write_report
from gankit.report.tables import cell


def classes(node) -> list[str]:
    return node.attrs.get("class", "").split()


def is_numeric(node) -> bool:
    """A cell holding a number: data-value a number, or data-fields numbers only."""
    if "data-value" in node.attrs:
        value = json.loads(node.attrs["data-value"])
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    fields = json.loads(node.attrs.get("data-fields") or "null")
    return bool(fields) and all(isinstance(v, (int, float)) for v in fields.values())


def test_comparison_tables_keep_numbers_and_identifiers_on_one_line(trained, tmp_path):
    a, b = tmp_path / "runs" / "wgan-gp-ring8-seed0", tmp_path / "runs" / "wgan-gp-ring8-seed1"
    shutil.copytree(trained, a)
    shutil.copytree(trained, b)
    (b / "config.yaml").write_text((b / "config.yaml").read_text().replace("  seed: 0\n", "  seed: 1\n"))
    protocol = make_protocol(2500, 2500, "raw", "held-out", None)
    record(a, "modes", {"modes": 7, "hq": 0.98213, "reverse_kl": 0.000123456}, protocol)
    record(b, "kid", {"mean": 0.0123, "std": 0.0031}, protocol)
    out = write_report([a, b])
    root = parse(out)

    numeric = [c for t in root.iter("table") for r in table_rows(t) for c in r.children
               if c.tag in ("td", "th") and is_numeric(c)]
    assert len(numeric) > 20  # steps, seeds, losses, settings, metric values
    assert all("nowrap" in classes(c) for c in numeric), [c.text for c in numeric if "nowrap" not in classes(c)]

    runs = root.find("table", id="runs-table")
    for r in table_rows(runs):
        name, state = r.children[0], r.children[1]
        assert name.text == r.attrs["data-run"] and "nowrap" in classes(name)
        assert state.text == "finished" and "nowrap" in classes(state)
    metrics = root.find("table", id="metrics-table")
    for r in table_rows(metrics):
        assert "nowrap" in classes(r.children[0])  # the metric's name
    settings = root.find("table", id="settings-table")
    for r in table_rows(settings):
        assert "nowrap" in classes(r.children[0])  # the setting's name
    # prose and protocols may wrap
    protocol_cells = [c for r in table_rows(metrics) for c in r.children if c.find("dl") is not None]
    assert protocol_cells and not any("nowrap" in classes(c) for c in protocol_cells)

    # every table sits in a container of its own that scrolls sideways
    for t in root.iter("table"):
        assert "table-wrap" in classes(t.parent)
    css = " ".join(s.text for s in root.iter("style"))
    assert re.search(r"\.table-wrap\s*\{[^}]*overflow-x:\s*auto", css)
    assert re.search(r"(^|\s)\.nowrap\s*\{[^}]*white-space:\s*nowrap", css)
    assert "overflow-wrap: anywhere" not in css  # which let a table squeeze numbers to a column of digits


def test_cells_say_which_values_must_not_wrap():
    assert "nowrap" in cell(0.000123456)["cls"].split()
    assert "nowrap" in cell({"mean": 1.5, "std": 0.25}, "1.5 ± 0.25")["cls"].split()
    assert "nowrap" in cell(3, spread=0.5)["cls"].split()
    assert "nowrap" in cell(text="wgan-gp-ring8-seed0", raw=False)["cls"].split()
    assert "nowrap" in cell(text="0.0123 ± 0.0031", raw=False, fields={"kid.mean": 0.0123, "kid.std": 0.0031})["cls"]
    assert cell(text="gankit train --data ring8 --steps 2000", raw=False)["cls"] == ""
    assert cell([300, 310, 0, 290, 305, 295, 300, 280])["cls"] == ""  # a list wraps between its numbers
    assert cell(text="", pairs=[("features", "raw")], raw=False)["cls"] == ""
    assert cell(text="x" * 200, raw=False)["cls"] == ""  # too long to keep on one line
    assert cell(text="finished", raw=False, cls="state-finished")["cls"].split() == ["state-finished", "nowrap"]
