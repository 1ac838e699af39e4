"""From settings and data shape to networks: the one place that picks a family.

`GANModule` holds the generator, the discriminator and the data scaling, and is what
checkpoints store. `DataSpec` is what networks need to know about the data; it is saved in
the run's config so that a model can be rebuilt without its data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .config import AUTOENCODER_MODELS, TrainConfig
from .errors import GankitError
from .nets.layers import Standardizer
from .nets.mlp import MLPDiscriminator, MLPGenerator


@dataclass
class DataSpec:
    kind: str
    sample_shape: tuple[int, ...]
    num_classes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. a table's output spans

    def to_dict(self):
        d = asdict(self)
        d["sample_shape"] = list(self.sample_shape)
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(kind=d["kind"], sample_shape=tuple(d["sample_shape"]),
                   num_classes=int(d.get("num_classes", 0)), extra=dict(d.get("extra", {})))

    @classmethod
    def of(cls, dataset, **extra):
        return cls(dataset.kind, dataset.sample_shape, dataset.num_classes, extra)


class GANModule(nn.Module):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, scaler: Standardizer | None):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.scaler = scaler

    @property
    def num_classes(self) -> int:
        return self.generator.num_classes

    def generator_of(self, n: int) -> torch.Tensor | None:
        """Which generator makes each of n samples of `sample` (None with a single generator)."""
        from .nets.multi import MultiGenerator, generator_of_rows
        if not isinstance(self.generator, MultiGenerator):
            return None
        return generator_of_rows(n, self.generator.generators)

    @torch.no_grad()
    def sample(self, n: int, y=None, rng: torch.Generator | None = None, batch_size: int = 4096):
        """n samples in data units (eval mode, so BatchNorm uses its running statistics)."""
        device = next(self.generator.parameters()).device
        labels = balanced_labels(n, self.num_classes, y, device)
        was_training = self.generator.training
        self.generator.eval()
        try:
            out = []
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                z = torch.randn(stop - start, self.generator.latent_dim, generator=rng,
                                device=device)
                x = self.generator(z, None if labels is None else labels[start:stop])
                out.append(self.scaler.inverse(x) if self.scaler is not None else x)
        finally:
            self.generator.train(was_training)
        return torch.cat(out), labels


def balanced_labels(n: int, num_classes: int, y, device) -> torch.Tensor | None:
    """The labels to sample with: those given, or every class equally for conditional models."""
    if num_classes == 0:
        if y is not None:
            raise GankitError("this model is unconditional; it cannot sample by label")
        return None
    if y is None:
        return torch.arange(n, device=device) % num_classes
    y = torch.as_tensor(y, device=device).long().reshape(-1)
    if y.numel() == 1:
        y = y.expand(n).clone()
    if y.numel() != n:
        raise GankitError(f"got {y.numel()} labels for {n} samples")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise GankitError(f"label {int(y.max()) if int(y.max()) >= num_classes else int(y.min())} "
                          f"is outside the model's classes 0..{num_classes - 1}")
    return y


def build_gan(config: TrainConfig, spec: DataSpec) -> GANModule:
    """Networks for a resolved config and a data spec."""
    classes = spec.num_classes if config.conditional else 0
    if config.conditional and spec.num_classes < 2:
        raise GankitError("--conditional needs labels with at least two classes; this data has "
                          f"{spec.num_classes or 'no'} labels (give a label column or drop --conditional)")
    pac = config.pac if config.remedy == "pac" else 1
    minibatch = config.minibatch_features if config.remedy == "minibatch" else 0
    if config.net == "mlp":
        if len(spec.sample_shape) != 1:
            raise GankitError(f"the MLP networks take flat samples; this data has shape "
                              f"{spec.sample_shape} (use --net conv for images)")
        features = spec.sample_shape[0]
        generator = _generators(config, lambda: MLPGenerator(
            config.latent_dim, features, config.hidden, config.depth, classes, config.embed_dim))
        discriminator = _mlp_discriminator(config, features, config.depth, classes, pac, minibatch)
        return GANModule(generator, discriminator, Standardizer(features))
    if config.net == "conv":
        if len(spec.sample_shape) != 3:
            raise GankitError(f"the conv networks take images (C, H, W); this data has shape "
                              f"{spec.sample_shape}")
        if remedy_blocked := config.remedy:
            raise GankitError(f"remedy {remedy_blocked!r} is available for the MLP networks only")
        from .nets.conv import ConvAutoencoderDiscriminator, build_conv_discriminator, build_conv_generator
        channels, size, _ = spec.sample_shape
        kind = "wgan-gp" if config.model == "wgan-gp" else "dcgan"
        if size not in (32, 64) or spec.sample_shape[2] != size:
            raise GankitError(f"the conv networks take 32x32 or 64x64 images; these are "
                              f"{size}x{spec.sample_shape[2]} (pass --image-size 32 or 64)")
        # label embeddings (generator; concat critic): the embed_dim setting, default K wide
        generator = build_conv_generator(image_size=size, channels=channels,
                                         latent_dim=config.latent_dim, num_classes=classes,
                                         width=config.width, embed_dim=config.embed_dim)
        if config.model in AUTOENCODER_MODELS:
            # BEGAN's code size h = 64 (Berthelot et al. 2017)
            discriminator = ConvAutoencoderDiscriminator(
                size, channels, classes, config.width, code_dim=config.code_dim or 64,
                energy="l2" if config.model == "ebgan" else "l1", embed_dim=config.embed_dim)
        else:
            discriminator = build_conv_discriminator(image_size=size, channels=channels,
                                                     num_classes=classes, width=config.width,
                                                     kind=kind, embed_dim=config.embed_dim)
        return GANModule(generator, discriminator, None)
    if config.net == "tabular":
        from .nets.tabular import build_tabular_generator
        spans = spec.extra.get("output_info")
        if spans is None:
            raise GankitError("tabular networks need the table encoder's output layout")
        features = spec.sample_shape[0]
        generator = _generators(config, lambda: build_tabular_generator(
            config.latent_dim, spans, num_classes=classes, hidden=(config.hidden, config.hidden)))
        discriminator = _mlp_discriminator(config, features, 2, classes, pac, minibatch)
        return GANModule(generator, discriminator, None)
    raise GankitError(f"unknown network {config.net!r}")


def _generators(config: TrainConfig, make) -> nn.Module:
    """One generator, or config.generators of them behind one interface (MAD-GAN)."""
    if config.generators == 1:
        return make()
    from .nets.multi import MultiGenerator
    return MultiGenerator([make() for _ in range(config.generators)])


def _mlp_discriminator(config: TrainConfig, features: int, depth: int, classes: int, pac: int,
                       minibatch: int) -> nn.Module:
    if config.model in AUTOENCODER_MODELS:
        from .nets.mlp import MLPAutoencoderDiscriminator
        # a bottleneck narrower than the data: an autoencoder that can reconstruct everything
        # gives no energy gap between real and fake (2-D points: a 1-D code); the pull-away
        # term compares code directions, which a 1-D code cannot have
        code_dim = config.code_dim or max(2 if config.pull_away else 1, features // 2)
        return MLPAutoencoderDiscriminator(features, config.hidden, depth, code_dim,
                                           classes, config.embed_dim,
                                           energy="l2" if config.model == "ebgan" else "l1")
    # MAD-GAN's discriminator scores N generators and "real": N + 1 logits
    outputs = config.generators + 1 if config.generators > 1 else 1
    return MLPDiscriminator(features, config.hidden, depth, classes, config.embed_dim, pac=pac,
                            minibatch_features=minibatch,
                            minibatch_kernel_dim=config.minibatch_kernel_dim, outputs=outputs)


# the settings that decide what the networks are; with the data spec and fingerprint they say
# what a checkpoint belongs to
NETWORK_SETTINGS = ("model", "net", "conditional", "remedy", "pac", "minibatch_features",
                    "minibatch_kernel_dim", "generators", "latent_dim", "hidden", "depth", "width",
                    "embed_dim", "code_dim")


def checkpoint_identity(config: TrainConfig, spec: DataSpec, data_fingerprint: str | None) -> dict:
    """What a checkpoint of this config, data spec and data belongs to (see
    gankit.training.checkpoint.check_identity)."""
    from . import __version__

    settings = config.to_dict()
    identity = {name: settings.get(name) for name in NETWORK_SETTINGS}
    identity.update({"spec": spec.to_dict(), "data_fingerprint": data_fingerprint,
                     "gankit_version": __version__})
    return identity
