"""From settings and data shape to networks: the one place that picks a family.

`GANModule` holds the generator, the discriminator, the data scaling (with `--clusters`, the
clusters the networks are conditioned on; with `--class-scaling`, each class's own scale:
`gankit.nets.clusters`) and, with `--ema`, the moving average of the generator's weights that
samples are drawn from; it is what checkpoints store.
It converts between data units and the networks' units (`encode`, `decode`) and picks the
labels a generator is given (`generator_labels`). `DataSpec` is what networks need to know
about the data; it is saved in the run's config so that a model can be rebuilt without its data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .config import TrainConfig
from .errors import GankitError
from .nets.clusters import ClassScaling, ClusterCode
from .nets.layers import Standardizer


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
    def __init__(self, generator: nn.Module, discriminator: nn.Module, scaler: Standardizer | None,
                 generator_ema: nn.Module | None = None, clusters: ClusterCode | None = None,
                 class_scaling: ClassScaling | None = None):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.scaler = scaler
        # the networks are conditioned on these clusters; to its user the model is unconditional
        self.clusters = clusters
        self.class_scaling = class_scaling
        # the average of the generator's weights (gankit.training.ema); a submodule, so
        # checkpoints carry it and a resumed run continues the same average
        self.generator_ema = generator_ema

    @property
    def num_classes(self) -> int:
        """The classes a user samples by (0: unconditional, as a cluster-conditioned model is)."""
        return 0 if self.clusters is not None else self.generator.num_classes

    @torch.no_grad()
    def fit_scaling(self, x: torch.Tensor, y: torch.Tensor | None = None, seed: int = 0) -> None:
        """Fit the data scaling (and the clusters, or each class's scale) to the training data
        x, in data units, with its labels y."""
        if self.scaler is not None:
            self.scaler.fit(x)
            if self.clusters is not None:
                self.clusters.fit(self.scaler(x), seed)
            if self.class_scaling is not None:
                self.class_scaling.fit_classes(self.scaler(x), y)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None):
        """(x in the networks' units, the labels the networks take) of data-unit samples x with
        their class labels y (None when unconditional; cluster labels when clustered)."""
        if self.scaler is not None:
            x = self.scaler(x)
        if self.clusters is not None:
            x, y = self.clusters.encode(x)
        elif self.class_scaling is not None:
            x = self.class_scaling(x, y)
        return x, y

    def decode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generator output in data units; labels: those the generator was given."""
        own_scale = self.clusters if self.clusters is not None else self.class_scaling
        if own_scale is not None:
            x = own_scale.inverse(x, labels)
        return self.scaler.inverse(x) if self.scaler is not None else x

    def generator_labels(self, n: int, y, device, rng: torch.Generator | None = None):
        """The labels to generate n samples with: y as given, every class equally for conditional
        models, clusters by their share of the data for cluster-conditioned ones."""
        if self.clusters is None:
            return balanced_labels(n, self.num_classes, y, device)
        if y is not None:
            raise GankitError("this model is unconditional (its clusters are its own); it cannot "
                              "sample by label")
        return self.clusters.draw(n, rng).to(device)

    @property
    def sampler(self) -> nn.Module:
        """The generator samples are drawn from: the weight average when the run keeps one."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def generator_of(self, n: int) -> torch.Tensor | None:
        """Which generator makes each of n samples of `sample` (None with a single generator)."""
        from .nets.multi import MultiGenerator, generator_of_rows
        if not isinstance(self.generator, MultiGenerator):
            return None
        return generator_of_rows(n, self.generator.generators)

    @torch.no_grad()
    def sample(self, n: int, y=None, rng: torch.Generator | None = None, batch_size: int = 4096):
        """n samples in data units (eval mode, so BatchNorm uses its running statistics)."""
        generator = self.sampler
        device = next(generator.parameters()).device
        labels = self.generator_labels(n, y, device, rng)
        was_training = generator.training
        generator.eval()
        try:
            out = []
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                z = torch.randn(stop - start, generator.latent_dim, generator=rng,
                                device=device)
                rows = None if labels is None else labels[start:stop]
                out.append(self.decode(generator(z, rows), rows))
        finally:
            generator.train(was_training)
        return torch.cat(out), (labels if self.num_classes else None)


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
    """Networks for a resolved config and a data spec: the family's generator(s) and the
    variant's discriminator (generator first: both draw their initial weights from one stream)."""
    from .gans import variant_class
    from .nets import build

    if config.conditional and spec.num_classes < 2:
        raise GankitError("--conditional needs labels with at least two classes; this data has "
                          f"{spec.num_classes or 'no'} labels (give a label column or drop --conditional)")
    # a cluster-conditioned model's networks take its clusters as their classes
    classes = spec.num_classes if config.conditional else (config.clusters or 0)
    build.check_shape(config, spec)
    variant = variant_class(config)
    generator = variant.build_generators(config, lambda: build.generator(config, spec, classes))
    discriminator = variant.build_discriminator(config, spec, classes)
    scaler = Standardizer(spec.sample_shape[0]) if config.net == "mlp" else None
    clusters = ClusterCode(config.clusters, spec.sample_shape[0]) if config.clusters else None
    class_scaling = (ClassScaling(spec.num_classes, spec.sample_shape[0])
                     if config.class_scaling else None)
    average = None
    if config.ema:
        from .training.ema import average_of
        average = average_of(generator)
    return GANModule(generator, discriminator, scaler, average, clusters, class_scaling)


# the settings that decide what the networks are; with the data spec and fingerprint they say
# what a checkpoint belongs to
NETWORK_SETTINGS = ("model", "net", "conditional", "remedy", "pac", "minibatch_features",
                    "minibatch_kernel_dim", "generators", "latent_dim", "hidden", "depth", "width",
                    "d_width", "embed_dim", "code_dim", "spectral_norm", "label_input", "ema",
                    "clusters", "class_scaling")


def checkpoint_identity(config: TrainConfig, spec: DataSpec, data_fingerprint: str | None) -> dict:
    """What a checkpoint of this config, data spec and data belongs to (see
    gankit.training.checkpoint.check_identity)."""
    from . import __version__

    settings = config.to_dict()
    identity = {name: settings.get(name) for name in NETWORK_SETTINGS}
    identity.update({"spec": spec.to_dict(), "data_fingerprint": data_fingerprint,
                     "gankit_version": __version__})
    return identity
