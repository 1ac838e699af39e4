"""Inception-v3 as used for FID (the "FID Inception" of pytorch-fid / TF inception-2015-12-05).

Written from the architecture, without torchvision: the FID variant differs from torchvision's
Inception-v3 in its blocks (average pools that ignore padding, a max pool in the last block,
1008 output classes), and only this variant with the standard weights file gives FID numbers that
stand beside published ones. Module names follow torchvision/pytorch-fid exactly so the standard
`pt_inception-2015-12-05-6726825d.pth` state dict loads unchanged. gankit never downloads it:
the user supplies the file.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import GankitError

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FEATURE_DIM = 2048
NUM_CLASSES = 1008


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm (eps 1e-3, as TF) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _tf_avg_pool(x):
    # TF's average pool leaves the zero padding out of the mean; count_include_pad=False matches it.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Mixed_6a); identical in the FID variant."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Mixed_7a); identical in the FID variant."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class _FIDInceptionE(nn.Module):
    max_pool = False

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.max_pool:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _tf_avg_pool(x)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionE_1(_FIDInceptionE):
    """Mixed_7b: average pool that ignores padding."""


class FIDInceptionE_2(_FIDInceptionE):
    """Mixed_7c: the TF graph uses a max pool here (unlike the paper); FID numbers depend on it."""

    max_pool = True


class FIDInceptionV3(nn.Module):
    """Inception-v3 pool3 features (2048-d) for FID; `logits` gives the 1008-way classifier output.

    Input: images (N, C, H, W) with values in [-1, 1] (gankit's image convention), C = 1 or 3;
    grey images are repeated to 3 channels. With resize_input=True (the FID protocol) they are
    resized bilinearly to 299 x 299 (align_corners=False), exactly as pytorch-fid, which takes
    [0, 1] input and maps it to [-1, 1] with 2x - 1 (resizing and that affine map commute).
    With resize_input=False any size >= 75 x 75 works (used by the tests to stay fast).
    """

    def __init__(self, resize_input: bool = True):
        super().__init__()
        self.resize_input = resize_input
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE_1(1280)
        self.Mixed_7c = FIDInceptionE_2(2048)
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise GankitError(
                f"Inception input has shape {tuple(x.shape)}; expected images (N, 1 or 3, H, W) in [-1, 1]")
        x = x.to(device=self.fc.weight.device, dtype=self.fc.weight.dtype)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.resize_input:
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        elif min(x.shape[2], x.shape[3]) < 75:
            raise GankitError(
                f"Inception needs images of at least 75 x 75 pixels, got {x.shape[2]} x {x.shape[3]}; "
                "use resize_input=True")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """pool3 features, shape (N, 2048)."""
        x = self._prepare(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            x = block(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """1008-way classifier logits (for the Inception Score), shape (N, 1008)."""
        return self.fc(self.forward(x))

    @torch.no_grad()
    def extract(self, images, batch_size: int = 50, logits: bool = False) -> torch.Tensor:
        """pool3 features (or logits) of many images, in batches, as a float32 CPU tensor.

        Call on a model in eval mode (as `load_fid_inception` returns it): in training mode
        BatchNorm would use batch statistics and the features would depend on the batch.
        """
        images = torch.as_tensor(images)
        parts = [(self.logits if logits else self.forward)(images[i:i + batch_size]).float().cpu()
                 for i in range(0, images.shape[0], batch_size)]
        width = NUM_CLASSES if logits else FEATURE_DIM
        return torch.cat(parts) if parts else torch.empty(0, width)


def _read_state_dict(path: Path) -> dict:
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise GankitError(f"{path} is not a readable safetensors file ({exc}); re-export the weights") from exc
    try:
        # weights_only=True: only tensors and plain containers are unpickled, never arbitrary code.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for damaged or foreign files
        reason = (str(exc).splitlines() or [""])[0][:120]
        raise GankitError(
            f"{path} could not be read as PyTorch weights ({type(exc).__name__}: {reason}); "
            f"supply the standard FID weights file {FID_WEIGHTS_NAME}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GankitError(
            f"{path} holds a {type(state).__name__}, not a state dict of tensors; "
            f"supply the standard FID weights file {FID_WEIGHTS_NAME}")
    return state


def _first(names, n: int = 5) -> str:
    names = sorted(names)
    more = f" (and {len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def load_fid_inception(path, resize_input: bool = True, device="cpu") -> FIDInceptionV3:
    """FIDInceptionV3 in eval mode with weights from `path` (.pth state dict or .safetensors).

    `path` is the standard FID weights file (pt_inception-2015-12-05-6726825d.pth, keys as in
    pytorch-fid: Conv2d_1a_3x3.conv.weight, ..., fc.weight, fc.bias). BatchNorm
    `num_batches_tracked` entries may be present or absent. Raises GankitError for a missing
    file, a file that is not a state dict, or missing, unexpected or mis-shaped keys.
    """
    path = Path(path)
    if not path.is_file():
        raise GankitError(
            f"Inception weights file {path} not found; download {FID_WEIGHTS_NAME} (pytorch-fid release) "
            "and pass its path, or use the offline classifier features")
    state = _read_state_dict(path)
    model = FIDInceptionV3(resize_input=resize_input)
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = set(expected) - set(state) - optional
    unexpected = set(state) - set(expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys: {_first(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} keys: {_first(unexpected)}")
        raise GankitError(f"{path} is not an FID Inception state dict ({'; '.join(parts)}); "
                          f"supply {FID_WEIGHTS_NAME}")
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
             for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise GankitError(f"{path} has {len(wrong)} tensors of the wrong shape: {', '.join(wrong[:3])}; "
                          f"supply {FID_WEIGHTS_NAME}")
    model.load_state_dict(state, strict=False)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device).eval()
