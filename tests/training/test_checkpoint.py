import os

import numpy as np

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


# ------------------------------------------------------------------ what a checkpoint belongs to
def _ring_cli(tmp_path, name, *extra):
    from gankit.cli import main
    args = ["train", "--data", "ring8", "--steps", "4", "--log-every", "2", "--hidden", "16",
            "--no-progress", "--no-tensorboard", "--out", str(tmp_path / name), *extra]
    assert main(args) == 0
    return tmp_path / name


def test_checkpoint_of_another_model_with_equal_shapes_is_refused(tmp_path, capsys):
    from gankit.cli import main
    gan = _ring_cli(tmp_path, "gan", "--model", "gan")
    wgan = _ring_cli(tmp_path, "wgan", "--model", "wgan-gp")
    # the tensors have the same names and shapes: only the identity tells them apart
    newest = ckpt.list_checkpoints(gan)[-1][1]
    newest.write_bytes(ckpt.list_checkpoints(wgan)[-1][1].read_bytes())
    capsys.readouterr()
    assert main(["sample", str(gan), "-n", "4", "--out", str(tmp_path / "s.npy")]) == 2
    assert "belongs to another model or other data" in capsys.readouterr().err
    assert main(["train", "--resume", str(gan), "--steps", "6", "--no-progress"]) == 2
    assert "model: checkpoint 'wgan-gp', run 'gan'" in capsys.readouterr().err


def test_checkpoint_trained_on_other_data_is_refused(tmp_path, capsys):
    from gankit.cli import main
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.savetxt(tmp_path / f"{name}.csv", rng.normal(size=(200, 2)), delimiter=",",
                   header="x,y", comments="")
    runs = {}
    for name in ("a", "b"):
        assert main(["train", "--data", str(tmp_path / f"{name}.csv"), "--model", "gan", "--steps", "4",
                     "--log-every", "2", "--hidden", "16", "--no-progress", "--no-tensorboard",
                     "--out", str(tmp_path / f"run_{name}")]) == 0
        runs[name] = ckpt.list_checkpoints(tmp_path / f"run_{name}")[-1][1]
    runs["a"].write_bytes(runs["b"].read_bytes())
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run_a"), "-n", "4", "--out", str(tmp_path / "s.csv")]) == 2
    assert "data_fingerprint" in capsys.readouterr().err


def _rewrite_meta(path, change):
    """Rewrite a checkpoint's JSON metadata with `change(meta) -> new meta (any JSON)`."""
    import json
    from safetensors.torch import load, save
    payload = path.read_bytes()
    header = json.loads(payload[8:8 + int.from_bytes(payload[:8], "little")])
    meta = json.loads(header["__metadata__"]["gankit"])
    new = change(meta)
    path.write_bytes(save(load(payload), metadata={"gankit": new if isinstance(new, str) else json.dumps(new)}))


@pytest.mark.parametrize("change, message", [
    (lambda m: {**m, "step": "20"}, "its step is '20'"),
    (lambda m: {**m, "step": 20.5}, "its step is 20.5"),
    (lambda m: {**m, "step": -10}, "its step is -10"),
    (lambda m: {**m, "step": 10**12}, "not a whole number"),
    (lambda m: {**m, "step": 10}, "named for step 20"),
    (lambda m: [1, 2, 3], "its metadata is a list"),
    (lambda m: "[" * 100_000 + "]" * 100_000, "corrupt or not a gankit checkpoint"),
    (lambda m: {**m, "extra": [1]}, "'extra' metadata is not a mapping"),
    (lambda m: {**m, "optim_d": {"param_groups": "x", "scalars": 3}}, "optimizer state"),
])
def test_crafted_checkpoint_metadata_is_one_clear_error(run, change, message):
    path = ckpt.list_checkpoints(run.run_dir)[-1][1]
    _rewrite_meta(path, change)
    with pytest.raises(GankitError, match=message.replace("(", r"\(")):
        module, _, _ = load_run(run.run_dir)
        ckpt.restore(ckpt.load_checkpoint(path), module, make_optimizers(module, run.config))


def test_damaged_rng_state_is_one_clear_error(run):
    from safetensors.torch import load, save
    path = ckpt.list_checkpoints(run.run_dir)[-1][1]
    payload = path.read_bytes()
    import json
    header = json.loads(payload[8:8 + int.from_bytes(payload[:8], "little")])
    tensors = load(payload)
    tensors["rng.train_rank0"] = tensors["rng.train_rank0"][:100].clone()
    path.write_bytes(save(tensors, metadata=header["__metadata__"]))
    with pytest.raises(GankitError, match="damaged random-number state"):
        train_run(tiny(steps=30, checkpoint_every=10), run.run_dir, resume=True)


def test_non_finite_state_is_never_checkpointed(run):
    module, config, _ = load_run(run.run_dir)
    optimizers = make_optimizers(module, config)
    ckpt.check_finite_state(module, optimizers, 5)           # a healthy state passes
    next(iter(module.discriminator.parameters())).data[0] = float("inf")
    from gankit.errors import TrainingDiverged
    with pytest.raises(TrainingDiverged, match="weight discriminator.* became NaN or infinite"):
        ckpt.check_finite_state(module, optimizers, 5)
