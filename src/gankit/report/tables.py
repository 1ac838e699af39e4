"""Tables as the page template sees them: cells that show a value as a person reads it and keep
the exact value for programs (data-value), rows, key-value tables, and the `Table` that
experiment modules hand in (DataFrames, lists of dicts, dicts of columns)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import GankitError
from .values import fmt, fmt_spread, is_number, plain, to_json

SPREAD_SUFFIXES = ("_std", "_se", "_sem")
IDENTIFIER_MAX = 80  # longer text without spaces (a path, say) may break rather than widen a table


@dataclass
class Table:
    """A table: `data` is a pandas DataFrame, a list of dicts (one per row), or a dict of columns.

    caption: a sentence saying what the table holds.
    units: {column: unit}, shown in the header, e.g. {"time": "s", "hq": "%"}.
    formats: {column: format spec}, e.g. {"hq": ".1%", "fid": ".2f"} (default: 4 significant
        digits for floats).
    spread: {value column: spread column}: the two are shown as one "mean ± spread" cell. With
        None (default) pairs are found by name: "X" or "X_mean" with "X_std" (also "X_se",
        "X_sem"); False turns this off. A cell whose value is a dict {"mean": m, "std": s} is
        always shown as "m ± s".
    spread_label: how the header names the spread ("std" by default; say "s.e." for standard
        errors, as in published tables).
    sortable: clicking a header sorts the rows (inline script, no network).
    row_header: the first column names the rows (<th scope="row">).
    """
    data: Any
    caption: str = ""
    units: Mapping[str, str] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)
    spread: Mapping[str, str] | bool | None = None
    spread_label: str = "std"
    sortable: bool = True
    row_header: bool = True


def _unbreakable(exact: Any, text: str, spread: Any, fields: Mapping[str, Any] | None, pairs: Any) -> bool:
    """Whether a cell holds a number or an identifier, which a line break would garble."""
    if pairs:
        return False
    if is_number(exact) or isinstance(exact, bool) or spread is not None:
        return True
    if isinstance(exact, dict) and is_number(exact.get("mean")):
        return True
    if fields and all(is_number(plain(v)) for v in fields.values()):
        return True
    return bool(text) and len(text) <= IDENTIFIER_MAX and not any(ch.isspace() for ch in text)


def cell(value: Any = None, text: str | None = None, *, spec: str | None = None, percent: bool = False,
         spread: Any = None, href: str | None = None, header: bool = False, rowspan: int = 1,
         cls: str = "", pairs: list | None = None, raw: bool = True,
         fields: Mapping[str, Any] | None = None, nowrap: bool | None = None) -> dict:
    """One table cell: visible `text`, and the exact value in data-value (numbers, lists).

    nowrap: the cell never wraps (class "nowrap"); by default numbers, numbers with their
    spread, and identifiers (text without spaces: names, states, hashes) do not."""
    exact = plain(value)
    if text is None:
        text = fmt_spread(exact, spread, spec, percent) if spread is not None else fmt(exact, spec, percent)
    data_value = None
    if raw and (exact is None or is_number(exact) or isinstance(exact, (list, dict, bool))):
        data_value = to_json(exact)
    numbers = [v for v in (fields or {}).values() if is_number(plain(v))]
    if is_number(exact):
        sort = repr(exact)
    elif isinstance(exact, dict) and is_number(exact.get("mean")):
        sort = repr(exact["mean"])
    elif numbers:
        sort = repr(plain(numbers[0]))
    else:
        sort = text
    if nowrap is None:
        nowrap = _unbreakable(exact, text, spread, fields, pairs)
    cls = " ".join(c for c in (cls, "nowrap" if nowrap else "") if c)
    return {"text": text, "value": data_value, "spread": None if spread is None else to_json(spread),
            "sort": sort, "href": href, "header": header, "rowspan": rowspan, "cls": cls,
            "pairs": pairs, "fields": None if fields is None else to_json(fields)}


def table(columns: list[dict | str], rows: list[dict], caption: str = "", *, sortable: bool = True,
          cls: str = "", tid: str = "") -> dict:
    cols = [c if isinstance(c, dict) else {"label": c} for c in columns]
    for c in cols:
        c.setdefault("unit", "")
        c.setdefault("key", c["label"])
        c.setdefault("title", "")
        c.setdefault("spread", "")
    cls = " ".join(c for c in (cls, "sortable" if sortable else "") if c)
    return {"columns": cols, "rows": rows, "caption": caption, "sortable": sortable, "cls": cls,
            "id": tid}


def row(cells: list[dict], **attrs: Any) -> dict:
    return {"cells": cells, "attrs": {k.replace("_", "-"): v for k, v in attrs.items() if v is not None}}


def kv_table(pairs: Iterable[tuple[str, Any]], caption: str, *, sortable: bool = False,
             key_label: str = "setting", value_label: str = "value", tid: str = "") -> dict:
    rows = []
    for key, value in pairs:
        value_cell = value if isinstance(value, dict) and "text" in value else cell(value)
        rows.append(row([cell(text=key, header=True, raw=False), value_cell], data_key=key))
    return table([key_label, value_label], rows, caption, sortable=sortable, cls="kv", tid=tid)


def _records_of(data: Any) -> list[dict]:
    """Rows of a DataFrame, list of dicts, dict of columns, or list of sequences."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.Series):
        data = data.to_frame()
    if pd is not None and isinstance(data, pd.DataFrame):
        frame = data
        if isinstance(frame.columns, pd.MultiIndex):
            frame = frame.copy()
            frame.columns = [" / ".join(str(p) for p in c if str(p)) for c in frame.columns]
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
            frame = frame.reset_index()
        return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    if isinstance(data, Mapping):
        keys = list(data)
        n = max((len(data[k]) for k in keys), default=0)
        return [{str(k): data[k][i] if i < len(data[k]) else None for k in keys} for i in range(n)]
    rows = list(data)
    if rows and not isinstance(rows[0], Mapping):
        raise GankitError("a report table needs a DataFrame, a list of dicts or a dict of columns; "
                          f"got a list of {type(rows[0]).__name__}")
    return [{str(k): v for k, v in r.items()} for r in rows]


