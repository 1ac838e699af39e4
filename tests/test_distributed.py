"""Data-parallel training: 2 processes (gloo, CPU) with per-process batch B equal 1 process with 2B.

One real `torchrun --standalone --nproc_per_node=2` launch (~20 s on a loaded 2-core machine)
runs this file as a worker script (`--worker`): several scenarios through `train_run`, one through
the command line (`gankit.cli.main`, which detects torchrun exactly as `torchrun -m gankit train`
does), and two gradient checks, saving what the assertions need; the tests compare with
1-process references computed here. Rank 1 carries an audit hook that records every file it
writes under the run directories, so "only rank 0 writes" is checked, not assumed.

Tolerance: weights agree to atol 1e-5 (observed 3e-8 to 6e-7: float32 sums taken in a different
order), except that at most 0.1% of them may differ by up to one Adam step (the learning rate):
where a gradient is zero in exact arithmetic (a unit dead for the whole batch), Adam divides its
rounding noise by its own size and moves the weight by about lr either way (observed once,
1.1e-5, at lr 1e-4). A wrong reduction or a wrong draw moves nearly every weight by ~lr per step.
Gradients agree to atol 1e-6.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
from support import install_write_audit, torchrun_two

HERE = Path(__file__).resolve()
WEIGHT_ATOL = 1e-5
GRAD_ATOL = 1e-6
B = 8                                  # per-process batch in the worker scenarios
LAUNCH_TIMEOUT = int(os.environ.get("GANKIT_TEST_LAUNCH_TIMEOUT", 240))

# the worker's scenarios: name -> (settings of `support.tiny`, steps, steps after resuming)
SCENARIOS = {
    # stopped at 8 and resumed to 12, compared with straight runs of 8 and 12 steps: a constant
    # learning rate, since a linear decay to the last step makes those schedules differ
    "wgan-gp": (dict(model="wgan-gp", n_critic=2, gp_lambda=10.0, lr_g=1e-3, lr_d=1e-3,
                     lr_decay="none"), 8, 12),
    # one scale for all classes: with each class at its own (the default), the untrained
    # generator's samples sit at the centre of every class, many critic units sit at their kink,
    # and a first Adam step whose sign differs on a gradient that is zero but for rounding (one
    # all-reduced pair of half batches against one batch: 1e-9 apart) moves a kink and the next
    # gradients by more than this comparison allows; the gradients themselves agree
    "cond-wgan-gp-pac": (dict(data="blobs8", model="wgan-gp", conditional=True, remedy="pac", pac=2,
                              n_critic=2, gp_lambda=10.0, class_scaling=False), 6, None),
    "gan": (dict(model="gan", lr_g=1e-3, lr_d=1e-3), 8, None),
    # k_t from losses averaged over the ranks (it is in the state dict, so compared too)
    "began": (dict(model="began", lambda_k=0.05, lr_decay="none"), 8, None),
    # row r of each rank's batch to generator r mod 2: with B even, as one process with 2B
    "mad-gan": (dict(model="gan", generators=2), 8, None),
}


CLI_COMMON = ["--data", "ring8", "--model", "wgan-gp", "--steps", "10", "--hidden", "32",
              "--n-critic", "2", "--log-every", "5", "--checkpoint-every", "5", "--no-progress",
              "--no-tensorboard"]


def _config(name, steps, batch):
    from support import tiny
    settings, _, _ = SCENARIOS[name]
    return tiny(**{**settings, "steps": steps, "batch_size": batch, "log_every": 4,
                   "checkpoint_every": 4})


def _fixed_batch(kind):
    g = torch.Generator().manual_seed(5)
    shape = (2 * B, 1, 32, 32) if kind == "images" else (2 * B, 2)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


def _penalty_critic():
    from gankit.nets.mlp import MLPDiscriminator
    torch.manual_seed(11)
    return MLPDiscriminator(2, 16, 2)


def _bn_discriminator():
    from gankit.nets.conv import build_conv_discriminator
    torch.manual_seed(12)
    return build_conv_discriminator(image_size=32, channels=1, width=4, norm="batch")


def _grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


# ------------------------------------------------------------------------ worker (torchrun)
def _worker(out: Path) -> None:
    from gankit import distributed
    from gankit.gans.bce import VanillaGAN
    from gankit.gans.wgan_gp import gradient_penalty
    from gankit.training import Execution, train_run

    import faulthandler
    faulthandler.dump_traceback_later(LAUNCH_TIMEOUT - 20, exit=True)   # a hang shows where it is
    torch.set_num_threads(1)
    runs = out / "runs"
    writes: list[str] = []
    with distributed.distributed_session("cpu") as ctx:
        rank, world = ctx.rank, ctx.world_size
        if rank != 0:
            install_write_audit([runs, out / "probe"], writes)
            (out / "probe").mkdir()                      # proves the audit sees writes
            (out / "probe" / "x").write_text("x")
        results = {"rank": rank, "world_size": world, "backend": ctx.backend}
        for name, (_, steps, resumed_steps) in SCENARIOS.items():
            execution = Execution(rank=rank, world_size=world,
                                  sync_gradients=distributed.all_reduce_gradients)
            run = train_run(_config(name, steps, B), runs / name, execution=execution)
            if resumed_steps:
                run = train_run(_config(name, resumed_steps, B), runs / name, resume=True,
                                execution=execution)
            torch.save(run.module.state_dict(), out / f"{name}.rank{rank}.pt")
        mine = slice(rank * B, (rank + 1) * B)
        # the penalty alone (no score terms): what a DDP wrap gets wrong
        critic = _penalty_critic()
        real, fake = _fixed_batch("points")
        gradient_penalty(critic, real[mine], fake[mine], rng=torch.Generator().manual_seed(3),
                         shard=(rank, world)).backward()
        distributed.all_reduce_gradients(critic)
        torch.save(_grads(critic), out / f"penalty_grads.rank{rank}.pt")
        # a BatchNorm discriminator: statistics of each process's own batch
        bn = _bn_discriminator()
        real, fake = _fixed_batch("images")
        VanillaGAN().discriminator_loss(bn, real[mine], fake[mine])[0].backward()
        distributed.all_reduce_gradients(bn)
        torch.save(_grads(bn), out / f"bn_grads.rank{rank}.pt")
        # the command line under torchrun (what `torchrun -m gankit train ...` runs)
        import contextlib
        import io
        from gankit.cli import main
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            results["cli_exit"] = main(["train", *CLI_COMMON, "--batch-size", "16", "--out",
                                        str(runs / "cli")])
        results["cli_stdout"] = printed.getvalue()
        results["writes"] = writes
        (out / f"results.rank{rank}.json").write_text(json.dumps(results))


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("two_ranks")
    torchrun_two([str(HERE), "--worker", str(out)], cwd=HERE.parent)
    return out


# -------------------------------------------------------------------------------- helpers
def _reference(name, steps):
    """The same scenario on one process with the global batch 2B."""
    from gankit.training import build_module, prepare_data
    from gankit.models import DataSpec
    from gankit.training.loop import training_loop
    config = _config(name, steps, 2 * B).resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    training_loop(module, train, config)
    return module.state_dict()


def _assert_close(got: dict, want: dict, atol, lr: float | None = None):
    """All entries within atol; with lr, at most 0.1% of them may be off by up to lr instead."""
    assert got.keys() == want.keys()
    diffs = torch.cat([(got[k].double() - want[k].double()).abs().flatten() for k in want])
    worst = float(diffs.max())
    if lr is None:
        assert worst <= atol, f"max |difference| {worst:.3g} > {atol}"
    else:
        outliers = int((diffs > atol).sum())
        assert outliers <= max(1, diffs.numel() // 1000) and worst <= lr, \
            f"{outliers} of {diffs.numel()} weights differ by more than {atol} (max {worst:.3g})"
    return worst


def _lr(name):
    config = _config(name, 1, B).resolve("points")
    return max(config.lr_g, config.lr_d)


def _checkpoint_weights(run_dir: Path, step: int):
    from gankit.training.checkpoint import checkpoint_path, load_checkpoint
    tensors = load_checkpoint(checkpoint_path(run_dir, step)).tensors
    return {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}


# ------------------------------------------------------------------------- 2-process tests
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_two_processes_with_batch_b_equal_one_process_with_2b(two_ranks, name):
    _, steps, resumed = SCENARIOS[name]
    final = resumed or steps
    want = _reference(name, final)
    got = torch.load(two_ranks / f"{name}.rank0.pt")
    _assert_close(got, want, WEIGHT_ATOL, lr=_lr(name))
    # ... and rank 1 applied the same averaged gradients, so it holds the same weights
    other = torch.load(two_ranks / f"{name}.rank1.pt")
    _assert_close(other, got, 0.0)


def test_two_process_run_resumes_from_its_checkpoint(two_ranks):
    """wgan-gp ran 8 steps on 2 ranks, stopped, and both ranks resumed to 12 from rank 0's files."""
    run = two_ranks / "runs" / "wgan-gp"
    steps = [int(p.name[5:13]) for p in sorted((run / "checkpoints").glob("step_*.safetensors"))]
    assert steps == [4, 8, 12]
    _assert_close(_checkpoint_weights(run, 8), _reference("wgan-gp", 8), WEIGHT_ATOL, _lr("wgan-gp"))
    _assert_close(_checkpoint_weights(run, 12), _reference("wgan-gp", 12), WEIGHT_ATOL, _lr("wgan-gp"))
    import yaml
    record = yaml.safe_load((run / "config.yaml").read_text())
    assert record["distributed"] == {"world_size": 2, "per_process_batch": B, "global_batch": 2 * B,
                                     "backend": "gloo"}
    assert len(record["resumes"]) == 1 and record["resumes"][0]["from_step"] == 8
    assert json.loads((run / "status.json").read_text())["step"] == 12


