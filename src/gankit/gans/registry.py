"""The GAN variants gankit trains, by name: the one place that lists them.

`--model NAME` picks `VARIANTS[NAME]`; `variant_for(config)` is the variant that trains a
config (the vanilla GAN with several generators is MAD-GAN). The mode-collapse experiment's rows
come from `experiment_rows()`. Adding a variant is one module in this package and one line
below (docs/variants.md).
"""
from __future__ import annotations

from ..errors import GankitError
from .base import ExperimentRow, Variant
from .began import BEGAN
from .bce import DCGAN, VanillaGAN
from .ebgan import EBGAN
from .hinge import Hinge
from .lsgan import LSGAN
from .mad_gan import MADGAN
from .wgan_gp import WGANGP

VARIANTS: dict[str, type[Variant]] = {}
# variants reached through another's settings rather than by --model (MAD-GAN: --generators)
SPECIALISATIONS: list[type[Variant]] = []


def register(variant: type[Variant], *, by_name: bool = True) -> type[Variant]:
    if by_name:
        VARIANTS[variant.name] = variant
    else:
        SPECIALISATIONS.append(variant)
    return variant


register(VanillaGAN)
register(DCGAN)
register(MADGAN, by_name=False)
register(WGANGP)
register(EBGAN)
register(BEGAN)
register(LSGAN)
register(Hinge)


def model_names() -> tuple[str, ...]:
    return tuple(VARIANTS)


def variant_class(config) -> type[Variant]:
    """The variant class that trains `config` (settings checked later, by `check`)."""
    try:
        chosen = VARIANTS[config.model]
    except KeyError:
        raise GankitError(f"unknown model {config.model!r}; choose one of "
                          f"{', '.join(VARIANTS)}") from None
    return chosen.for_config(config)


def variant_for(config) -> Variant:
    """The variant, with its settings, that trains a resolved config."""
    return variant_class(config).from_config(config)


def experiment_rows() -> dict[str, tuple[type[Variant], ExperimentRow]]:
    """Every row the mode-collapse experiment can train: name -> (variant, row)."""
    rows = {}
    for variant in (*VARIANTS.values(), *SPECIALISATIONS):
        for name, row in variant.experiment_rows().items():
            rows[name] = (variant, row)
    return rows
