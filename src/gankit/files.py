"""Writing files so that a reader (or a crash) never sees half of one: the one atomic writer.

Everything gankit writes that another process may read while it is written (checkpoints,
config.yaml, status.json, metrics.json, reports, pictures, the judge's weights) goes through
`atomic_write` or `atomic_path`: the bytes go to a temporary file beside the target, are
flushed to disk, and one `os.replace` makes the target appear whole. A write interrupted midway
leaves only a hidden temporary file, which every reader ignores and the next write removes.
Disk-full and permission errors become a `GankitError` naming the file.
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Iterator

from .errors import GankitError


def _explain(exc: OSError, path: Path) -> GankitError:
    if exc.errno == errno.ENOSPC:
        return GankitError(f"the disk is full: could not write {path} (free some space; what was "
                           "already saved is intact)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return GankitError(f"cannot write {path}: {exc.strerror.lower()} (choose a folder you can "
                           "write to)")
    return GankitError(f"could not write {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write in full; on leaving the block it replaces `path` in one step.

    For writers that want a file name (PIL, safetensors, matplotlib). If the block raises, the
    target is untouched and the temporary file removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _explain(exc, path) from None
    finally:
        with contextlib.suppress(OSError):
            if tmp.exists():
                tmp.unlink()


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (bytes, or text as UTF-8) to `path` atomically; returns the path."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
    return Path(path)
