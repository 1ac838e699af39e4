"""The remedies that are options of a variant, not variants: PacGAN packing and minibatch
discrimination (`--remedy`), Unrolled GAN's look-ahead (`--unroll`), several generators
(`--generators`, which makes the vanilla GAN MAD-GAN), cluster conditioning (`--clusters`)
and class scaling (`--class-scaling`, both `gankit.nets.clusters`), spectral normalisation
(`--spectral-norm`) and a discriminator narrower than the generator (`--d-width`, the Stacked
MNIST collapse protocol). Each is checked here against what the chosen variant and network
family can take; the networks that implement them are in `gankit.nets` and the look-ahead in
`gankit.training.unrolled`.
"""
from __future__ import annotations

from ..errors import GankitError

REMEDIES = (None, "minibatch", "pac")
UNROLL_ORDERS = ("second", "first")


def check_options(config, variant) -> None:
    """Refuse option settings, and combinations with `variant`, that cannot train."""
    if config.remedy not in REMEDIES:
        raise GankitError(f"unknown remedy {config.remedy!r}; choose minibatch or pac")
    if config.remedy is not None:
        if not variant.scores_samples:
            raise GankitError(f"remedy {config.remedy!r} modifies a scoring discriminator; "
                              f"{config.model}'s discriminator is an autoencoder: drop --remedy")
        if config.net == "conv" and config.remedy != "pac":
            raise GankitError(f"remedy {config.remedy!r} is available for the MLP networks only; "
                              "the conv networks take --remedy pac")
    if config.remedy == "pac" and config.batch_size % config.pac:
        raise GankitError(f"batch size {config.batch_size} is not a multiple of pac={config.pac}")
    _check_d_width(config, variant)
    if int(config.unroll) != config.unroll or config.unroll < 0:
        raise GankitError(f"--unroll is a number of look-ahead discriminator steps, 0 or more "
                          f"(0 trains without look-ahead; Metz et al. use 5-10), got {config.unroll}")
    if config.unroll_order not in UNROLL_ORDERS:
        raise GankitError(f"unknown unroll order {config.unroll_order!r}; choose second (through "
                          "the look-ahead steps) or first (cheaper, no second derivatives)")
    if config.unroll:
        if not variant.unrollable:
            raise GankitError(f"--unroll works with a single scoring discriminator (e.g. --model "
                              f"gan or wgan-gp), not {variant.label}")
        if config.net not in ("mlp", "tabular"):
            raise GankitError("--unroll is available for the MLP networks (points and tables)")
        if config.spectral_norm:
            raise GankitError("--unroll cannot look ahead through spectral normalisation's "
                              "power iteration; drop --spectral-norm or --unroll")
    if int(config.generators) != config.generators or config.generators < 1:
        raise GankitError(f"--generators is the number of generators, at least 1 (1 is an ordinary "
                          f"GAN; MAD-GAN uses several), got {config.generators}")
    if config.generators > 1 and not getattr(variant, "several_generators", False):
        raise GankitError(f"--generators {config.generators} (MAD-GAN) needs --model gan: its "
                          f"discriminator classifies real vs each generator; got {config.model}")
    _check_clusters(config)
    _check_class_scaling(config)
    if config.spectral_norm and not variant.scores_samples:
        raise GankitError(f"--spectral-norm normalises a scoring discriminator; {config.model}'s "
                          "discriminator is an autoencoder: drop --spectral-norm")


def _check_d_width(config, variant) -> None:
    if config.d_width is None:
        return
    if isinstance(config.d_width, bool) or int(config.d_width) != config.d_width \
            or config.d_width < 1:
        raise GankitError(f"d-width is the conv discriminator's base width, a whole number >= 1; "
                          f"got {config.d_width}")
    if config.net != "conv":
        raise GankitError("--d-width sets the conv discriminator's width; the MLP and tabular "
                          "networks take --hidden: drop --d-width")
    if not variant.scores_samples:
        raise GankitError(f"--d-width sets the scoring conv discriminator's width; {config.model}'s "
                          "discriminator is an autoencoder sized by --width: drop --d-width")


def _check_clusters(config) -> None:
    from ..nets.clusters import check_clusters
    check_clusters(config.clusters)
    if not config.clusters:
        return
    if config.conditional:
        raise GankitError("--clusters conditions the networks on clusters of the data in place of "
                          "labels; with --conditional the labels are the classes: drop one of them")
    if config.net != "mlp":
        raise GankitError(f"--clusters is for points (the MLP networks); the {config.net} networks "
                          "cannot take it: drop --clusters")


def _check_class_scaling(config) -> None:
    if not config.class_scaling:
        return
    if not config.conditional:
        raise GankitError("--class-scaling standardises each class of a conditional run; this run "
                          "is unconditional: add --conditional (or use --clusters K, which finds "
                          "the classes) or drop --class-scaling")
    if config.net != "mlp":
        raise GankitError(f"--class-scaling is for points (the MLP networks); the {config.net} "
                          "networks cannot take it: drop --class-scaling")
