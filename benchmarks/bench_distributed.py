"""Data-parallel throughput: 1 process against 2 processes under torchrun (gloo, CPU).

Weak scaling, as data-parallel training is used: every process keeps the per-process batch, so
2 processes train on a global batch twice as large. Throughput is real samples the
discriminator sees per second (n_critic x global batch x generator steps / s), timed from the
end of the warm-up steps to the last step; scaling efficiency is
throughput(2 processes) / (2 x throughput(1 process)). Every process runs one intra-op thread
(torchrun's default when it starts several); `--with-threads` adds one process with 2 threads,
the other way to spend the second core. 1- and 2-process runs alternate `--repeats` times and
the best of each is kept (the machine is shared; the best is the least disturbed).

The same script checks whether a plain `DistributedDataParallel` wrap would pass gankit's
equivalence test (docs/distributed.md reports the outcome).

    python -m benchmarks.bench_distributed [--quick] [--models mlp-wgan-gp,conv-dcgan,...]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import ROOT, markdown_table, verdict, write_section

# name -> (TrainConfig settings, data kind, warm-up steps, timed steps, quick timed steps)
MODELS = {
    "mlp-wgan-gp": (dict(data="ring8", model="wgan-gp"), 10, 60, 10),
    "mlp-gan": (dict(data="ring8", model="gan"), 20, 300, 40),
    "conv-dcgan": (dict(data="digits", model="dcgan", image_size=32), 2, 16, 4),
    "conv-cwgan-gp": (dict(data="digits", model="wgan-gp", conditional=True, image_size=32), 1, 6, 1),
}
DESCRIPTION = {      # every other setting is gankit's default for the model and data
    "mlp-wgan-gp": "WGAN-GP, MLP 3x128, ring8 (2-D)",
    "mlp-gan": "vanilla GAN, MLP 3x128, ring8 (2-D)",
    "conv-dcgan": "DCGAN, conv width 32, digits 32x32",
    "conv-cwgan-gp": "conditional WGAN-GP, conv width 32, digits 32x32",
}


# ------------------------------------------------------------------------------- workers
def _time_training(name: str, timed: int, out: Path) -> None:
    """One process's share of a timed run (under torchrun, or alone)."""
    import torch

    from gankit import distributed
    from gankit.config import TrainConfig
    from gankit.models import DataSpec
    from gankit.training import build_module, prepare_data
    from gankit.training.loop import Execution, training_loop

    settings, warm = MODELS[name][0], MODELS[name][1]
    with distributed.distributed_session("cpu") as ctx:
        # losses are logged (one small all-reduce) only at the two time stamps' steps
        config = TrainConfig(**settings, steps=warm + timed, log_every=warm, progress=False,
                             tensorboard=False)
        train, _ = prepare_data(config)
        config = config.resolve(train.kind)
        module = build_module(config, DataSpec.of(train))
        stamps: dict[int, float] = {}
        training_loop(module, train, config,
                      execution=Execution(rank=ctx.rank, world_size=ctx.world_size),
                      on_step=lambda step, _: stamps.__setitem__(step, time.perf_counter()))
        seconds = stamps[warm + timed] - stamps[warm]
        if ctx.is_main:
            samples = timed * config.n_critic * config.batch_size * ctx.world_size
            out.write_text(json.dumps({
                "model": name, "world_size": ctx.world_size, "threads": torch.get_num_threads(),
                "per_process_batch": config.batch_size, "n_critic": config.n_critic,
                "timed_steps": timed, "seconds": seconds, "samples_per_s": samples / seconds,
                "steps_per_s": timed / seconds}))


