"""The command line: a thin layer that parses arguments and calls the library.

Every user-fixable problem surfaces as a GankitError, printed as one line with exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import GankitError

EXIT_USER_ERROR = 2


def _train_parser(sub):
    p = sub.add_parser("train", help="train a GAN and write a run directory",
                       description="Train a GAN. Settings: defaults < --config file < flags.")
    p.add_argument("--data", help="built-in name (ring8, grid25, blobs4/8/16/32, digits, iris, "
                   "wine, breast-cancer) or a path (.csv, .npy/.npz, image folder, IDX folder)")
    p.add_argument("--model", help="gan (vanilla, BCE), dcgan, wgan-gp, ebgan, began")
    p.add_argument("--net", help="auto, mlp, conv, tabular")
    p.add_argument("--conditional", action="store_true", default=None, help="condition on labels")
    p.add_argument("--remedy", help="mode-collapse remedy: minibatch or pac")
    p.add_argument("--pac", type=int, help="PacGAN packing degree (default 4)")
    r = p.add_argument_group("further mode-collapse remedies (points and tables)")
    r.add_argument("--unroll", type=int, metavar="K",
                   help="Unrolled GAN: the generator's loss against D advanced K steps (default 0)")
    r.add_argument("--unroll-order", choices=("second", "first"),
                   help="second: differentiate through the look-ahead (default); first: cheaper")
    r.add_argument("--generators", type=int, metavar="N",
                   help="MAD-GAN: N generators sharing a discriminator with N+1 outputs (--model gan)")
    r.add_argument("--margin", type=float, help="EBGAN: energy margin for fakes (default 1)")
    r.add_argument("--pull-away", type=float, help="EBGAN-PT: pull-away term weight (paper: 0.1)")
    r.add_argument("--gamma", type=float, help="BEGAN: diversity ratio (default 0.5; images 1.0)")
    r.add_argument("--lambda-k", type=float, help="BEGAN: learning rate of k_t (default 0.001; images 0.01)")
    r.add_argument("--code-dim", type=int, help="EBGAN/BEGAN: autoencoder bottleneck width")
    p.add_argument("--steps", type=int, help="generator steps")
    p.add_argument("--epochs", type=float, help="passes over the data (instead of --steps)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--n-critic", type=int, help="discriminator steps per generator step")
    p.add_argument("--gp-lambda", type=float, help="gradient-penalty weight (WGAN-GP)")
    p.add_argument("--lr-decay", choices=["none", "linear"], help="learning-rate schedule")
    p.add_argument("--generator-loss", help="non-saturating or minimax (BCE GANs)")
    p.add_argument("--label-smoothing", type=float, help="one-sided real label, e.g. 0.9")
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--hidden", type=int, help="MLP width")
    p.add_argument("--depth", type=int, help="MLP hidden layers")
    p.add_argument("--width", type=int, help="conv base width")
    p.add_argument("--label-column", help="CSV column holding labels (default: 'label')")
    p.add_argument("--image-size", type=int, help="32 or 64")
    p.add_argument("--channels", type=int, help="force 1 (grey) or 3 (RGB)")
    p.add_argument("--held-out", type=float, help="share of the data kept for evaluation")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu or cuda")
    p.add_argument("--log-every", type=int)
    p.add_argument("--sample-every", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    p.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", default=None)
    p.add_argument("--config", help="YAML file of settings (flat, or a run's config.yaml)")
    p.add_argument("--out", help="run directory to write")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint "
                   "(it may change only --steps/--epochs, --lr-g/--lr-d, logging and --device)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace whatever --out holds (a run, or other files); without it a "
                        "non-empty --out is refused")
    g = p.add_argument_group("data parallel and GPU paths (see docs/distributed.md)",
                             "Under `torchrun --nproc_per_node=N -m gankit train ...` the same "
                             "training runs on N processes; --batch-size is per process.")
    g.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto",
                   help="torch.distributed backend under torchrun (auto: nccl on CUDA, gloo on CPU)")
    g.add_argument("--sync-bn", action="store_true",
                   help="synchronise BatchNorm statistics across processes (CUDA only; default: "
                        "each process normalises its own batch)")
    g.add_argument("--amp", choices=("none", "bf16"), default="none",
                   help="bf16 autocast for the forward passes (the gradient penalty stays float32)")
    g.add_argument("--channels-last", action="store_true",
                   help="NHWC memory layout for the conv nets and image batches")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the generator and the discriminator's score passes")
    return p


SETTING_FLAGS = ("data", "model", "net", "conditional", "remedy", "pac", "steps", "epochs",
                 "batch_size", "lr_g", "lr_d", "n_critic", "gp_lambda", "lr_decay", "generator_loss",
                 "label_smoothing", "latent_dim", "hidden", "depth", "width", "label_column",
                 "image_size", "channels", "held_out", "seed", "device", "log_every",
                 "sample_every", "checkpoint_every", "progress", "tensorboard", "unroll",
                 "unroll_order", "generators", "margin", "pull_away", "gamma", "lambda_k", "code_dim")


def _cmd_train(args) -> int:
    from . import distributed
    from .config import TrainConfig, load_config_file
    from .run_directory import RunDir
    from .training import RESUME_OVERRIDES, Execution, train_run

    flags = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k) is not None}
    if args.resume:
        if args.overwrite:
            raise GankitError("--resume continues a run and --overwrite replaces it; choose one")
        record = RunDir(args.resume).record()
        changed = sorted(k for k in flags if k not in RESUME_OVERRIDES
                         and flags[k] != record["train"].get(k))
        if changed:
            raise GankitError(f"--resume continues a run with its own settings; cannot change "
                              f"{', '.join(changed)} (only {', '.join(RESUME_OVERRIDES)})")
        values = {**record["train"], **flags}
        out = Path(args.resume)
    else:
        values = load_config_file(args.config) if args.config else {}
        values.update(flags)
        if not values.get("data"):
            raise GankitError("no data given: pass --data NAME_OR_PATH (e.g. --data ring8)")
        if not args.out:
            raise GankitError("no run directory given: pass --out RUN_DIR")
        out = Path(args.out)
    config = TrainConfig.from_dict(values)
    gpu_paths = dict(amp=getattr(args, "amp", None),
                     channels_last=bool(getattr(args, "channels_last", False)),
                     compile=bool(getattr(args, "compile", False)),
                     sync_bn=bool(getattr(args, "sync_bn", False)))

    def run(execution):
        return train_run(config, out, resume=bool(args.resume), overwrite=bool(args.overwrite),
                         execution=execution, command=["gankit"] + sys.argv[1:])

    rank = 0
    if distributed.launched_by_torchrun() and distributed.env_ranks()[1] > 1:
        # started by torchrun with several processes: join the group, train, leave it
        with distributed.distributed_session(config.device,
                                             backend=getattr(args, "backend", None)) as ctx:
            rank = ctx.rank
            result = run(Execution(device=str(ctx.device), rank=ctx.rank, world_size=ctx.world_size,
                                   sync_gradients=distributed.all_reduce_gradients, **gpu_paths))
    else:
        result = run(Execution(**gpu_paths))
    if rank == 0:
        print(f"run directory: {result.run_dir} (step {result.result.final_step}, "
              f"{result.result.seconds:.1f} s)")
    return 0


def _cmd_sample(args) -> int:
    from .sampling import sample_to_file

    path = sample_to_file(args.run_dir, args.n, args.out, label=args.label, seed=args.seed)
    print(f"wrote {path}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train and measure GANs.")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir")
    s.add_argument("-n", type=int, default=64, help="number of samples")
    s.add_argument("--label", type=int, help="class to sample (conditional models)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help=".npy, .csv or .png (a grid or a scatter)")
    d = sub.add_parser("demo", help="the built-in showcase: WGAN-GP on ring8, conditional on blobs8")
    d.add_argument("--out", default="runs/demo")
    d.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
    for register in _registered_commands():
        register(sub)
    return parser


def _registered_commands():
    """Sub-commands that live beside what they run: each module's `register_cli(subparsers)`
    adds its parser and sets `handler` (a function of the parsed args returning an exit code)."""
    from . import evaluate, report
    from .experiments import cli as experiments_cli
    return [evaluate.register_cli, experiments_cli.register_cli, report.register_cli]


COMMANDS = {"train": _cmd_train, "sample": _cmd_sample, "demo": _cmd_demo}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler = COMMANDS.get(args.command) or args.handler
        return handler(args)
    except GankitError as exc:
        from .distributed import rank_prefix
        print(f"{rank_prefix()}gankit: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        from .training import TerminationRequested
        print("gankit: stopped; the last checkpoint is kept (continue with --resume)",
              file=sys.stderr)
        return 143 if isinstance(exc, TerminationRequested) else 130


if __name__ == "__main__":
    sys.exit(main())
