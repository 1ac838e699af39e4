"""Convolutional GAN networks for 32x32 and 64x64 images: the DCGAN family.

Owns the DCGAN generator (transposed convolutions, BatchNorm, ReLU, tanh), the DCGAN
discriminator (strided convolutions, LeakyReLU 0.2, BatchNorm except on the first layer) and the
WGAN-GP critic (the same without BatchNorm), with PacGAN packing of images (Lin et al. 2018:
pac images stacked along the channel axis, judged as one), the convolutional autoencoder
discriminator of EBGAN and BEGAN, their DCGAN initialisation, and label conditioning (embedding
concatenated to z in the generator; broadcast as extra input channels, or a projection term, in
the discriminator/critic).

Every network here has the interface the training engine relies on:
generator `forward(z, y=None) -> x` of shape (B, *sample_shape) in [-1, 1], with attributes
`latent_dim`, `num_classes` (0 = unconditional) and `sample_shape`; discriminator/critic
`forward(x, y=None) -> scores` of shape (B/pac, 1) (raw logits/scores, no sigmoid: the losses
use the numerically stable `*_with_logits` forms; pac = 1 unless packing). Unconditional
networks ignore `y`, so the engine can pass labels uniformly. `config` holds the constructor
arguments, enough to rebuild the network from a run's saved config.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import GankitError
from .layers import AutoencoderEnergy, pack

IMAGE_SIZES = (32, 64)
CONDITIONINGS = ("concat", "projection")
# what a discriminator may normalise with; a critic trained with a per-sample gradient penalty
# must not use "batch" (its statistics couple the samples): the WGAN-GP variant asks for "layer"
NORMS = ("batch", "none", "layer", "instance")

# 32: as fast to 97% judged accuracy on digits as 16, better pictures, 3x cheaper than 64
# (docs/benchmarks.md, "Figures behind the defaults")
DEFAULT_WIDTH = 32
# Projection beat concat conditioning in matched runs (94.7% vs 88.7% judge accuracy after the
# same 300 s on digits) and is cheaper: no label channels at full resolution.
DEFAULT_CONDITIONING = "projection"
DEFAULT_LATENT_DIM = 100


def _check_common(image_size: int, channels: int, num_classes: int, width: int) -> None:
    if image_size not in IMAGE_SIZES:
        raise GankitError(
            f"convolutional networks support image sizes {IMAGE_SIZES}, got {image_size}; "
            "resize the images to 32 or 64 (--image-size 32)")
    if int(channels) < 1:
        raise GankitError(f"channels must be >= 1, got {channels}")
    if int(num_classes) < 0:
        raise GankitError(f"num_classes must be >= 0 (0 = unconditional), got {num_classes}")
    if int(width) < 1:
        raise GankitError(f"network width must be >= 1, got {width}")


def _n_upsamplings(image_size: int) -> int:
    # every DCGAN stage doubles the side, starting from a 4x4 map: 32 = 4 * 2**3
    return {32: 3, 64: 4}[image_size]


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al. 2016): conv/linear weights N(0, 0.02), norm scale
    N(1, 0.02), biases 0. Label embeddings keep PyTorch's N(0, 1): they are concatenated to
    z ~ N(0, 1), so the two inputs start at the same scale."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)):
            if getattr(m, "weight", None) is not None:
                nn.init.normal_(m.weight, 1.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def _labels(y, num_classes: int, batch: int, who: str) -> torch.Tensor:
    if y is None:
        raise GankitError(
            f"this {who} is conditional on {num_classes} classes and needs labels y; "
            "pass y (integers 0..K-1) or build it with num_classes=0")
    y = torch.as_tensor(y).long().reshape(-1)
    if y.shape[0] != batch:
        raise GankitError(f"{who} got {batch} inputs but {y.shape[0]} labels; pass one label each")
    return y


class ConvGenerator(nn.Module):
    """DCGAN generator: z (+ label embedding) -> 4x4 map -> stride-2 transposed convolutions.

    Channels halve at every doubling of the side and end at `width` before the output layer
    (32x32: 4w, 2w, w; 64x64: 8w, 4w, 2w, w). The reference's CWGAN-GP generator is width=128.
    """

    def __init__(self, image_size: int = 32, channels: int = 1, latent_dim: int = DEFAULT_LATENT_DIM,
                 num_classes: int = 0, width: int = DEFAULT_WIDTH, embed_dim: int | None = None):
        super().__init__()
        _check_common(image_size, channels, num_classes, width)
        if int(latent_dim) < 1:
            raise GankitError(f"latent_dim must be >= 1, got {latent_dim}")
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.image_size = int(image_size)
        self.channels = int(channels)
        self.sample_shape = (self.channels, self.image_size, self.image_size)
        # the reference embeds 10 classes in 10 dimensions; keep that unless told otherwise
        self.embed_dim = (int(embed_dim) if embed_dim else self.num_classes) if self.num_classes else 0
        self.config = {"image_size": self.image_size, "channels": self.channels,
                       "latent_dim": self.latent_dim, "num_classes": self.num_classes,
                       "width": int(width), "embed_dim": self.embed_dim}
        self.embed = nn.Embedding(self.num_classes, self.embed_dim) if self.num_classes else None

        n_up = _n_upsamplings(image_size)
        ch = width * 2 ** (n_up - 1)
        # BatchNorm follows every hidden layer, so those convolutions need no bias
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.latent_dim + self.embed_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, self.channels, 4, 2, 1), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = z.reshape(z.shape[0], -1)
        if z.shape[1] != self.latent_dim:
            raise GankitError(f"generator expects z of size {self.latent_dim}, got {z.shape[1]}")
        if self.num_classes:
            y = _labels(y, self.num_classes, z.shape[0], "generator").to(z.device)
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.main(z[:, :, None, None])


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator or WGAN-GP critic: stride-2 convolutions down to 4x4, then a 4x4
    convolution to one score (32x32: w, 2w, 4w; 64x64: w, 2w, 4w, 8w channels).

    norm="batch" (DCGAN): BatchNorm on every layer but the first; "none", "layer" (GroupNorm with
    one group: per-sample layer norm, the WGAN-GP critic's) or "instance" (the reference's
    critic). Conditioning: "concat" broadcasts a label embedding as extra input channels (as in
    the reference); "projection" (Miyato & Koyama 2018, the default) adds the inner product of a
    class embedding with the last feature map to the score. The reference's CWGAN-GP critic is
    width=64, norm="instance", conditioning="concat".

    pac > 1 (PacGAN; PacDCGAN2 is pac=2): consecutive groups of pac images, each with its label
    channels under concat conditioning, are stacked along the channel axis, (B, C, H, W) ->
    (B/pac, pac*C, H, W), and scored as one; only the first convolution widens. Under projection
    conditioning a pack's score adds the inner product of the sum of its images' class
    embeddings with the feature map.
    """

    def __init__(self, image_size: int = 32, channels: int = 1, num_classes: int = 0,
                 width: int = DEFAULT_WIDTH, conditioning: str = DEFAULT_CONDITIONING,
                 norm: str = "batch", embed_dim: int | None = None, pac: int = 1):
        super().__init__()
        _check_common(image_size, channels, num_classes, width)
        if conditioning not in CONDITIONINGS:
            raise GankitError(
                f"unknown conditioning {conditioning!r}; choose one of {CONDITIONINGS}")
        if norm not in NORMS:
            raise GankitError(f"unknown norm {norm!r}; choose one of {NORMS}")
        if isinstance(pac, bool) or int(pac) != pac or pac < 1:
            raise GankitError(f"pac (PacGAN's packing degree) must be a whole number >= 1, got {pac}")
        self.norm, self.conditioning, self.pac = norm, conditioning, int(pac)
        self.num_classes = int(num_classes)
        self.image_size, self.channels = int(image_size), int(channels)
        self.sample_shape = (self.channels, self.image_size, self.image_size)

        n_down = _n_upsamplings(image_size)
        ch_last = width * 2 ** (n_down - 1)
        self.embed_dim = 0
        self.embed = None
        if self.num_classes and conditioning == "concat":
            self.embed_dim = int(embed_dim) if embed_dim else self.num_classes
            self.embed = nn.Embedding(self.num_classes, self.embed_dim)
        elif self.num_classes:
            # one vector per class, as long as the flattened 4x4 feature map the score reads
            self.embed_dim = ch_last * 16
            self.embed = nn.Embedding(self.num_classes, self.embed_dim)
        self.config = {"image_size": self.image_size, "channels": self.channels,
                       "num_classes": self.num_classes, "width": int(width),
                       "conditioning": conditioning, "norm": norm,
                       "embed_dim": self.embed_dim if conditioning == "concat" else None,
                       "pac": self.pac}

        in_ch = (self.channels + (self.embed_dim if conditioning == "concat" else 0)) * self.pac
        layers: list[nn.Module] = [nn.Conv2d(in_ch, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"),
                       *self._norm(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(ch, 1, 4, 1, 0)
        dcgan_init(self)
        if self.embed is not None and conditioning == "projection":
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def _norm(self, ch: int) -> list[nn.Module]:
        if self.norm == "batch":
            return [nn.BatchNorm2d(ch)]
        if self.norm == "layer":
            return [nn.GroupNorm(1, ch)]
        if self.norm == "instance":
            return [nn.InstanceNorm2d(ch, affine=True)]
        return []

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.sample_shape:
            raise GankitError(
                f"discriminator expects images of shape {self.sample_shape}, got "
                f"{tuple(x.shape[1:])}; load the data with matching image_size and channels")
        y_ = None
        if self.num_classes:
            y_ = _labels(y, self.num_classes, x.shape[0], "discriminator").to(x.device)
        if self.num_classes and self.conditioning == "concat":
            e = self.embed(y_)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, e], dim=1)
        if self.pac > 1:
            # pack consecutive images, channels of the first image first (layers.pack's order,
            # which the gradient penalty's per-pack norm and refine's realness rely on)
            x = pack(x.flatten(1), self.pac).reshape(x.shape[0] // self.pac, -1, *x.shape[2:])
        h = self.features(x)
        out = self.head(h).reshape(x.shape[0], 1)
        if self.num_classes and self.conditioning == "projection":
            labels = self.embed(y_)
            if self.pac > 1:
                labels = labels.reshape(x.shape[0], self.pac, -1).sum(1)
            out = out + (labels * h.flatten(1)).sum(1, keepdim=True)
        return out


class ConvAutoencoderDiscriminator(AutoencoderEnergy):
    """EBGAN's / BEGAN's discriminator for images: an encoder of stride-2 convolutions (w, 2w,
    4w[, 8w] channels, as the critic, with layer norm) down to 4x4 and a linear map to a code of
    `code_dim` (BEGAN's h, 64), and a decoder mirroring the generator (linear map to 4x4, stride-2
    transposed convolutions) back to the image; no BatchNorm, so each sample's energy is its own.
    The output is not squashed: reconstructions may overshoot [-1, 1] and pay for it in energy.
    Conditional: the label embedding joins the input as channels and the code as features.
    """

    def __init__(self, image_size: int = 32, channels: int = 1, num_classes: int = 0,
                 width: int = DEFAULT_WIDTH, code_dim: int = 64, energy: str = "l2",
                 embed_dim: int | None = None):
        super().__init__(energy)
        _check_common(image_size, channels, num_classes, width)
        self.num_classes = int(num_classes)
        self.image_size, self.channels = int(image_size), int(channels)
        self.sample_shape = (self.channels, self.image_size, self.image_size)
        self.embed_dim = (int(embed_dim) if embed_dim else self.num_classes) if self.num_classes else 0
        self.embed = nn.Embedding(self.num_classes, self.embed_dim) if self.num_classes else None
        n_down = _n_upsamplings(image_size)
        encoder: list[nn.Module] = [nn.Conv2d(self.channels + self.embed_dim, width, 4, 2, 1),
                                    nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n_down - 1):
            encoder += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.GroupNorm(1, ch * 2),
                        nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(ch * 16, code_dim))
        self.bottom = ch
        self.from_code = nn.Linear(code_dim + self.embed_dim, ch * 16)
        decoder: list[nn.Module] = []
        for _ in range(n_down - 1):
            decoder += [nn.LeakyReLU(0.2, True), nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1)]
            ch //= 2
        decoder += [nn.LeakyReLU(0.2, True), nn.ConvTranspose2d(ch, self.channels, 4, 2, 1)]
        self.decoder = nn.Sequential(*decoder)
        dcgan_init(self)

    def _label_embedding(self, y, batch: int, device) -> torch.Tensor:
        return self.embed(_labels(y, self.num_classes, batch, "discriminator").to(device))

    def encode(self, x, y=None):
        if tuple(x.shape[1:]) != self.sample_shape:
            raise GankitError(
                f"discriminator expects images of shape {self.sample_shape}, got "
                f"{tuple(x.shape[1:])}; load the data with matching image_size and channels")
        if self.num_classes:
            e = self._label_embedding(y, x.shape[0], x.device)[:, :, None, None]
            x = torch.cat([x, e.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        return self.encoder(x)

    def decode(self, code, y=None):
        if self.num_classes:
            code = torch.cat([code, self._label_embedding(y, code.shape[0], code.device)], dim=1)
        h = self.from_code(code).reshape(code.shape[0], self.bottom, 4, 4)
        return self.decoder(h)


def build_conv_generator(image_size: int = 32, channels: int = 1,
                         latent_dim: int = DEFAULT_LATENT_DIM, num_classes: int = 0,
                         width: int | None = None, **options) -> ConvGenerator:
    """The DCGAN generator (every variant's: its BatchNorm is harmless to a critic's per-sample
    penalty). options: embed_dim."""
    return ConvGenerator(image_size, channels, latent_dim, num_classes,
                         width or DEFAULT_WIDTH, **options)


def build_conv_discriminator(image_size: int = 32, channels: int = 1,
                             latent_dim: int | None = None, num_classes: int = 0,
                             width: int | None = None, conditioning: str = DEFAULT_CONDITIONING,
                             **options) -> ConvDiscriminator:
    """The DCGAN discriminator (norm="batch") or a critic (norm="layer", "instance", "none").
    latent_dim is accepted for a signature shared with the generator and ignored.
    options: norm, embed_dim, pac (PacGAN packing degree)."""
    del latent_dim
    return ConvDiscriminator(image_size, channels, num_classes, width or DEFAULT_WIDTH,
                             conditioning, **options)