def _ddp_check(out: Path) -> None:
    """Plain DDP wrap vs gankit's all-reduce: the loop's WGAN-GP equivalence, and the penalty alone."""
    import copy

    import torch
    from torch.nn.parallel import DistributedDataParallel as DDP

    from gankit import distributed
    from gankit.config import TrainConfig
    from gankit.models import DataSpec
    from gankit.nets.mlp import MLPDiscriminator
    from gankit.gans.wgan_gp import gradient_penalty
    from gankit.training import build_module, prepare_data
    from gankit.training.loop import Execution, training_loop

    torch.set_num_threads(1)
    result = {}
    with distributed.distributed_session("cpu") as ctx:
        rank, world = ctx.rank, ctx.world_size
        config = TrainConfig(data="ring8", model="wgan-gp", n_critic=2, steps=10, batch_size=16,
                             hidden=64, n_samples=2000, progress=False, tensorboard=False,
                             log_every=5).resolve("points")
        train, _ = prepare_data(config)
        for mode in ("allreduce", "ddp"):
            module = build_module(config, DataSpec.of(train))
            sync = None
            if mode == "ddp":
                latent = module.generator.latent_dim
                module.generator = DDP(module.generator)
                module.generator.latent_dim, module.generator.num_classes = latent, 0
                module.discriminator = DDP(module.discriminator)
                sync = lambda _module: None          # DDP reduces in its backward hooks  # noqa: E731
            try:
                training_loop(module, train, config, execution=Execution(rank=rank, world_size=world, sync_gradients=sync))
                state = {k.replace(".module.", "."): v.clone() for k, v in module.state_dict().items()}
                result[f"loop_{mode}"] = {k: v.tolist() for k, v in state.items()}
            except Exception as exc:                 # report, do not hide
                result[f"loop_{mode}"] = f"{type(exc).__name__}: {str(exc)[:160]}"
        # the penalty alone, as in lazy R1 regularisation: two iterations
        torch.manual_seed(11)
        base = MLPDiscriminator(2, 16, 2)
        g = torch.Generator().manual_seed(5)
        real, fake = torch.randn(16, 2, generator=g), torch.randn(16, 2, generator=g)
        mine = slice(rank * 8, rank * 8 + 8)
        for mode in ("allreduce", "ddp"):
            critic = copy.deepcopy(base)
            net = DDP(critic) if mode == "ddp" else critic
            grads, error = [], None
            try:
                for _ in range(2):
                    critic.zero_grad(set_to_none=True)
                    gradient_penalty(net, real[mine], fake[mine], rng=torch.Generator().manual_seed(3),
                                     shard=(rank, world)).backward()
                    if mode == "allreduce":
                        distributed.all_reduce_gradients(critic)
                    grads.append({n: p.grad.tolist() for n, p in critic.named_parameters()
                                  if p.grad is not None})
            except Exception as exc:
                error = f"{type(exc).__name__}: {str(exc).split('. ')[0][:120]}"
            result[f"penalty_{mode}"] = {"grads": grads, "error": error}
        if rank == 0:
            out.write_text(json.dumps(result))


