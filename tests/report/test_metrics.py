"""Metrics on a run's page (gankit.report.metrics): exactly what metrics.json holds, with units,
spreads and the protocol beside every number."""
from __future__ import annotations

import json

from report.page_reading import notes_text, parse, table_rows

from gankit.metrics.registry import make_protocol, record
from gankit.report import write_report


def test_metrics_table_holds_exactly_metrics_json(run):
    base = make_protocol(2500, 2500, "raw", "held-out", None, seed=0)
    record(run, "modes", {"modes": 7, "hq": 0.98213, "reverse_kl": 0.1234567891234,
                          "counts": [300, 310, 0, 290, 305, 295, 300, 280], "n": 2500}, base)
    record(run, "kid", {"mean": 0.0123, "std": 0.0031, "subsets": 100, "subset_size": 1000},
           make_protocol(2000, 2000, "inception-v3 pool3", "test", "bilinear 299"))
    record(run, "fid", 12.3456789, base)
    record(run, "c2st", {"accuracy": 0.55, "ci_low": 0.52, "ci_high": 0.58, "n_test": 2500,
                         "p_value": float("nan"), "classifier": "knn"}, base)
    record(run, "fid", 11.0, base)  # a re-measurement replaces the value in metrics.json
    summary = json.loads((run / "metrics.json").read_text())["results"]

    root = parse(write_report(run))
    table = root.find("table", id="metrics-table")
    assert table is not None and "metrics.json does not exist" not in notes_text(root)
    rebuilt: dict[str, dict] = {}
    protocols: dict[str, dict] = {}
    for row in table_rows(table):
        name = row.attrs["data-metric"]
        cell = next(td for td in row.iter("td") if "data-fields" in td.attrs)
        rebuilt.setdefault(name, {}).update(json.loads(cell.attrs["data-fields"]))
        protocols[name] = json.loads(row.attrs["data-protocol"])
    values = {name: (fields[""] if set(fields) == {""} else unflatten(fields)) for name, fields in rebuilt.items()}
    assert values == {name: entry["value"] for name, entry in summary.items()}
    assert protocols == {name: entry["protocol"] for name, entry in summary.items()}
    assert values["fid"] == 11.0

    # people read units and spread; the protocol sits beside the numbers
    text = {(r.attrs["data-metric"], r.attrs["data-key"]): r for r in table_rows(table)}
    assert "98.2%" in text[("modes", "hq")].text
    assert "0.0123 ± 0.0031" in text[("kid", "mean ± std")].text
    assert "95% interval 52.0% to 58.0%" in text[("c2st", "accuracy")].text
    assert "nats" in text[("modes", "reverse_kl")].text
    kid_protocol = text[("kid", "mean ± std")].find("dl")
    assert "inception-v3 pool3" in kid_protocol.text and "bilinear 299" in kid_protocol.text


def unflatten(fields: dict) -> dict:
    out: dict = {}
    for path, value in fields.items():
        node = out
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out
