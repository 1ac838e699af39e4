"""Training settings: one dataclass, declared once, with its help text, and its YAML form.

Every setting is a field of `TrainConfig` declared with `setting(...)`: its default, its help
text (with the default in words when it depends on the model and data) and its choices. The
`gankit train` flags, the keyword arguments of `gankit.GAN` and the config file's keys are all
generated from these fields, so a new setting is one field. Fields left as None are filled by
`resolve()`: generic defaults here, the model's own from its variant (`gankit.gans`), so a
config file or the CLI need only say what differs. The resolved config is what a run records.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from .errors import GankitError

NETS = ("auto", "mlp", "conv", "tabular")
LABEL_INPUTS = ("embedding", "onehot")
DEFAULT_STEPS = 8000           # generator steps on points and tables, unless steps/epochs say


def setting(default, help: str, *, default_text: str | None = None, choices=None,
            group: str = "training", flag: bool = True):
    """A TrainConfig field with its help text. default_text says the default in words when it
    is None (filled by `resolve`); choices may be a function (evaluated when asked);
    flag=False keeps it out of the command line (set through the API or a config file)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "default_text": default_text, "choices": choices, "group": group,
        "flag": flag})


def _models():
    from .gans import model_names
    return model_names()


def field_choices(f: dataclasses.Field):
    choices = f.metadata.get("choices")
    return choices() if callable(choices) else choices


def default_text(f: dataclasses.Field) -> str:
    """The default of a setting in words, as `--help` shows it."""
    if f.metadata.get("default_text"):
        return f.metadata["default_text"]
    return "off" if f.default is False else "on" if f.default is True else str(f.default)


