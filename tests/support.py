"""Helpers the tests import (tests/ is on pytest's pythonpath)."""
import os
import subprocess
import sys
from pathlib import Path

from gankit.config import TrainConfig

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
LAUNCH_TIMEOUT = int(os.environ.get("GANKIT_TEST_LAUNCH_TIMEOUT", 240))


def tiny(**settings) -> TrainConfig:
    """A config small enough for tests: narrow nets, small batches, no progress bar."""
    values = dict(data="ring8", hidden=64, batch_size=64, steps=40, log_every=10,
                  sample_every=1000, progress=False, tensorboard=False, n_samples=2000)
    values.update(settings)
    return TrainConfig(**values)


def assert_resume_is_exact(tmp_path, prefix: str, **settings) -> None:
    """4 steps straight and 2 + 2 resumed from a checkpoint end in equal state dicts, which hold
    entries starting with `prefix` (the state the test is about)."""
    import torch

    from gankit.training import train_run

    def run(steps, name, resume=False):
        config = tiny(steps=steps, log_every=2, checkpoint_every=2, **settings)
        return train_run(config, tmp_path / name, resume=resume)

    straight = run(4, "straight")
    run(2, "halves")
    a, b = straight.module.state_dict(), run(4, "halves", resume=True).module.state_dict()
    assert any(k.startswith(prefix) for k in a)
    for key, value in a.items():
        assert torch.equal(value, b[key]), key


# ------------------------------------------------------------- two processes under torchrun
def torchrun_two(args, cwd, timeout=LAUNCH_TIMEOUT):
    """`torchrun --standalone --nproc_per_node=2 ARGS` (one BLAS thread each); asserts it succeeded."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"torchrun failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


def install_write_audit(roots, log: list) -> None:
    """Append 'EVENT PATH' to `log` for every file or folder this process writes under `roots`
    (an audit hook: it sees writes by any library, and stays until the process ends)."""
    roots = tuple(str(r) for r in roots)

    def hook(event, args):
        path = None
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            path = args[0] if writing else None
        elif event in ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate",
                       "os.symlink", "os.link", "shutil.copyfile", "shutil.rmtree"):
            path = args[0] if args else None
        if path is not None and os.fsdecode(os.fspath(path)).startswith(roots):
            log.append(f"{event} {os.fsdecode(os.fspath(path))}")

    sys.addaudithook(hook)
