"""Fault injection: a run killed (SIGKILL) at random points, mostly while it writes a checkpoint,
always resumes from a valid checkpoint to the same final weights as a run never interrupted."""
import os
import random
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

from gankit.cli import main
from gankit.run_directory import RunDir

STEPS = 600
# a checkpoint every step of a tiny model: most of a step's time is the checkpoint's write and
# fsync, so most kills land in the middle of one
ARGS = ["train", "--data", "ring8", "--model", "wgan-gp", "--steps", str(STEPS), "--log-every", "1",
        "--checkpoint-every", "1", "--sample-every", "100000",
        "--hidden", "16", "--batch-size", "32", "--seed", "11", "--no-progress", "--no-tensorboard"]
KILLS = 20


def _final_tensors(run):
    step, path = RunDir(run).checkpoints()[-1]
    assert step == STEPS
    return load_file(str(path))


def _killed_child(args, delay):
    """Run `gankit args` in a forked child (no import cost) and SIGKILL it after `delay` s."""
    pid = os.fork()
    if pid == 0:                                   # the child trains until it is killed
        try:
            code = main(args)
        finally:
            os._exit(code if "code" in locals() else 1)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_at_random_points_always_resumes_to_the_same_weights(tmp_path):
    assert main(ARGS + ["--out", str(tmp_path / "straight")]) == 0
    expected = _final_tensors(tmp_path / "straight")
    run = tmp_path / "killed"
    rng = random.Random(0)
    killed = 0
    for _ in range(KILLS):
        state = RunDir(run)
        if state.checkpoints():
            args = ["train", "--resume", str(run), "--no-progress"]
            if state.checkpoints()[-1][0] == STEPS:
                break
        else:                                      # killed before its first checkpoint
            args = ARGS + ["--out", str(run), "--overwrite"]
        killed += _killed_child(args, rng.uniform(0.05, 0.3))
        # a grandchild forked for `git rev-parse` (provenance) may hold the lock's file for a
        # moment before its exec closes it; the kernel then frees the lock
        deadline = time.time() + 10
        while RunDir(run).state() == "running" and time.time() < deadline:
            time.sleep(0.05)
        assert RunDir(run).state() in ("interrupted", "finished", "unknown", "stopped")
    assert killed >= KILLS // 2, "the kills came too late to test anything"
    found = RunDir(run).checkpoints()
    assert found, "twenty kills and not one checkpoint written"
    if found[-1][0] < STEPS:
        assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    got = _final_tensors(run)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert torch.equal(got[name], value), name
    leftovers = [p.name for p in (run / "checkpoints").iterdir() if ".tmp-" in p.name]
    assert leftovers == []                        # half-written files of killed writers are gone
