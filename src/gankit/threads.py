"""How many CPU threads torch uses for a piece of work, and setting them for its duration.

torch's default is one intra-op thread per core. For the small matrices of MLP GANs on points
and tables that only adds synchronisation, and on a busy machine OpenMP's spinning threads made
small steps 10-100x slower (docs/benchmarks.md, "Threads"); convolutions on images use more
cores, but only cores that are free: with the machine busy, two threads of a conv step were
slower than one. So the default is by network family and load: 1 thread for MLP and tabular
networks; for conv nets the cores no other process is using (at least 1). An explicit `threads`
setting, or OMP_NUM_THREADS in the environment, wins. Worker processes of an experiment share
the cores between them (`per_worker`).
"""
from __future__ import annotations

import contextlib
import os

import torch


def user_threads() -> int | None:
    """The thread count the user fixed in the environment (OMP_NUM_THREADS), if any."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def free_cores() -> int:
    """Cores no other process is using, by the 1-minute load average (at least 1)."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:                  # no load average on this platform: assume an idle machine
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def default_threads(net: str) -> int:
    """gankit's default for a network family when nobody chose."""
    return 1 if net in ("mlp", "tabular") else free_cores()


def threads_for(config) -> int | None:
    """The threads a resolved config trains with: its `threads`, else the environment's
    choice (None: leave torch alone), else the family's default."""
    if getattr(config, "threads", None):
        return int(config.threads)
    if user_threads() is not None:
        return None
    return default_threads(config.net)


def per_worker(workers: int) -> int:
    """Threads for each of `workers` processes sharing this machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, int(workers)))


@contextlib.contextmanager
def torch_threads(n: int | None, device: str = "cpu"):
    """torch's CPU thread count set to n inside the block (None: left alone), then restored."""
    if n is None or not str(device).startswith("cpu"):
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)
