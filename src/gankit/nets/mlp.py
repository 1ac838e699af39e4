"""Multilayer-perceptron generator and discriminator for points and feature vectors.

Both follow the one interface the training loop relies on: `generator(z, y=None) -> x` with
`latent_dim`, `num_classes`, `sample_shape`; `discriminator(x, y=None) -> scores (B/pac, 1)`.
Conditioning concatenates a label embedding to the input, as in the reference material, or a
one-hot label (onehot=True, `--label-input onehot`).
`MLPAutoencoderDiscriminator` is the energy-based discriminator of EBGAN and BEGAN: its score is
a reconstruction error, (B, 1) like the others.
"""
from __future__ import annotations

from torch import nn

from .layers import AutoencoderEnergy, LabelConcat, MinibatchDiscrimination, pack

ACTIVATIONS = {"relu": lambda: nn.ReLU(), "leaky_relu": lambda: nn.LeakyReLU(0.2),
               "tanh": lambda: nn.Tanh()}


def _hidden_stack(in_features: int, hidden: int, depth: int, activation: str) -> nn.Sequential:
    layers, width = [], in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), ACTIVATIONS[activation]()]
        width = hidden
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, out_features: int, hidden: int = 128, depth: int = 3,
                 num_classes: int = 0, embed_dim: int | None = None, activation: str = "relu",
                 output: str = "linear", onehot: bool = False):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.sample_shape = (out_features,)
        self.condition = LabelConcat(num_classes, embed_dim, onehot) if num_classes else None
        in_features = latent_dim + (self.condition.embed_dim if num_classes else 0)
        self.body = _hidden_stack(in_features, hidden, depth, activation)
        self.head = nn.Linear(hidden, out_features)
        self.output = nn.Tanh() if output == "tanh" else nn.Identity()

    def forward(self, z, y=None):
        if self.condition is not None:
            z = self.condition(z, y)
        return self.output(self.head(self.body(z)))


class MLPDiscriminator(nn.Module):
    def __init__(self, in_features: int, hidden: int = 128, depth: int = 3, num_classes: int = 0,
                 embed_dim: int | None = None, activation: str = "leaky_relu", pac: int = 1,
                 minibatch_features: int = 0, minibatch_kernel_dim: int = 8, outputs: int = 1,
                 onehot: bool = False):
        super().__init__()
        self.num_classes, self.pac = num_classes, pac
        self.condition = LabelConcat(num_classes, embed_dim, onehot) if num_classes else None
        width = in_features + (self.condition.embed_dim if num_classes else 0)
        self.body = _hidden_stack(width * pac, hidden, depth, activation)
        self.minibatch = (MinibatchDiscrimination(hidden, minibatch_features, minibatch_kernel_dim)
                          if minibatch_features else None)
        # outputs > 1: one logit per class of source (MAD-GAN: each generator, then real)
        self.head = nn.Linear(hidden + minibatch_features, outputs)

    def forward(self, x, y=None):
        if self.condition is not None:
            x = self.condition(x, y)
        h = self.body(pack(x, self.pac))
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.head(h)


class MLPAutoencoderDiscriminator(AutoencoderEnergy):
    """An MLP autoencoder whose reconstruction error is the energy (EBGAN "l2", BEGAN "l1").

    Conditional models feed the label embedding to both encoder and decoder, so the energy is
    that of x given y.
    """

    def __init__(self, in_features: int, hidden: int = 128, depth: int = 3, code_dim: int = 32,
                 num_classes: int = 0, embed_dim: int | None = None, energy: str = "l2",
                 activation: str = "leaky_relu", onehot: bool = False):
        super().__init__(energy)
        self.num_classes = num_classes
        self.condition = LabelConcat(num_classes, embed_dim, onehot) if num_classes else None
        extra = self.condition.embed_dim if num_classes else 0
        encoder_depth = max(1, depth // 2 + depth % 2)
        self.encoder = nn.Sequential(_hidden_stack(in_features + extra, hidden, encoder_depth, activation),
                                     nn.Linear(hidden, code_dim))
        self.decoder = nn.Sequential(_hidden_stack(code_dim + extra, hidden, max(1, depth - encoder_depth),
                                                   activation), nn.Linear(hidden, in_features))

    def encode(self, x, y=None):
        return self.encoder(x if self.condition is None else self.condition(x, y))

    def decode(self, code, y=None):
        return self.decoder(code if self.condition is None else self.condition(code, y))
