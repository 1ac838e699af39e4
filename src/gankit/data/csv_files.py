"""Reading CSV files for every data loader: pandas, after checking the header ourselves.

pandas renames repeated header names (`a, a` becomes `a, a.1`), so two different columns would
silently pass for differently named ones; `read_csv` refuses them instead, listing the names.
Both the points loader (`arrays.py`) and the table reader (`tabular.py`) read CSVs through here.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pandas as pd

from ..errors import GankitError

_MAX_LISTED = 5


def header_names(path: Path) -> list[str] | None:
    """The first row pandas would take as the header, or None when it cannot be read as text
    (pandas then reports the problem itself)."""
    try:
        # utf-8-sig: pandas drops a byte-order mark too, which would otherwise hide in a name
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                # pandas skips blank lines before the header; a line of commas is a header
                if row and not (len(row) == 1 and not row[0].strip()):
                    return row
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    return None


def check_unique_header(path: Path) -> None:
    names = header_names(path)
    if names is None:
        return
    positions: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names, start=1):
        positions[name].append(i)
    repeated = [(name, where) for name, where in positions.items() if len(where) > 1]
    if repeated:
        listed = "; ".join(f"{name!r} (columns {', '.join(map(str, where))})"
                           for name, where in repeated[:_MAX_LISTED])
        more = f" and {len(repeated) - _MAX_LISTED} more" if len(repeated) > _MAX_LISTED else ""
        raise GankitError(f"{path.name} has duplicate column names {listed}{more}; give each "
                          "column a unique name in the header")


def read_csv(path, **options) -> pd.DataFrame:
    """`pandas.read_csv(path, **options)`, refusing duplicate header names; any failure is one
    `GankitError` line naming the file."""
    path = Path(path)
    check_unique_header(path)
    try:
        return pd.read_csv(path, **options)
    except Exception as exc:  # pandas raises many kinds; the user needs one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GankitError(f"cannot read {path} as CSV: {first}") from None