def _spread_columns(spec: Table, columns: list[str]) -> dict[str, str]:
    """{value column: spread column}, as given or found by name (see `Table.spread`)."""
    spread: dict[str, str] = {}
    if spec.spread is None:
        for c in columns:
            for suffix in SPREAD_SUFFIXES:
                if c.endswith(suffix):
                    base = c[: -len(suffix)]
                    if base in columns:
                        spread.setdefault(base, c)
                    elif base + "_mean" in columns:
                        spread.setdefault(base + "_mean", c)
    elif isinstance(spec.spread, Mapping):
        spread = {str(k): str(v) for k, v in spec.spread.items() if str(k) in columns and str(v) in columns}
    return spread


def user_table(spec: Any) -> tuple[dict, dict]:
    """A `Table` (or what stands for one) -> (template table, its data for the JSON block)."""
    if isinstance(spec, Mapping) and "data" in spec:
        spec = Table(**dict(spec))
    elif not isinstance(spec, Table):
        spec = Table(spec)
    records = _records_of(spec.data)
    columns: list[str] = []
    for record in records:
        for key in record:
            if key not in columns:
                columns.append(key)
    spread = _spread_columns(spec, columns)
    shown = [c for c in columns if c not in spread.values()]
    units, formats = dict(spec.units), dict(spec.formats)
    head = []
    for c in shown:
        label = c[:-5] if c in spread and c.endswith("_mean") else c
        has_dict_spread = any(isinstance(r.get(c), Mapping) and "mean" in r.get(c, {}) for r in records)
        kind = f"mean ± {spec.spread_label}" if (c in spread or has_dict_spread) else ""
        head.append({"label": label, "unit": units.get(c, units.get(label, "")), "key": c, "title": kind,
                     "spread": spec.spread_label if kind else ""})
    rows = []
    for record in records:
        cells = []
        for j, c in enumerate(shown):
            value = plain(record.get(c))
            spec_of_column = formats.get(c)
            header = spec.row_header and j == 0
            if c in spread:
                shown_cell = cell(value, spec=spec_of_column, spread=plain(record.get(spread[c])),
                                  header=header)
            elif isinstance(value, dict) and "mean" in value and ("std" in value or "se" in value):
                s = value.get("std", value.get("se"))
                shown_cell = cell(value, fmt_spread(value["mean"], s, spec_of_column), header=header)
            else:
                shown_cell = cell(value, spec=spec_of_column, header=header)
            cells.append(shown_cell)
        rows.append(row(cells))
    model = table(head, rows, spec.caption, sortable=spec.sortable, cls="data")
    return model, {"caption": spec.caption, "columns": columns, "units": units,
                   "records": plain(records)}
