"""`gankit experiment ...`: the material's experiments as sub-commands.

Each experiment lives in its own module, which exposes `register(experiment_subparsers)`: it adds
its sub-command's parser and sets `handler` (a function of the parsed arguments returning an exit
code; a GankitError becomes one line on stderr and exit code 2, as everywhere in the CLI).

The experiments share their output options (`add_output_options`) and the cleaning of the
names they are given (`clean_names`).

To add an experiment, write its module and list it in EXPERIMENT_MODULES. A listed module that
does not exist yet is skipped, so a sub-command appears as soon as its file does.
"""
from __future__ import annotations

import importlib

from ..errors import GankitError

EXPERIMENT_MODULES = (
    "gankit.experiments.mode_collapse",          # mode-collapse
    "gankit.experiments.stacked_mnist",          # stacked-mnist (1,000 modes on images)
    "gankit.experiments.conditional_coverage",   # conditional-coverage (MNIST / digits)
    "gankit.experiments.oversampling",           # oversample
    "gankit.experiments.oversampling_demos",     # iris-demo, heart-demo
)


def experiment_registrars() -> list:
    """The `register` function of every experiment module present."""
    registrars = []
    for name in EXPERIMENT_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:     # not written yet; anything else missing is a real error
                continue
            raise
        registrars.append(module.register)
    return registrars


def clean_names(values, what: str, allowed=None) -> list[str]:
    """Names given to an experiment (one or several), lower-cased, de-duplicated in order and, when
    `allowed` is given, checked against it; an empty list is refused."""
    values = [values] if isinstance(values, str) else list(values)
    out = []
    for v in values:
        v = str(v).strip().lower()
        if allowed is not None and v not in allowed:
            raise GankitError(f"unknown {what} {v!r}; choose from {', '.join(allowed)}")
        if v not in out:
            out.append(v)
    if not out:
        raise GankitError(f"give at least one {what}")
    return out


def add_output_options(parser) -> None:
    """The options every experiment shares: where its results go, and what it may skip."""
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress output")
    parser.add_argument("--no-report", dest="report", action="store_false", help="skip report.html")
    parser.add_argument("--out", help="folder for the results")


def register_cli(subparsers) -> None:
    """Adds `gankit experiment` and its sub-commands."""
    p = subparsers.add_parser(
        "experiment", help="run one of the material's experiments (many runs, tables, pictures)",
        description="The reference material's experiments, run for real: each trains many models "
                    "and writes its tables and pictures to --out.")
    sub = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for register in experiment_registrars():
        register(sub)