@dataclass
class TrainConfig:
    # what to train
    data: str = setting("ring8", "built-in name (ring8, grid25, blobs4/8/16/32, digits, iris, wine, "
                        "breast-cancer) or a path (.csv, .npy/.npz, image folder, IDX folder)",
                        group="what to train")
    model: str = setting("wgan-gp", "the GAN variant (see docs/variants.md)", choices=_models,
                         group="what to train")
    net: str = setting("auto", "network family: auto picks mlp for points, conv for images, "
                       "tabular for tables", choices=NETS, group="what to train")
    conditional: bool = setting(False, "condition generator and discriminator on the labels",
                                group="what to train")
    remedy: str | None = setting(None, "mode-collapse remedy of the discriminator: minibatch "
                                 "(minibatch discrimination) or pac (PacGAN)", default_text="none",
                                 choices=("minibatch", "pac"), group="remedies")
    pac: int = setting(4, "PacGAN packing degree (Lin et al. 2018 use 2-4)", group="remedies")
    minibatch_features: int = setting(16, "minibatch-discrimination kernels", group="remedies")
    minibatch_kernel_dim: int = setting(8, "minibatch-discrimination kernel size", group="remedies")
    unroll: int = setting(0, "Unrolled GAN: the generator's loss against D advanced K steps "
                          "(Metz et al. 2017 use 5-10)", group="remedies")
    unroll_order: str = setting("second", "second: differentiate through the look-ahead; first: "
                                "cheaper, no second derivatives", choices=("second", "first"),
                                group="remedies")
    generators: int = setting(1, "MAD-GAN: N generators sharing a discriminator with N+1 outputs "
                              "(with --model gan)", group="remedies")
    spectral_norm: bool = setting(False, "spectral normalisation of the discriminator's weights "
                                  "(Miyato et al. 2018)", group="remedies")
    clusters: int = setting(0, "points: condition on K k-means clusters of the data, each at its "
                            "own scale, drawn by their share (more than the modes you expect, e.g. "
                            "100; docs/mode_collapse_recipe.md); 0: off", group="remedies")
    class_scaling: bool | None = setting(None, "conditional points: standardise each class by its "
                                         "own mean and std, so that each is learnt at unit "
                                         "scale (docs/mode_collapse_recipe.md)",
                                         default_text="on for conditional WGAN-GP on points",
                                         group="remedies")
    margin: float | None = setting(None, "EBGAN: energy margin for fakes", default_text="0.5",
                                   group="variant settings")
    pull_away: float = setting(0.0, "EBGAN-PT: weight of the pull-away term (paper: 0.1)",
                               group="variant settings")
    gamma: float | None = setting(None, "BEGAN: diversity ratio L(G(z)) / L(x) at equilibrium",
                                  default_text="0.5; images 1.0", group="variant settings")
    lambda_k: float | None = setting(None, "BEGAN: learning rate of the equilibrium variable k_t",
                                     default_text="0.001; images 0.01", group="variant settings")
    code_dim: int | None = setting(None, "EBGAN/BEGAN: autoencoder bottleneck width",
                                   default_text="half the features (points), 64 (images)",
                                   group="variant settings")
    generator_loss: str = setting("non-saturating", "BCE GANs: non-saturating or minimax "
                                  "generator loss", choices=("non-saturating", "minimax"),
                                  group="variant settings")
    label_smoothing: float = setting(1.0, "BCE GANs: one-sided real label, e.g. 0.9",
                                     group="variant settings")
    gp_lambda: float | None = setting(None, "WGAN-GP: gradient-penalty weight",
                                      default_text="1 for points, 10 otherwise",
                                      group="variant settings")
    gp_center: float | None = setting(None, "WGAN-GP: the gradient norm the penalty pulls "
                                      "towards; 0 penalises any slope (zero-centred, "
                                      "docs/mode_collapse_recipe.md)",
                                      default_text="1; conditional points 0",
                                      group="variant settings")
    # networks
    latent_dim: int | None = setting(None, "latent dimension", default_text="8 (points, tables), "
                                     "100 (images)", group="networks")
    hidden: int | None = setting(None, "MLP hidden-layer width", default_text="128", group="networks")
    depth: int = setting(3, "MLP hidden layers", group="networks")
    width: int | None = setting(None, "conv base width", default_text="32", group="networks")
    d_width: int | None = setting(None, "base width of the conv discriminator alone (e.g. a "
                                  "quarter of --width, the Stacked MNIST collapse protocol)",
                                  default_text="--width", group="networks")
    embed_dim: int | None = setting(None, "label embedding width", default_text="the number of "
                                    "classes", group="networks")
    label_input: str | None = setting(None, "how labels enter the MLP networks: a learned "
                                      "embedding (the material's) or a fixed one-hot vector (the "
                                      "conditional points recipe, docs/mode_collapse_recipe.md)",
                                      default_text="onehot for conditional WGAN-GP on points, "
                                      "embedding otherwise", choices=LABEL_INPUTS, group="networks")
    # optimisation
    steps: int | None = setting(None, "generator steps", default_text=f"{DEFAULT_STEPS}; images "
                                "500 (WGAN-GP) or 1000; or from --epochs")
    epochs: float | None = setting(None, "passes over the data in critic batches (instead of "
                                   "--steps)", default_text="unset")
    batch_size: int | None = setting(None, "batch size (per process under torchrun)",
                                     default_text="256 (points, tables), 64 (images), at most "
                                     "the data's size")
    lr_g: float | None = setting(None, "generator learning rate (Adam)", default_text="by model: "
                                 "1e-3 on points; 5e-4 (WGAN-GP) or 2e-4 on images")
    lr_d: float | None = setting(None, "discriminator learning rate (Adam)",
                                 default_text="as --lr-g")
    betas_g: tuple[float, float] | None = setting(None, "generator Adam betas", flag=False,
                                                  default_text="by model: (0.5, 0.9) WGAN-GP, "
                                                  "(0.5, 0.999) otherwise")
    betas_d: tuple[float, float] | None = setting(None, "discriminator Adam betas", flag=False,
                                                  default_text="as betas_g")
    n_critic: int | None = setting(None, "discriminator steps per generator step",
                                   default_text="by model: 2 (WGAN-GP points, images), 5 "
                                   "(WGAN-GP tables), 1 otherwise")
    ema: float | None = setting(None, "keep an exponential moving average of the generator's "
                                "weights with this decay (e.g. 0.99) and sample from it; 0: off",
                                default_text="0.99 for conditional WGAN-GP on points, off "
                                "otherwise", group="training")
    lr_decay: str | None = setting(None, "learning-rate schedule: linear to 0 at the last step, "
                                   "or none", default_text="linear on points, none otherwise",
                                   choices=("none", "linear"))
    # data options
    label_column: str | None = setting(None, "CSV column holding labels", default_text="'label'",
                                       group="data")
    image_size: int = setting(32, "image side for the conv nets: 32 or 64", group="data")
    channels: int | None = setting(None, "force 1 (grey) or 3 (RGB) channels",
                                   default_text="the images'", group="data")
    n_samples: int = setting(10_000, "points drawn for a built-in toy mixture", group="data")
    held_out: float = setting(0.2, "share of the data kept aside for evaluation (files; toy "
                              "data get a fresh draw)", group="data")
    # bookkeeping
    seed: int = setting(0, "seed of the data split, the weights, the batches and the noise",
                        group="run")
    device: str = setting("cpu", "cpu, cuda or cuda:N", group="run")
    threads: int | None = setting(None, "torch CPU threads while training",
                                  default_text="OMP_NUM_THREADS if set, else 1 for MLP and "
                                  "tabular networks, the free cores for conv nets", group="run")
    log_every: int | None = setting(None, "average and log the losses every N steps",
                                    default_text="about 100 points per run, at most every 50 "
                                    "steps", group="run")
    sample_every: int | None = setting(None, "sample picture every N steps",
                                       default_text="about 20 per run", group="run")
    checkpoint_every: int | None = setting(None, "checkpoint every N steps",
                                           default_text="about 5 per run", group="run")
    keep_checkpoints: int = setting(3, "how many of the newest checkpoints to keep", group="run")
    progress: bool = setting(True, "progress bar on the terminal", group="run", flag=False)
    tensorboard: bool = setting(True, "TensorBoard event files in the run directory", group="run",
                                flag=False)

    def __post_init__(self):
        # checked at once: the seed draws the data split before anything else is resolved
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or not 0 <= self.seed < 2**32:
            raise GankitError(f"seed must be a whole number in 0..{2**32 - 1}, got {self.seed!r}")

    def variant(self):
        """The variant class that trains this config (`gankit.gans`)."""
        from .gans import variant_class
        return variant_class(self)

    def resolve(self, kind: str) -> "TrainConfig":
        """Fill the defaults that depend on model and data kind; check every setting."""
        from .gans.options import check_options

        c = dataclasses.replace(self)
        variant = c.variant()
        if c.net not in NETS:
            raise GankitError(f"unknown network {c.net!r}; choose one of {', '.join(NETS)}")
        if c.net == "auto":
            c.net = {"images": "conv", "table": "tabular"}.get(kind, "mlp")
        images = c.net == "conv"

        def default(name, value):
            if getattr(c, name) is None:
                setattr(c, name, value)

        default("latent_dim", 100 if images else 8)
        default("hidden", 128)
        default("width", 32)
        default("batch_size", 64 if images else 256)
        chosen = variant.defaults(c.net)
        if c.conditional:
            chosen.update(variant.conditional_defaults(c.net))
        class_scaling = chosen.get("class_scaling", False) if c.class_scaling is None \
            else c.class_scaling
        if c.clusters or class_scaling:
            chosen.update(variant.scaled_defaults(c.net))
        if c.epochs is not None:
            chosen.pop("steps", None)  # the user's epochs decide the budget
        for name, value in chosen.items():
            default(name, value)
        default("label_input", "embedding")
        default("class_scaling", False)
        default("ema", 0.0)            # off, recorded as 0 so that resolving again keeps it off
        default("lr_decay", "linear" if c.net == "mlp" else "none")
        c.betas_g = tuple(float(b) for b in c.betas_g)
        c.betas_d = tuple(float(b) for b in c.betas_d)
        if c.log_every is not None and int(c.log_every) < 1:
            raise GankitError(f"log-every must be at least 1, got {c.log_every}")
        for name in ("latent_dim", "hidden", "depth", "width", "batch_size", "n_critic", "pac",
                     "keep_checkpoints"):
            if int(getattr(c, name)) < 1:
                raise GankitError(f"{name.replace('_', '-')} must be at least 1, got {getattr(c, name)}")
        for name in ("lr_g", "lr_d"):
            if not getattr(c, name) > 0:
                raise GankitError(f"{name.replace('_', '-')} must be positive, got {getattr(c, name)}")
        if c.lr_decay not in ("none", "linear"):
            raise GankitError(f"unknown lr-decay {c.lr_decay!r}; choose none or linear")
        _check_recipe_settings(c)
        variant.check(c)
        check_options(c, variant)
        if c.steps is not None and (int(c.steps) != c.steps or c.steps < 1):
            raise GankitError(f"steps must be a whole number of generator steps, at least 1; got "
                              f"{c.steps} (0 would train nothing)")
        if c.epochs is not None and not c.epochs > 0:
            raise GankitError(f"epochs must be positive, got {c.epochs} (0 would train nothing)")
        if not 0.0 < c.held_out < 1.0:
            raise GankitError(f"held-out must be in (0, 1), got {c.held_out}")
        check_device(c.device)
        return c

    def log_interval(self, total: int) -> int:
        """Steps between logged losses: log_every, or about 100 points per run (at most every 50
        steps, so short runs still draw a curve and long ones stay small)."""
        return int(self.log_every) if self.log_every else max(1, min(50, int(total) // 100))

    def total_steps(self, n_data: int) -> int:
        if self.steps is not None:
            return int(self.steps)
        if self.epochs is not None:
            critic_batches = self.epochs * n_data / self.batch_size
            return max(1, int(round(critic_batches / self.n_critic)))
        if self.net == "conv":
            return self.variant().image_steps
        return DEFAULT_STEPS

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("betas_g", "betas_d"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise GankitError(f"unknown setting(s) {unknown}; known settings are {sorted(known)}")
        values = dict(values)
        for key in ("betas_g", "betas_d"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


def _check_recipe_settings(c: TrainConfig) -> None:
    """The settings of the conditional points recipe: generator EMA and one-hot labels."""
    if isinstance(c.ema, bool) or not isinstance(c.ema, (int, float)) or not 0 <= c.ema < 1:
        raise GankitError(f"ema is the decay of the generator's moving average, in [0, 1) "
                          f"(0: off; e.g. 0.99), got {c.ema!r}")
    c.ema = float(c.ema)
    if c.label_input not in LABEL_INPUTS:
        raise GankitError(f"unknown label-input {c.label_input!r}; choose embedding or onehot")
    if c.label_input == "onehot":
        if not (c.conditional or c.clusters):
            raise GankitError("--label-input onehot says how labels enter the networks; this run "
                              "is unconditional: add --conditional (or --clusters) or drop "
                              "--label-input")
        if c.net != "mlp":
            raise GankitError(f"--label-input onehot is for the MLP networks (points); the {c.net} "
                              "networks embed labels: drop --label-input")


def check_device(device: str) -> None:
    """Refuse a device torch does not know, or one this machine does not have."""
    import torch
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise GankitError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise GankitError(f"device {device!r} asked for, but this machine has no CUDA GPU "
                              "(or this torch build has no CUDA); use --device cpu")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise GankitError(f"device {device!r} does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif parsed.type not in ("cpu", "mps"):
        raise GankitError(f"device {device!r} is not supported; use cpu or cuda")


def seed_from(random_state) -> int:
    """A run seed from scikit-learn's `random_state`: None (fresh entropy), a non-negative int,
    or a numpy RandomState (one draw from it)."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**31))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise GankitError(f"random_state must be a non-negative int or None, got {random_state}")
        return int(random_state) % (2**31)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise GankitError(f"random_state must be an int, a numpy RandomState or None; got "
                      f"{type(random_state).__name__}")


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Settings from a YAML (or JSON) file: either flat, or the `train:` section of a run's config."""
    path = Path(path)
    if not path.exists():
        raise GankitError(f"config file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "a syntax error"
        raise GankitError(f"config file {path} is not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GankitError(f"cannot read config file {path}: {exc}") from None
    if not isinstance(values, dict):
        raise GankitError(f"config file {path} must hold a mapping of settings")
    if "train" in values and isinstance(values["train"], dict):
        values = values["train"]
    return {k.replace("-", "_"): v for k, v in values.items()}


def dump_yaml(values: dict[str, Any]) -> str:
    # JSON round trip turns tuples and numpy scalars into plain YAML-safe values
    return yaml.safe_dump(json.loads(json.dumps(values, default=str)), sort_keys=False)