def test_only_rank_zero_writes(two_ranks):
    results = [json.loads((two_ranks / f"results.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in results] == [0, 1] and results[0]["backend"] == "gloo"
    probe = [w for w in results[1]["writes"] if "probe" in w]
    assert probe and all(w.startswith(("os.mkdir", "open")) for w in probe)   # the audit works
    assert [w for w in results[1]["writes"] if w not in probe] == []   # rank 1 wrote nothing in runs/
    for name in SCENARIOS:                      # and rank 0 wrote complete run directories
        run = two_ranks / "runs" / name
        assert {"config.yaml", "status.json", "losses.csv", "checkpoints", "samples"} <= \
            {p.name for p in run.iterdir()}


def test_penalty_gradients_are_averaged_correctly(two_ranks):
    """The penalty alone, differentiated twice on each rank's half: the averaged gradient is the
    full batch's (a DistributedDataParallel wrap leaves it unreduced, see docs/distributed.md)."""
    from gankit.gans.wgan_gp import gradient_penalty
    critic = _penalty_critic()
    real, fake = _fixed_batch("points")
    gradient_penalty(critic, real, fake, rng=torch.Generator().manual_seed(3)).backward()
    want = _grads(critic)
    for rank in (0, 1):
        _assert_close(torch.load(two_ranks / f"penalty_grads.rank{rank}.pt"), want, GRAD_ATOL)


def test_batchnorm_normalises_each_process_batch(two_ranks):
    """Without --sync-bn, BatchNorm uses each process's own statistics: the averaged gradient is the
    mean of the two halves' gradients, not the gradient of the 2B batch."""
    from gankit.gans.bce import VanillaGAN
    real, fake = _fixed_batch("images")

    def grads_on(rows):
        net = _bn_discriminator()
        VanillaGAN().discriminator_loss(net, real[rows], fake[rows])[0].backward()
        return _grads(net)

    halves = [grads_on(slice(0, B)), grads_on(slice(B, 2 * B))]
    per_process = {k: (halves[0][k] + halves[1][k]) / 2 for k in halves[0]}
    whole = grads_on(slice(0, 2 * B))
    got = torch.load(two_ranks / "bn_grads.rank0.pt")
    _assert_close(got, per_process, GRAD_ATOL)
    assert max(float((got[k] - whole[k]).abs().max()) for k in got) > 1e-4


# ------------------------------------------------------------------------- torchrun + CLI
def test_cli_under_torchrun_trains_on_two_processes_and_resumes_on_one(two_ranks, tmp_path, capsys):
    import shutil
    import yaml
    from gankit.cli import main
    results = [json.loads((two_ranks / f"results.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["cli_exit"] for r in results] == [0, 0]
    assert "run directory:" in results[0]["cli_stdout"] and results[1]["cli_stdout"] == ""
    two = tmp_path / "two"
    shutil.copytree(two_ranks / "runs" / "cli", two)
    record = yaml.safe_load((two / "config.yaml").read_text())
    assert record["distributed"]["world_size"] == 2 and record["distributed"]["global_batch"] == 32
    assert record["execution"] == {"amp": "none", "channels_last": False, "compile": False,
                                   "sync_bn": False}
    assert json.loads((two / "status.json").read_text())["state"] == "finished"
    # the same training on one process with the global batch
    assert main(["train", *CLI_COMMON, "--batch-size", "32", "--out", str(tmp_path / "one")]) == 0
    _assert_close(_checkpoint_weights(two, 10), _checkpoint_weights(tmp_path / "one", 10),
                  WEIGHT_ATOL, lr=1e-4)
    # a different world size resumes the same files; what changes is the global batch
    capsys.readouterr()
    assert main(["train", "--resume", str(two), "--steps", "15", "--no-progress"]) == 0
    assert "global batch changes from 32 to 16" in capsys.readouterr().err
    assert json.loads((two / "status.json").read_text())["step"] == 15


# ------------------------------------------------------------------------- single process
def test_shard_seeds_split_in_order():
    from gankit.distributed import shard_seeds
    seeds = list(range(10))
    shares = [shard_seeds(seeds, r, 3) for r in range(3)]
    assert shares == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert sum(shares, []) == seeds
    assert shard_seeds([1, 2], 3, 4) == [] and shard_seeds(seeds, 0, 1) == seeds
    with pytest.raises(ValueError):
        shard_seeds(seeds, 2, 2)


def test_helpers_without_a_process_group():
    from gankit import distributed
    from gankit.errors import GankitError
    assert distributed.gather_objects({"a": 1}) == [{"a": 1}]
    assert distributed.get_rank() == 0 and distributed.get_world_size() == 1
    assert not distributed.launched_by_torchrun({"RANK": "0"})
    assert distributed.launched_by_torchrun({k: "0" for k in distributed.TORCHRUN_VARIABLES})
    assert distributed.choose_backend("cpu") == "gloo"
    assert distributed.choose_backend("cuda:0") == "nccl"
    assert distributed.choose_backend("cpu", "gloo") == "gloo"
    with pytest.raises(GankitError, match="nccl backend needs CUDA"):
        distributed.choose_backend("cpu", "nccl")
    t = torch.arange(8)
    assert distributed.take_shard(t, 1, 2).tolist() == [4, 5, 6, 7]
    assert distributed.take_shard(t, 0, 1) is t
    ctx = distributed.init_distributed("cpu")           # no torchrun: a one-process context
    assert (ctx.rank, ctx.world_size, ctx.backend) == (0, 1, None)


def test_sharded_penalty_uses_the_global_draw():
    from gankit.gans.wgan_gp import gradient_penalty
    critic = _penalty_critic()
    real, fake = _fixed_batch("points")
    plain = gradient_penalty(critic, real, fake, rng=torch.Generator().manual_seed(3))
    halves = [gradient_penalty(critic, real[r * B:(r + 1) * B], fake[r * B:(r + 1) * B],
                               rng=torch.Generator().manual_seed(3), shard=(r, 2)) for r in (0, 1)]
    assert torch.allclose((halves[0] + halves[1]) / 2, plain, atol=1e-6)
    same = gradient_penalty(critic, real, fake, rng=torch.Generator().manual_seed(3), shard=(0, 1))
    assert torch.equal(same, plain)


def test_world_size_above_one_needs_a_process_group(tmp_path):
    from support import tiny
    from gankit.errors import GankitError
    from gankit.training import Execution, train_run
    with pytest.raises(GankitError, match="needs a torch.distributed process group"):
        train_run(tiny(steps=2), tmp_path / "run", execution=Execution(rank=1, world_size=2))


def _conv_settings(*extra):
    return ["train", "--data", "digits", "--model", "dcgan", "--steps", "2", "--batch-size", "8",
            "--width", "4", "--log-every", "1", "--no-progress", "--no-tensorboard", *extra]


def test_channels_last_matches_the_default_layout(tmp_path):
    from gankit.cli import main
    assert main(_conv_settings("--out", str(tmp_path / "nchw"))) == 0
    assert main(_conv_settings("--channels-last", "--out", str(tmp_path / "nhwc"))) == 0
    _assert_close(_checkpoint_weights(tmp_path / "nhwc", 2), _checkpoint_weights(tmp_path / "nchw", 2),
                  1e-4)


def test_bf16_autocast_trains_with_a_float32_penalty(tmp_path):
    from support import tiny
    from gankit.training import Execution, train_run
    run = train_run(tiny(model="wgan-gp", steps=4, n_critic=2, log_every=2), tmp_path / "run",
                    execution=Execution(amp="bf16"))
    assert all(torch.isfinite(torch.tensor(v)) for v in run.result.last_losses.values())
    assert all(p.dtype == torch.float32 for p in run.module.parameters())
    import yaml
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["execution"]["amp"] == "bf16"


def test_compile_flag_compiles_both_networks_but_not_the_penalty(tmp_path, monkeypatch):
    """torch.compile itself takes ~30 s per network on this CPU, so it is replaced by a recorder:
    what is checked is that G and D are compiled and that the penalty gets the eager critic
    (compiled graphs cannot be differentiated twice)."""
    from gankit.cli import main
    from gankit.gans import wgan_gp
    compiled, penalised, scored = [], [], []

    class Compiled:
        def __init__(self, module):
            self.module = module

        def __call__(self, *args):
            scored.append(type(self.module).__name__)
            return self.module(*args)

    def fake_compile(module, **_):
        compiled.append(type(module).__name__)
        return Compiled(module)

    real_penalty = wgan_gp.gradient_penalty

    def recording_penalty(discriminator, *args, **kwargs):
        penalised.append(type(discriminator).__name__)
        return real_penalty(discriminator, *args, **kwargs)

    monkeypatch.setattr(torch, "compile", fake_compile)
    monkeypatch.setattr(wgan_gp, "gradient_penalty", recording_penalty)
    assert main(["train", "--data", "ring8", "--steps", "2", "--hidden", "16", "--compile",
                 "--no-progress", "--no-tensorboard", "--out", str(tmp_path / "run")]) == 0
    assert sorted(compiled) == ["MLPDiscriminator", "MLPGenerator"]
    assert {"MLPDiscriminator", "MLPGenerator"} <= set(scored)     # the step ran the compiled ones
    assert penalised and set(penalised) == {"MLPDiscriminator"}    # the penalty got the eager critic


def test_gpu_flags_on_cpu(tmp_path, capsys):
    from gankit.cli import main
    argv = ["train", "--data", "ring8", "--steps", "1", "--hidden", "8", "--no-progress",
            "--no-tensorboard"]
    # one process: --sync-bn has nothing to synchronise (and would refuse CPU tensors if it had)
    assert main([*argv, "--sync-bn", "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--channels-last", "--out", str(tmp_path / "b")]) == 2
    assert "--channels-last is for image data" in capsys.readouterr().err
    with pytest.raises(SystemExit):                       # argparse: not a choice
        main([*argv, "--amp", "fp8", "--out", str(tmp_path / "c")])


def test_sync_batchnorm_refuses_cpu():
    from gankit.distributed import convert_sync_batchnorm
    from gankit.errors import GankitError
    with pytest.raises(GankitError, match="needs CUDA"):
        convert_sync_batchnorm(_bn_discriminator(), torch.device("cpu"))


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.path.insert(0, str(HERE.parent))
    _worker(Path(sys.argv[sys.argv.index("--worker") + 1]))
