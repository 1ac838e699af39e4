"""Training settings: one dataclass, its literature defaults, and its YAML form.

Fields left as None are filled by `resolve()` from the model and the data kind, so that a
config file or the CLI need only say what differs. The resolved config is what a run records.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import GankitError

MODELS = ("gan", "dcgan", "wgan-gp", "ebgan", "began")
AUTOENCODER_MODELS = ("ebgan", "began")   # an autoencoder discriminator: its energy is the score
UNROLL_ORDERS = ("second", "first")
NETS = ("auto", "mlp", "conv", "tabular")
REMEDIES = (None, "minibatch", "pac")
# Default generator steps for the conv nets, sized to the CPU (docs/images.md, docs/benchmarks.md):
# the conditional WGAN-GP (0.28 CPU s a step at width 32, batch 64, n_critic 2, one thread)
# passes 97% judged accuracy on digits after 350-450 steps (3 seeds); at 500 the whole default
# command took 146 CPU s and reached 97.5%. A DCGAN step (one D step, no penalty) costs 0.11 s.
IMAGE_STEPS = {"wgan-gp": 500, "dcgan": 1000}


@dataclass
class TrainConfig:
    # what to train
    data: str = "ring8"
    model: str = "wgan-gp"
    net: str = "auto"
    conditional: bool = False
    remedy: str | None = None
    pac: int = 4                      # PacGAN packing degree (Lin et al. 2018 use 2-4)
    minibatch_features: int = 16      # minibatch-discrimination kernels
    minibatch_kernel_dim: int = 8
    unroll: int = 0                   # Unrolled GAN (Metz et al. 2017): look-ahead discriminator steps
    unroll_order: str = "second"      # "second": differentiate through the look-ahead; "first": not
    generators: int = 1               # MAD-GAN (Ghosh et al. 2018): generators sharing one discriminator
    margin: float | None = None       # EBGAN: energy margin m for fakes
    pull_away: float = 0.0            # EBGAN-PT: weight of the pull-away term (paper: 0.1)
    gamma: float | None = None        # BEGAN: diversity ratio L(G(z)) / L(x) at equilibrium
    lambda_k: float | None = None     # BEGAN: learning rate of the equilibrium variable k_t
    code_dim: int | None = None       # EBGAN/BEGAN: autoencoder bottleneck; None: see models.build_gan
    # networks
    latent_dim: int | None = None     # 2-D/tables: 8 ; images: 100
    hidden: int | None = None         # MLP width (default 128)
    depth: int = 3                    # MLP hidden layers
    width: int | None = None          # conv base width
    embed_dim: int | None = None      # label embedding; None = number of classes
    # optimisation
    steps: int | None = None          # generator steps; default from epochs or a per-model budget
    epochs: float | None = None       # passes over the data (critic batches), if steps is None
    batch_size: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    betas_g: tuple[float, float] | None = None
    betas_d: tuple[float, float] | None = None
    n_critic: int | None = None
    gp_lambda: float | None = None    # 10 (Gulrajani et al.); 1 for standardised 2-D points
    lr_decay: str | None = None       # "linear" to 0 at the last step (Gulrajani et al., CIFAR-10) or "none"
    generator_loss: str = "non-saturating"
    label_smoothing: float = 1.0
    # data options
    label_column: str | None = None
    image_size: int = 32
    channels: int | None = None
    n_samples: int = 10_000           # points drawn for a built-in toy mixture
    held_out: float = 0.2             # share kept aside for evaluation (files); toy data: a fresh draw
    # bookkeeping
    seed: int = 0
    device: str = "cpu"
    log_every: int = 50
    sample_every: int | None = None   # snapshot cadence; None = about 20 snapshots per run
    checkpoint_every: int | None = None
    keep_checkpoints: int = 3
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self):
        # checked at once: the seed draws the data split before anything else is resolved
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or not 0 <= self.seed < 2**32:
            raise GankitError(f"seed must be a whole number in 0..{2**32 - 1}, got {self.seed!r}")

    def resolve(self, kind: str) -> "TrainConfig":
        """Fill the defaults that depend on model and data kind; check every setting."""
        c = dataclasses.replace(self)
        if c.model not in MODELS:
            raise GankitError(f"unknown model {c.model!r}; choose one of {', '.join(MODELS)}")
        if c.net not in NETS:
            raise GankitError(f"unknown network {c.net!r}; choose one of {', '.join(NETS)}")
        if c.remedy not in REMEDIES:
            raise GankitError(f"unknown remedy {c.remedy!r}; choose minibatch or pac")
        if c.net == "auto":
            c.net = {"images": "conv", "table": "tabular"}.get(kind, "mlp")
        if c.model == "dcgan" and c.net != "conv":
            raise GankitError("dcgan is the convolutional GAN for images; use --model gan for "
                              "points and tables")
        wgan = c.model == "wgan-gp"
        images = c.net == "conv"
        autoencoder = c.model in AUTOENCODER_MODELS

        def default(name, value):
            if getattr(c, name) is None:
                setattr(c, name, value)

        default("latent_dim", 100 if images else 8)
        default("hidden", 128)
        default("width", 32)
        default("batch_size", 64 if images else 256)
        points = c.net == "mlp"
        if wgan and points:
            # Measured on ring8/grid25 (docs/benchmarks.md): on standardised points a larger
            # step with linear decay, a softer penalty and 2 critic steps reach the modes' 3-std
            # discs far sooner than the image recipe below.
            default("lr_g", 1e-3)
            default("lr_d", 1e-3)
            default("n_critic", 2)
            default("gp_lambda", 1.0)
        if wgan and images:
            # Measured on digits 32x32 (docs/benchmarks.md): with a layer-norm critic and a
            # projection discriminator, Adam(5e-4, betas (0, 0.9)) and 2 critic steps reach 97%
            # conditional accuracy several times sooner on a CPU than the paper's recipe.
            default("lr_g", 5e-4)
            default("lr_d", 5e-4)
            default("betas_g", (0.0, 0.9))
            default("betas_d", (0.0, 0.9))
            default("n_critic", 2)
        if points and not wgan:
            # Measured on ring8 at 3000 steps (docs/benchmarks.md, "How the remedies' defaults
            # were chosen"): on
            # standardised points DCGAN's Adam 2e-4 is far too slow for a CPU budget. With 1e-3
            # (and the linear decay below) Unrolled GAN (K = 5, first order) reached 8/8 modes at
            # 83% high quality, against 56% with 2e-4.
            default("lr_g", 1e-3)
            default("lr_d", 1e-3)
        if images:
            # Measured on digits at the 1000-step DCGAN budget (docs/benchmarks.md, "How the
            # remedies' defaults were chosen"): with the paper's 0.5 / 0.001, k_t sank to 0 and the
            # generator settled on grey images (FID 2908); with 1.0 / 0.01, k_t ends near 0.2 and
            # the samples are digits (FID 708).
            default("gamma", 1.0)
            default("lambda_k", 0.01)
        default("gamma", 0.5)         # Berthelot et al. 2017
        default("lambda_k", 0.001)
        if autoencoder:
            if c.model == "ebgan":
                # energies are mean squared reconstruction errors of standardised features, about
                # 0.05-0.4 for real points once trained (ring8), so the margin sits above them and
                # below 1. Neither 0.5 nor 1 keeps EBGAN from collapsing on ring8 (seed 0: 0 and 1
                # modes, docs/benchmarks.md, "How the remedies' defaults were chosen"); the
                # pull-away term is what spreads it (EBGAN-PT, section "Remedies").
                default("margin", 0.5)
        if wgan:
            # Gulrajani et al. 2017: Adam(1e-4, betas (0.5, 0.9)), n_critic 5, lambda 10
            default("lr_g", 1e-4)
            default("lr_d", 1e-4)
            default("betas_g", (0.5, 0.9))
            default("betas_d", (0.5, 0.9))
            default("n_critic", 5)
            default("gp_lambda", 10.0)
        else:
            # Radford et al. 2016: Adam(2e-4, betas (0.5, 0.999)), one D step per G step
            default("lr_g", 2e-4)
            default("lr_d", 2e-4)
            default("betas_g", (0.5, 0.999))
            default("betas_d", (0.5, 0.999))
            default("n_critic", 1)
            default("gp_lambda", 10.0)
        default("lr_decay", "linear" if points else "none")
        c.betas_g = tuple(float(b) for b in c.betas_g)
        c.betas_d = tuple(float(b) for b in c.betas_d)
        for name in ("latent_dim", "hidden", "depth", "width", "batch_size", "n_critic", "pac",
                     "log_every", "keep_checkpoints"):
            if int(getattr(c, name)) < 1:
                raise GankitError(f"{name.replace('_', '-')} must be at least 1, got {getattr(c, name)}")
        for name in ("lr_g", "lr_d"):
            if not getattr(c, name) > 0:
                raise GankitError(f"{name.replace('_', '-')} must be positive, got {getattr(c, name)}")
        c._check_remedies()
        if c.lr_decay not in ("none", "linear"):
            raise GankitError(f"unknown lr-decay {c.lr_decay!r}; choose none or linear")
        if c.remedy == "pac" and c.batch_size % c.pac:
            raise GankitError(f"batch size {c.batch_size} is not a multiple of pac={c.pac}")
        if c.steps is not None and (int(c.steps) != c.steps or c.steps < 1):
            raise GankitError(f"steps must be a whole number of generator steps, at least 1; got "
                              f"{c.steps} (0 would train nothing)")
        if c.epochs is not None and not c.epochs > 0:
            raise GankitError(f"epochs must be positive, got {c.epochs} (0 would train nothing)")
        check_device(c.device)
        if not 0.0 < c.held_out < 1.0:
            raise GankitError(f"held-out must be in (0, 1), got {c.held_out}")
        return c

    def _check_remedies(self) -> None:
        """The look-ahead, multi-generator and autoencoder settings, and what they combine with."""
        if int(self.unroll) != self.unroll or self.unroll < 0:
            raise GankitError(f"--unroll is a number of look-ahead discriminator steps, 0 or more "
                              f"(0 trains without look-ahead; Metz et al. use 5-10), got {self.unroll}")
        if self.unroll_order not in UNROLL_ORDERS:
            raise GankitError(f"unknown unroll order {self.unroll_order!r}; choose second (through "
                              "the look-ahead steps) or first (cheaper, no second derivatives)")
        if self.unroll and self.model not in ("gan", "wgan-gp"):
            raise GankitError(f"--unroll works with --model gan or wgan-gp, not {self.model}")
        if self.unroll and self.net not in ("mlp", "tabular"):
            raise GankitError("--unroll is available for the MLP networks (points and tables)")
        if int(self.generators) != self.generators or self.generators < 1:
            raise GankitError(f"--generators is the number of generators, at least 1 (1 is an ordinary "
                              f"GAN; MAD-GAN uses several), got {self.generators}")
        if self.generators > 1:
            if self.model != "gan":
                raise GankitError(f"--generators {self.generators} (MAD-GAN) needs --model gan: its "
                                  f"discriminator classifies real vs each generator; got {self.model}")
            if self.net not in ("mlp", "tabular"):
                raise GankitError("--generators is available for the MLP networks (points and tables)")
            if self.remedy == "pac":
                raise GankitError("--generators cannot be combined with PacGAN packing: a pack would "
                                  "mix samples of different generators; drop --remedy pac")
            if self.label_smoothing != 1.0:
                raise GankitError("label smoothing is not defined for the multi-generator "
                                  "discriminator; leave it at 1")
        if self.model in AUTOENCODER_MODELS and self.remedy is not None:
            raise GankitError(f"remedy {self.remedy!r} modifies a scoring discriminator; {self.model}'s "
                              "discriminator is an autoencoder: drop --remedy")
        if self.margin is not None and not self.margin > 0:
            raise GankitError(f"the EBGAN margin must be positive, got {self.margin}")
        if not self.pull_away >= 0:
            raise GankitError(f"the pull-away weight must be >= 0 (EBGAN-PT uses 0.1), got {self.pull_away}")
        if not 0 < self.gamma <= 1:
            raise GankitError(f"BEGAN's gamma must be in (0, 1] (0.5 in the paper), got {self.gamma}")
        if not self.lambda_k >= 0:
            raise GankitError(f"BEGAN's lambda_k must be >= 0 (0.001 in the paper), got {self.lambda_k}")
        if self.code_dim is not None and int(self.code_dim) < 1:
            raise GankitError(f"code-dim must be at least 1, got {self.code_dim}")

    def total_steps(self, n_data: int) -> int:
        if self.steps is not None:
            return int(self.steps)
        if self.epochs is not None:
            critic_batches = self.epochs * n_data / self.batch_size
            return max(1, int(round(critic_batches / self.n_critic)))
        if self.net == "conv":
            return IMAGE_STEPS["wgan-gp" if self.model == "wgan-gp" else "dcgan"]
        return 8000

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
