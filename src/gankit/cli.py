"""The command line: a thin layer that parses arguments and calls the library.

Every user-fixable problem surfaces as a GankitError, printed as one line with exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import GankitError

EXIT_USER_ERROR = 2


_TYPES = {"int": int, "float": float, "str": str}


def setting_fields(names=None):
    """The TrainConfig fields that are command-line flags (all of them, or those named)."""
    from dataclasses import fields

    from .config import TrainConfig
    chosen = [f for f in fields(TrainConfig) if f.metadata.get("flag", True)]
    return chosen if names is None else [f for f in chosen if f.name in names]


def add_setting(parser, field, help_prefix: str = "") -> None:
    """One TrainConfig field as a flag: its type, choices, help text and default, from the field."""
    from .config import default_text, field_choices

    flag = "--" + field.name.replace("_", "-")
    choices = field_choices(field)
    # choices are listed, not enforced by argparse: the settings' own checks say what is wrong
    # in one line (argparse would print its usage block)
    listed = f"; one of {', '.join(map(str, choices))}" if choices else ""
    text = f"{help_prefix}{field.metadata['help']}{listed} (default: {default_text(field)})"
    base = str(field.type).split("|")[0].strip()
    if base == "bool":
        # a switch whose default depends on the run (None until resolved) can also be turned off
        action = argparse.BooleanOptionalAction if field.default is None else "store_true"
        parser.add_argument(flag, action=action, default=None, help=text)
        return
    parser.add_argument(flag, type=_TYPES.get(base, str), default=None, help=text,
                        metavar=field.name.split("_")[-1].upper())


def setting_values(args, names=None) -> dict:
    """The settings given on the command line (flags left out are not in the dict)."""
    return {f.name: getattr(args, f.name) for f in setting_fields(names)
            if getattr(args, f.name, None) is not None}


def _train_parser(sub):
    p = sub.add_parser("train", help="train a GAN and write a run directory",
                       description="Train a GAN. Settings: defaults < --config file < flags. "
                                   "Every setting below is also a key of the config file.")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for field in setting_fields():
        name = field.metadata.get("group", "training")
        if name not in groups:
            groups[name] = p.add_argument_group(name)
        add_setting(groups[name], field)
    run = p.add_argument_group("run directory")
    run.add_argument("--config", help="YAML file of settings (flat, or a run's config.yaml)")
    run.add_argument("--out", help="run directory to write (new or empty)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint "
                     "(it may change only --steps/--epochs, --lr-g/--lr-d, logging and --device)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace whatever --out holds (a run, or other files); without it a "
                          "non-empty --out is refused")
    run.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                     help="no progress bar (default: a bar on a terminal)")
    run.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", default=None,
                     help="no TensorBoard event files (default: written)")
    g = p.add_argument_group("data parallel and GPU paths (see docs/distributed.md)",
                             "Under `torchrun --nproc_per_node=N -m gankit train ...` the same "
                             "training runs on N processes; --batch-size is per process.")
    g.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto",
                   help="torch.distributed backend under torchrun (default: auto, nccl on CUDA, "
                        "gloo on CPU)")
    g.add_argument("--sync-bn", action="store_true",
                   help="synchronise BatchNorm statistics across processes (CUDA only; default: "
                        "each process normalises its own batch)")
    g.add_argument("--amp", choices=("none", "bf16"), default="none",
                   help="bf16 autocast for the forward passes; the gradient penalty stays float32 "
                        "(default: none)")
    g.add_argument("--channels-last", action="store_true",
                   help="NHWC memory layout for the conv nets and image batches (default: off)")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the generator and the discriminator's score passes "
                        "(default: off)")
    return p


def _cmd_train(args) -> int:
    from . import distributed
    from .config import TrainConfig, load_config_file
    from .run_directory import RunDir
    from .training import RESUME_OVERRIDES, Execution, train_run

    flags = setting_values(args)
    for name in ("progress", "tensorboard"):
        if getattr(args, name, None) is not None:
            flags[name] = getattr(args, name)
    if args.resume:
        if args.overwrite:
            raise GankitError("--resume continues a run and --overwrite replaces it; choose one")
        recorded = RunDir(args.resume).train_config().to_dict()
        changed = sorted(k for k in flags if k not in RESUME_OVERRIDES and flags[k] != recorded[k])
        if changed:
            raise GankitError(f"--resume continues a run with its own settings; cannot change "
                              f"{', '.join(changed)} (only {', '.join(RESUME_OVERRIDES)})")
        values = {**recorded, **flags}
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

    path = sample_to_file(args.run_dir, args.n, args.out, label=args.label, seed=args.seed,
                          refine=args.refine, mh_steps=args.mh_steps)
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
    s.add_argument("--refine", help="discriminator-driven sampling: drs (rejection sampling, "
                   "Azadi et al. 2019) or mh (Metropolis-Hastings GAN, Turner et al. 2019), "
                   "calibrated on the run's held-out data (default: none)")
    s.add_argument("--mh-steps", type=int, help="proposals per MH chain (default 20)")
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
