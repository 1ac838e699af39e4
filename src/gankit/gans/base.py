"""What every GAN variant is: the protocol the loop, the ensembles and the experiments rely on.

A variant (one module in this package, one line in `gankit.gans.registry`) owns everything that
makes it that variant and nothing else:
- its defaults per network family (`defaults`, `conditional_defaults` for labelled runs and
  `scaled_defaults` for runs that learn each class or cluster at its own scale, `--clusters`
  and `--class-scaling`), the checks of its own settings (`check`);
- its discriminator (`build_discriminator`; the default is a scoring network: one logit per
  sample or pack) and, if it has several, its generators (`build_generators`);
- its losses (`discriminator_loss`, `generator_loss`) and its state between steps (`end_step`);
- what the mode-collapse experiment calls its rows (`experiment_rows`).

Losses are written once for both training paths: the one-model loop (`gankit.training.loop`)
and the vectorised ensembles (`gankit.training.ensemble`), which pass a `LossContext` whose
`reduce` averages per ensemble member instead of over everything and whose `penalty_weights`
draws from each member's own stream. A variant is built from a resolved config with
`from_config`, or directly with its settings (`WGANGP(gp_lambda=1.0)`), as tests do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from ..errors import GankitError


def mean_all(values: torch.Tensor) -> torch.Tensor:
    """The batch mean of a one-model loop: over every element."""
    return values.mean()


def mean_per_member(values: torch.Tensor) -> torch.Tensor:
    """The batch mean of a vectorised ensemble: over all but the leading member dimension."""
    return values.mean(dim=tuple(range(1, values.dim())))


@dataclass
class LossContext:
    """How the calling loop wants a loss computed.

    rng: the loop's random stream (penalty interpolates are drawn from it).
    shard: (rank, world_size) when `real` and `fake` are this rank's slice of a global batch.
    penalty_critic: the network to differentiate twice when the scoring critic cannot be (a
      torch.compile'd one).
    reduce: the batch mean (`mean_all`, or `mean_per_member` in ensembles).
    penalty_weights: draws the interpolation weights for a batch like `real` (ensembles: one
      stream per member); None draws them from `rng`.
    """
    rng: torch.Generator | None = None
    shard: tuple[int, int] | None = None
    penalty_critic: Callable | None = None
    reduce: Callable[[torch.Tensor], torch.Tensor] = mean_all
    penalty_weights: Callable[[torch.Tensor], torch.Tensor] | None = None


@dataclass(frozen=True)
class ExperimentRow:
    """A row of the mode-collapse experiment: its label, the TrainConfig settings that make it
    (beyond the variant's own `model`), the settings it owns (given to the experiment, they
    change this row and no other) and its budget in generator steps when the experiment is
    given none (None: the experiment's)."""
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    owns: tuple[str, ...] = ()
    steps: int | None = None


class Variant:
    """Base of the GAN variants. Subclasses set the class attributes and the losses."""

    name: ClassVar[str]                       # the --model value
    label: ClassVar[str]                      # how tables and reports name it
    model: ClassVar[str | None] = None        # the --model value it is trained as (default: name)
    nets: ClassVar[tuple[str, ...]] = ("mlp", "conv", "tabular")   # network families it trains
    scores_samples: ClassVar[bool] = True     # a scoring D: PacGAN and minibatch features apply
    vectorisable: ClassVar[bool] = True       # the ensembles can train it (MLP networks)
    unrollable: ClassVar[bool] = True         # Unrolled GAN's look-ahead applies
    critic_passes: ClassVar[int] = 2          # discriminator forward passes per critic step
    conv_norm: ClassVar[str] = "batch"        # normalisation of its convolutional discriminator
    image_steps: ClassVar[int] = 1000         # default budget on images (CPU-sized)
    own_settings: ClassVar[tuple[str, ...]] = ()   # TrainConfig fields only this variant reads

    # ---------------------------------------------------------------- settings
    @classmethod
    def for_config(cls, config) -> type["Variant"]:
        """The variant that trains `config` (a variant may hand over to a specialisation)."""
        return cls

    @classmethod
    def defaults(cls, net: str) -> dict[str, Any]:
        """Values for the settings the user left as None, for network family `net`."""
        return {}

    @classmethod
    def conditional_defaults(cls, net: str) -> dict[str, Any]:
        """Values that replace `defaults(net)`'s, and fill further settings, when the run is
        conditional (e.g. a recipe measured for labelled points)."""
        return {}

    @classmethod
    def scaled_defaults(cls, net: str) -> dict[str, Any]:
        """Values that replace those for runs that learn each class or k-means cluster at its
        own scale (`--class-scaling`, `--clusters`; the networks are conditional either way:
        `gankit.nets.clusters`). By default the conditional ones, less whether to scale each
        class (a clustered run is unconditional to its user)."""
        return {k: v for k, v in cls.conditional_defaults(net).items() if k != "class_scaling"}

    @classmethod
    def check(cls, config) -> None:
        """Refuse settings this variant cannot train, with the fix. The default builds the
        variant from the config: its constructor checks its own settings."""
        cls.from_config(config)

    @classmethod
    def from_config(cls, config) -> "Variant":
        return cls()

    @classmethod
    def ensemble_settings(cls, config) -> tuple:
        """The settings of its losses that members of one vectorised ensemble must share."""
        return ()

    @classmethod
    def experiment_rows(cls) -> dict[str, ExperimentRow]:
        return {}

    # ---------------------------------------------------------------- networks
    @classmethod
    def build_generators(cls, config, make: Callable[[], nn.Module]) -> nn.Module:
        """Its generator(s), from a maker of one generator."""
        return make()

    @classmethod
    def build_discriminator(cls, config, spec, classes: int) -> nn.Module:
        from ..nets.build import scoring_discriminator
        return scoring_discriminator(config, spec, classes, norm=cls.conv_norm)

    # ---------------------------------------------------------------- losses
    def discriminator_loss(self, critic, real, fake, y_real=None, y_fake=None,
                           ctx: LossContext | None = None) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def generator_loss(self, critic, fake, y=None,
                       ctx: LossContext | None = None) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def end_step(self, discriminator, logs: dict, average=None) -> dict:
        """State kept between steps, updated after each generator step; returns extra logs."""
        return {}

    @staticmethod
    def realness(discriminator, x, labels=None) -> torch.Tensor:
        """One score per sample, higher for what the discriminator takes as real (for
        discriminator-driven sampling, `gankit.refine`, which calibrates it)."""
        from ..refine import default_realness
        return default_realness(discriminator, x, labels)


def context(ctx: LossContext | None) -> LossContext:
    return ctx if ctx is not None else LossContext()


def check_range(value, name: str, low: float, high: float | None, hint: str, *,
                low_open: bool = False) -> None:
    """One message shape for a setting outside its range."""
    ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bounds = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}" + \
                 ("]" if high is not None else ")")
        raise GankitError(f"{name} must be in {bounds}, got {value} ({hint})")
