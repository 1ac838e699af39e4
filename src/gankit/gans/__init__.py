"""GAN variants, one module each, behind one protocol (`base.Variant`) and one registry.

    gankit.gans.registry.VARIANTS          --model name -> variant class
    gankit.gans.registry.variant_for(c)     the variant (with its settings) training config c
    gankit.gans.wgan_gp.gradient_penalty    the one gradient penalty

See docs/variants.md for how to add a variant.
"""
from .base import ExperimentRow, LossContext, Variant, mean_all, mean_per_member
from .registry import VARIANTS, experiment_rows, model_names, variant_class, variant_for

__all__ = ["ExperimentRow", "LossContext", "Variant", "VARIANTS", "experiment_rows", "mean_all",
           "mean_per_member", "model_names", "variant_class", "variant_for"]
