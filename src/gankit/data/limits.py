"""How large a finite value may be before gankit's arithmetic overflows, and the check for it.

`check_magnitude` is the one place every loader of numeric data (points from CSV, .npy/.npz and
Python arrays; tables) refuses values too large to compute with, at load time, naming the column
and the value, instead of letting a standard deviation or a distance become infinite much later.
NaN and infinite values are `gankit.errors.check_finite`'s business and are ignored here.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..errors import GankitError

# Points train in float32 (max 3.4e38). Squared differences between values appear in the
# standardiser's variance and in the distance-based metrics; float32 squares overflow past
# 1.8e19, and a float32 sum over 1,000 rows of squares of 1e18 already overflows (numpy's
# float32 std of such a column is inf). With |x| <= 1e15 a squared difference is at most 4e30,
# so float32 sums of up to 8e7 of them (rows of a variance, features of a distance) stay finite.
FLOAT32_MAX_ABS = 1e15
# Tables are encoded in float64 (max 1.8e308; squares overflow past 1.3e154): the same margin of
# 8e7 summed squares gives 1e150. Values beyond it make the mode encoder's variance infinite.
FLOAT64_MAX_ABS = 1e150
MAX_ABS = {"float32": FLOAT32_MAX_ABS, "float64": FLOAT64_MAX_ABS}


def check_magnitude(values, what: str, columns: Sequence | None = None,
                    precision: str = "float32") -> None:
    """Refuse finite values beyond MAX_ABS[precision] in an (N, D) array, naming the column.

    values: an (N, D) array (or (N,) for one column), before any cast to float32, so that a
      value float32 cannot hold is reported as the number it is, not as infinite.
    what: names the data in the message ("data 'x.csv'").
    columns: the D column names; without them columns are named by index.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        return
    if arr.ndim == 1:
        arr = arr[:, None]
    limit = MAX_ABS[precision]
    with np.errstate(invalid="ignore"):
        # cheap pass without copies; NaN fails the comparison and sends its column to the
        # exact pass below, which skips non-finite values
        fine = (arr.max(axis=0) <= limit) & (arr.min(axis=0) >= -limit)
    for j in np.flatnonzero(~fine):
        col = np.abs(arr[:, j].astype(np.float64))
        col[~np.isfinite(col)] = 0.0
        if col.max() <= limit:
            continue
        row = int(np.argmax(col > limit))
        name = f"column {columns[j]!r}" if columns is not None else f"column {j}"
        biggest = float(col.max())
        raise GankitError(
            f"{what}: {name} holds values as large as {biggest:.3g} in magnitude (first at row "
            f"index {row}); gankit computes in {precision}, where values beyond {limit:.0e} "
            f"overflow its sums of squares; rescale the column (e.g. divide it by "
            f"{10.0 ** math.floor(math.log10(biggest)):.0e})")