# ----------------------------------------------------------------------------- launching
FAILED_LAUNCHES: list[str] = []       # retried once; reported in the section
def _launch(args: list[str], processes: int, threads: int, timeout: int = 1800) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    if processes == 1:
        command = [sys.executable, "-m", "benchmarks.bench_distributed", *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={processes}", "-m", "benchmarks.bench_distributed", *args]
    for attempt in (1, 2):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode == 0:
            return
        lines = [ln for ln in done.stderr.splitlines()
                 if any(w in ln for w in ("Error", "terminate", "exitcode"))] or [str(done.returncode)]
        FAILED_LAUNCHES.append(f"`{' '.join(args[:2])}` on {processes} process(es): {lines[0].strip()[:160]}")
        print(f"launch failed (attempt {attempt}):\n{done.stderr[-3000:]}", file=sys.stderr)
    raise RuntimeError(f"{' '.join(command)} failed twice")


def measure(name: str, processes: int, threads: int, timed: int, folder: Path) -> dict:
    out = folder / f"{name}-{processes}x{threads}.json"
    _launch(["--worker", name, "--timed", str(timed), "--json", str(out), "--threads", str(threads)],
            processes, threads)
    return json.loads(out.read_text())


DDP_FLAGS: dict = {}       # what the last ddp_summary found, for the check rows


def ddp_summary(folder: Path) -> str:
    import torch
    out = folder / "ddp.json"
    _launch(["--ddp-check", "--json", str(out)], 2, 1)
    found = json.loads(out.read_text())

    from gankit.config import TrainConfig
    from gankit.models import DataSpec
    from gankit.nets.mlp import MLPDiscriminator
    from gankit.gans.wgan_gp import gradient_penalty
    from gankit.training import build_module, prepare_data
    from gankit.training.loop import training_loop
    config = TrainConfig(data="ring8", model="wgan-gp", n_critic=2, steps=10, batch_size=32,
                         hidden=64, n_samples=2000, progress=False, tensorboard=False,
                         log_every=5).resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    training_loop(module, train, config)
    want = module.state_dict()
    torch.manual_seed(11)
    critic = MLPDiscriminator(2, 16, 2)
    g = torch.Generator().manual_seed(5)
    real, fake = torch.randn(16, 2, generator=g), torch.randn(16, 2, generator=g)
    gradient_penalty(critic, real, fake, rng=torch.Generator().manual_seed(3)).backward()
    want_grads = {n: p.grad for n, p in critic.named_parameters() if p.grad is not None}

    def loop_line(mode):
        got = found[f"loop_{mode}"]
        if isinstance(got, str):
            return f"fails: {got}"
        worst = max(float((torch.tensor(got[k]) - want[k]).abs().max()) for k in want)
        DDP_FLAGS[f"loop_{mode}_passes"] = worst <= 1e-5
        return f"max weight difference {worst:.2g} ({'passes' if worst <= 1e-5 else 'FAILS'} atol 1e-5)"

    def penalty_line(mode):
        got = found[f"penalty_{mode}"]
        parts = []
        for i, grads in enumerate(got["grads"]):
            worst = max(float((torch.tensor(grads[k]) - want_grads[k]).abs().max()) for k in grads)
            parts.append(f"iteration {i + 1}: max gradient error {worst:.2g}")
        if got["error"]:
            parts.append(f"iteration {len(got['grads']) + 1}: {got['error']}")
        DDP_FLAGS[f"penalty_{mode}_fails"] = bool(got["error"]) or any(
            max(float((torch.tensor(g[k]) - want_grads[k]).abs().max()) for k in g) > 1e-5
            for g in got["grads"])
        return "; ".join(parts)

    rows = [["explicit all-reduce (gankit)", loop_line("allreduce"), penalty_line("allreduce")],
            ["plain DDP wrap of G and D", loop_line("ddp"), penalty_line("ddp")]]
    return markdown_table(["scheme", "WGAN-GP loop, 2x16 vs 1x32, 10 steps",
                           "penalty-only backward (lazy regularisation), 2x8 vs 1x16"], rows)


def check_rows() -> list[dict]:
    """The equivalence test of the section's second table, on 2 processes (exact: pass/fail)."""
    with tempfile.TemporaryDirectory() as tmp:
        ddp_summary(Path(tmp))
    return [{"row": "equivalence on 2 processes", "settings": {"steps": 10},
             "values": dict(sorted(DDP_FLAGS.items()))}]


CHECKS = {"distributed": check_rows}
SCALING_TARGET = 0.8      # the target for the conv models
# two processes on two cores cannot do more than twice the work of one: an efficiency above this
# says the one-process run lost cores to other jobs, not that the two processes scaled
SCALING_PLAUSIBLE = 1.05


def scaling_verdict(name: str, efficiency: float) -> str:
    what = f"scaling efficiency, {DESCRIPTION[name]}"
    if efficiency > SCALING_PLAUSIBLE:
        return (f"- Target {what} >= {100 * SCALING_TARGET:.0f}%: **not measured**: "
                f"{100 * efficiency:.0f}% is above what 2 processes can reach (100%), so the "
                "one-process run lost its core to other jobs; re-run on a quiet machine.")
    return verdict(what, 100 * efficiency, 100 * SCALING_TARGET, fmt="{:.0f}", unit="%")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few steps (a smoke test)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-ddp-check", action="store_true")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs; best kept")
    parser.add_argument("--with-threads", action="store_true",
                        help="also time 1 process with 2 intra-op threads")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--ddp-check", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--timed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker or args.ddp_check:
        import torch
        torch.set_num_threads(args.threads)
        if args.worker:
            _time_training(args.worker, args.timed, Path(args.json))
        else:
            _ddp_check(Path(args.json))
        return 0

    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    load_before = os.getloadavg()
    rows, efficiencies = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in names:
            timed = MODELS[name][3] if args.quick else MODELS[name][2]
            ones, twos = [], []
            for _ in range(max(1, args.repeats)):
                ones.append(measure(name, 1, 1, timed, folder))
                twos.append(measure(name, 2, 1, timed, folder))
            one = max(ones, key=lambda r: r["samples_per_s"])
            two = max(twos, key=lambda r: r["samples_per_s"])
            efficiency = two["samples_per_s"] / (2 * one["samples_per_s"])
            efficiencies[name] = efficiency
            row = [DESCRIPTION[name], one["n_critic"], one["per_process_batch"],
                   f"{one['samples_per_s']:.0f}", f"{two['samples_per_s']:.0f}",
                   f"{100 * efficiency:.0f}%",
                   f"{one['steps_per_s']:.3g} / {two['steps_per_s']:.3g}"]
            if args.with_threads:
                row.append(f"{measure(name, 1, 2, timed, folder)['samples_per_s']:.0f}")
            rows.append(row)
            print(rows[-1], file=sys.stderr)
        ddp = "" if args.no_ddp_check else ddp_summary(folder)
    load_after = os.getloadavg()
    header = ["model (gankit defaults)", "n_critic", "batch per process", "1 process (samples/s)", "2 processes (samples/s)",
              "scaling efficiency", "generator steps/s (1 / 2 processes)"]
    if args.with_threads:
        header.append("1 process, 2 threads (samples/s)")
    table = markdown_table(header, rows)
    targets = "\n".join(scaling_verdict(n, e) for n, e in efficiencies.items() if n.startswith("conv"))
    body = f"""Weak scaling under `torchrun --standalone --nproc_per_node=2` (gloo), **one intra-op thread per
process**. Each process keeps the
per-process batch, so 2 processes train on twice the global batch. Samples/s counts real samples
seen by the discriminator (n_critic x global batch x generator steps per second), timed after
warm-up steps, best of {args.repeats} alternating runs; scaling efficiency is
samples/s(2 processes) / (2 x samples/s(1 process)); the issue's target is 80% for the conv
models. The machine is shared with other jobs: 1-minute load average {load_before[0]:.1f} at the
start and {load_after[0]:.1f} at the end on {os.cpu_count()} cores: the processes compete with
those jobs for the cores, so the figures are noisy in both directions (docs/distributed.md shows
the spread over several runs).
No GPU was available to this session: there are no GPU figures, and the GPU paths' defaults
(all off) were not chosen by measurement.

{table}

{targets}
"""
    if ddp:
        body += f"""
### Does a plain DistributedDataParallel wrap pass the equivalence test?

2 processes (gloo), same seeds and data as one process with the global batch; atol 1e-5 on
weights. The first column is the test in tests/test_distributed.py; the second is a backward
made of the gradient penalty alone, as in lazy regularisation (StyleGAN2's R1 every 16 steps).

{ddp}
"""
    if FAILED_LAUNCHES:
        body += "\nLaunches that failed and were retried once: " + "; ".join(FAILED_LAUNCHES) + "\n"
    command = "python -m benchmarks.bench_distributed" + (" --quick" if args.quick else "") + \
        ("" if args.repeats == 2 else f" --repeats {args.repeats}") + \
        (" --with-threads" if args.with_threads else "")
    if args.no_write:
        print(body)
    else:
        write_section("distributed", "Data parallel: 1 and 2 processes on this CPU", body, command,
                      threads="one intra-op thread per process (OMP_NUM_THREADS=1)"
                              + (", and one process with 2 threads in the last column"
                                 if args.with_threads else ""),
                      check=(check_rows(), {"kind": "exact"}) if ddp else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
