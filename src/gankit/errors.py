"""The errors gankit raises for problems the user can fix.

`GankitError` is a `ValueError`, so Python callers can catch either; the CLI turns it into a
one-line message on stderr and exit code 2. Messages name the problem and, where there is one,
the fix.
"""


class GankitError(ValueError):
    """A problem with the user's input, settings or files, explained in one line."""


class TrainingDiverged(GankitError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def check_finite(array, what: str, fix: str = "remove or impute them before training") -> None:
    """Refuse NaN or infinite values, saying how many, where the first is, and the fix."""
    import numpy as np
    import torch

    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    arr = np.asarray(array)
    if arr.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GankitError(f"{what} contains {int(bad.sum())} NaN or infinite values "
                          f"(first at index {first}); {fix}")
