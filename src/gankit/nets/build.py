"""Networks for a resolved config and a data spec: the generator of each network family and the
scoring discriminator (one logit per sample, or per pack), with spectral normalisation on
request; which settings shape them (`width`, `d_width`, `hidden`, `pac`, ...). Which
discriminator a variant uses is the variant's choice (`gankit.gans`); the families' own layers
live beside this module (mlp.py, conv.py, tabular.py).
"""
from __future__ import annotations

from torch import nn

from ..errors import GankitError


def check_shape(config, spec) -> None:
    """The data must be the shape the network family takes."""
    shape = tuple(spec.sample_shape)
    if config.net in ("mlp", "tabular") and len(shape) != 1:
        raise GankitError(f"the MLP networks take flat samples; this data has shape {shape} "
                          "(use --net conv for images)")
    if config.net == "conv":
        if len(shape) != 3:
            raise GankitError(f"the conv networks take images (C, H, W); this data has shape {shape}")
        if shape[1] not in (32, 64) or shape[2] != shape[1]:
            raise GankitError(f"the conv networks take 32x32 or 64x64 images; these are "
                              f"{shape[1]}x{shape[2]} (pass --image-size 32 or 64)")
    if config.net == "tabular" and spec.extra.get("output_info") is None:
        raise GankitError("tabular networks need the table encoder's output layout")
    if config.net not in ("mlp", "conv", "tabular"):
        raise GankitError(f"unknown network {config.net!r}")


def generator(config, spec, classes: int) -> nn.Module:
    """One generator of the config's network family."""
    if config.net == "mlp":
        from .mlp import MLPGenerator
        return MLPGenerator(config.latent_dim, spec.sample_shape[0], config.hidden, config.depth,
                            classes, config.embed_dim, onehot=onehot_labels(config))
    if config.net == "conv":
        from .conv import build_conv_generator
        channels, size, _ = spec.sample_shape
        # label embeddings (generator; concat critic): the embed_dim setting, default K wide
        return build_conv_generator(image_size=size, channels=channels, latent_dim=config.latent_dim,
                                    num_classes=classes, width=config.width,
                                    embed_dim=config.embed_dim)
    from .tabular import build_tabular_generator
    return build_tabular_generator(config.latent_dim, spec.extra["output_info"], num_classes=classes,
                                   hidden=(config.hidden, config.hidden))


def scoring_discriminator(config, spec, classes: int, norm: str = "batch",
                          outputs: int = 1) -> nn.Module:
    """The discriminator that scores samples: an MLP (with PacGAN packing and minibatch features
    when the config asks) or the DCGAN convolutional one (with PacGAN packing when asked) with
    normalisation `norm` and base width `d_width` (default `width`, the generator's); `outputs`
    logits per sample or pack (MLP). Spectral normalisation wraps its weights when asked."""
    pac = config.pac if config.remedy == "pac" else 1
    if config.net == "conv":
        from .conv import build_conv_discriminator
        channels, size, _ = spec.sample_shape
        # a narrower discriminator than generator makes collapse visible (VEEGAN's and PacGAN's
        # Stacked MNIST protocols use a quarter of the generator's width)
        width = config.d_width if config.d_width is not None else config.width
        network = build_conv_discriminator(image_size=size, channels=channels, num_classes=classes,
                                           width=width, norm=norm, embed_dim=config.embed_dim,
                                           pac=pac)
    else:
        from .mlp import MLPDiscriminator
        minibatch = config.minibatch_features if config.remedy == "minibatch" else 0
        depth = config.depth if config.net == "mlp" else 2
        network = MLPDiscriminator(spec.sample_shape[0], config.hidden, depth, classes,
                                   config.embed_dim, pac=pac, minibatch_features=minibatch,
                                   minibatch_kernel_dim=config.minibatch_kernel_dim, outputs=outputs,
                                   onehot=onehot_labels(config))
    if config.spectral_norm:
        apply_spectral_norm(network)
    return network


def onehot_labels(config) -> bool:
    """Whether labels enter the MLP networks one-hot (config.resolve allows it on them only)."""
    return config.label_input == "onehot"


def apply_spectral_norm(network: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every linear and convolutional weight
    except label embeddings: one power iteration per forward pass in training mode."""
    from torch.nn.utils.parametrizations import spectral_norm
    for module in list(network.modules()):
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            spectral_norm(module)
    return network
