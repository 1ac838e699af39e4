"""Metrics as a page shows them: one row per number from metrics.json, fractions as percentages,
units named, and the protocol each was measured under beside it."""
from __future__ import annotations

from typing import Any, Mapping

from .runs import ReportedRun
from .tables import cell, row, table
from .values import flatten, fmt, fmt_spread, to_json

# metric fields shown as percentages (the stored value is the fraction)
FRACTION_FIELDS = {"hq", "precision", "recall", "coverage", "accuracy", "ci_low", "ci_high",
                   "normalised_entropy", "proportions", "per_class"}
FIELD_UNITS = {"hq": "% of samples", "precision": "%", "recall": "%", "coverage": "%",
               "accuracy": "%", "normalised_entropy": "% of log K", "proportions": "%",
               "per_class": "%", "reverse_kl": "nats", "entropy": "nats", "modes": "modes",
               "counts": "samples", "n": "samples", "n_test": "samples", "subset_size": "samples",
               "subsets": "subsets", "splits": "splits", "seconds": "s", "fake": "distance",
               "real": "distance", "ratio": "fake / real"}


def metric_rows(value: Any) -> list[dict]:
    """[{key, fields (path -> exact value), text, unit}] for one metric's value.

    A scalar value gives one row with key "" and fields {"": value}. A dict is flattened to
    dotted paths; "mean" with "std" become one "mean ± std" row, and "accuracy" with "ci_low"
    and "ci_high" one row with its 95% interval.
    """
    if not isinstance(value, Mapping):
        return [{"key": "", "fields": {"": value}, "text": fmt(value), "unit": ""}]
    leaves = flatten(value)
    lookup = dict(leaves)
    used: set[str] = set()
    rows = []
    for path, leaf in leaves:
        if path in used:
            continue
        prefix, _, base = path.rpartition(".")
        pre = prefix + "." if prefix else ""
        percent = base in FRACTION_FIELDS
        if base == "mean" and pre + "std" in lookup:
            std = lookup[pre + "std"]
            used.update({path, pre + "std"})
            rows.append({"key": prefix or "mean ± std", "fields": {path: leaf, pre + "std": std},
                         "text": fmt_spread(leaf, std), "unit": ""})
        elif pre + "ci_low" in lookup and pre + "ci_high" in lookup and base == "accuracy":
            lo, hi = lookup[pre + "ci_low"], lookup[pre + "ci_high"]
            used.update({path, pre + "ci_low", pre + "ci_high"})
            rows.append({"key": path, "fields": {path: leaf, pre + "ci_low": lo, pre + "ci_high": hi},
                         "text": f"{fmt(leaf, percent=True)} (95% interval "
                                 f"{fmt(lo, percent=True)} to {fmt(hi, percent=True)})",
                         "unit": "%"})
        else:
            used.add(path)
            rows.append({"key": path, "fields": {path: leaf}, "text": fmt(leaf, percent=percent),
                         "unit": FIELD_UNITS.get(base, "")})
    return rows


def protocol_pairs(protocol: Any) -> list[tuple[str, str]]:
    if not isinstance(protocol, Mapping):
        return [("protocol", "not recorded")] if protocol is None else [("protocol", fmt(protocol))]
    labels = {"n_real": "real samples", "n_fake": "generated samples", "features": "features",
              "real_split": "real split", "resize": "resizing"}
    pairs = []
    for k, v in protocol.items():
        shown = "none" if (k == "resize" and v is None) else fmt(v)
        pairs.append((labels.get(k, k), shown))
    return pairs


def value_and_protocol(entry: Any) -> tuple[Any, Any]:
    """A metrics.json result as (value, protocol); a bare value has no protocol."""
    if isinstance(entry, Mapping) and "value" in entry:
        return entry["value"], entry.get("protocol")
    return entry, None


def metrics_table(run: ReportedRun) -> dict | None:
    """One run's metrics: a row per quantity, the protocol spanning the metric's rows."""
    if not run.results:
        return None
    rows = []
    for name, entry in run.results.items():
        value, protocol = value_and_protocol(entry)
        mrows = metric_rows(value)
        proto_json = to_json(protocol)
        for i, m in enumerate(mrows):
            cells = []
            if i == 0:
                cells.append(cell(text=name, header=True, rowspan=len(mrows), raw=False))
            cells.append(cell(text=m["key"] or "value", raw=False))
            cells.append(cell(text=m["text"], raw=False, cls="num", fields=m["fields"]))
            cells.append(cell(text=m["unit"], raw=False))
            if i == 0:
                cells.append(cell(text="", pairs=protocol_pairs(protocol), rowspan=len(mrows), raw=False))
            rows.append(row(cells, data_metric=name, data_key=m["key"], data_protocol=proto_json))
    caption = ("Metrics from metrics.json, each with the protocol it was measured under "
               f"(updated {run.metrics.get('updated', 'unknown')}). Fractions are shown as percentages; "
               "each value cell holds its exact numbers in a data-fields attribute (JSON: field path -> value; "
               "the empty path is the metric's value itself).")
    return table([{"label": "metric"}, {"label": "quantity"}, {"label": "value"}, {"label": "unit"},
                  {"label": "protocol"}], rows, caption, sortable=False, cls="metrics", tid="metrics-table")


def comparison_metrics_table(runs: list[ReportedRun]) -> dict | None:
    """Every run's metrics side by side: a row per quantity, a column per run, and one protocol
    cell that says so when the runs were measured differently (their numbers do not compare)."""
    by_quantity: dict[tuple[str, str], dict[str, dict]] = {}
    protocols: dict[str, dict[str, Any]] = {}
    for r in runs:
        for name, entry in r.results.items():
            value, protocol = value_and_protocol(entry)
            protocols.setdefault(name, {})[r.name] = protocol
            for m in metric_rows(value):
                by_quantity.setdefault((name, m["key"]), {})[r.name] = m
    if not by_quantity:
        return None
    rows = []
    for (name, key), shown in by_quantity.items():
        cells = [cell(text=name, header=True, raw=False), cell(text=key or "value", raw=False)]
        for r in runs:
            m = shown.get(r.name)
            cells.append(cell(text=m["text"] if m else "n/a", raw=False, cls="num",
                              fields=m["fields"] if m else None))
        protos = protocols[name]
        if len({to_json(p) for p in protos.values()}) == 1:
            proto = cell(text="", pairs=protocol_pairs(next(iter(protos.values()))), raw=False)
        else:
            proto = cell(text="differs between runs, so these numbers are not comparable: "
                         + "; ".join(f"{n}: " + ", ".join(f"{a} {b}" for a, b in protocol_pairs(p))
                                     for n, p in protos.items()), raw=False, cls="differs")
        cells.append(proto)
        cells.append(cell(text=next(iter(shown.values()))["unit"], raw=False))
        rows.append(row(cells, data_metric=name, data_key=key))
    return table(["metric", "quantity"] + [r.name for r in runs] + ["protocol", "unit"], rows,
                 "Metrics from each run's metrics.json with their protocol; each value cell "
                 "holds its exact numbers in data-fields.", tid="metrics-table")
