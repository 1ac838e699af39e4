import os

import pytest
import torch

from support import tiny
from gankit.errors import GankitError
from gankit.training import load_run, train_run
from gankit.training import checkpoint as ckpt
from gankit.training.loop import make_optimizers


@pytest.fixture
def run(tmp_path):
    return train_run(tiny(steps=20, checkpoint_every=10), tmp_path / "run")


def test_checkpoint_round_trip_restores_weights_optimizer_and_rng(run):
    path = ckpt.list_checkpoints(run.run_dir)[-1][1]
    loaded = ckpt.load_checkpoint(path)
    assert loaded.step == 20
    module, _, _ = load_run(run.run_dir)
    optimizers = make_optimizers(module, run.config)
    rng = ckpt.restore(loaded, module, optimizers)
    assert set(rng) == {"train_rank0"}
    for key, value in run.module.state_dict().items():
        assert torch.equal(value, module.state_dict()[key])
    state = optimizers["d"].state_dict()
    assert state["param_groups"][0]["betas"] == tuple(run.config.betas_d)
    assert len(state["state"]) == len(list(module.discriminator.parameters()))


def test_interrupted_write_leaves_previous_checkpoint_loadable(run, monkeypatch):
    before = ckpt.list_checkpoints(run.run_dir)
    target = ckpt.checkpoint_path(run.run_dir, 30)

    def crash(fd):
        raise OSError("disk pulled out mid-write")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(GankitError, match="could not write .*step_00000030"):
        ckpt.save_checkpoint(target, run.module, {}, {}, 30)
    monkeypatch.undo()
    assert not target.exists()
    assert ckpt.list_checkpoints(run.run_dir) == before
    # a process killed mid-write leaves a partial temporary file: it is ignored
    partial = target.with_name(f".{target.name}.tmp-999")
    partial.write_bytes(target.read_bytes() if target.exists() else b"\x00" * 100)
    assert ckpt.list_checkpoints(run.run_dir) == before
    module, _, _ = load_run(run.run_dir)
    assert torch.equal(module.state_dict()["generator.head.weight"],
                       run.module.state_dict()["generator.head.weight"])


def test_corrupt_checkpoint_is_named(run):
    path = ckpt.list_checkpoints(run.run_dir)[-1][1]
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(GankitError, match="corrupt or not a gankit checkpoint"):
        load_run(run.run_dir)


def test_mismatched_checkpoint_is_named(run, tmp_path):
    other = train_run(tiny(steps=10, hidden=32), tmp_path / "other")
    path = ckpt.list_checkpoints(other.run_dir)[-1][1]
    with pytest.raises(GankitError, match="does not match this model"):
        ckpt.restore(ckpt.load_checkpoint(path), run.module)


def test_only_newest_checkpoints_are_kept(tmp_path):
    run = train_run(tiny(steps=50, checkpoint_every=10, keep_checkpoints=2), tmp_path / "run")
    assert [s for s, _ in ckpt.list_checkpoints(run.run_dir)] == [40, 50]
