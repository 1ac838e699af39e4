"""The judge: a small classifier of real data, trained by gankit and kept by data fingerprint.

One network serves two purposes, so both agree on what "looks real" means:
- it scores conditional samples (does a sample generated for class k look like class k?);
- its penultimate layer is the offline feature space of FID/KID/PRDC (no Inception download).

Images get a small CNN (two conv blocks, a 128-d penultimate layer); flat data (tables, points)
an MLP with the same 128-d penultimate layer. A judge of 1-channel images also reads each
channel of a multi-channel image on its own (`Judge.predict_channels`: Stacked MNIST's digits).
Training is seeded and leaves the global RNG alone. `get_judge` caches the weights
(safetensors, never pickle) and a JSON record of architecture, accuracy and any notes under
`cache_dir` (default $GANKIT_CACHE or ~/.cache/gankit), keyed by the training data's fingerprint
and the training settings.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data.dataset import Dataset
from .errors import GankitError

JUDGE_VERSION = 1  # bump when the architecture or training recipe changes: old caches then miss
FEATURE_DIM = 128
_BATCH = 512


class JudgeCNN(nn.Module):
    """conv-BN-ReLU-pool x2, then an adaptive 4x4 pool so 32x32 and 64x64 inputs share one head."""

    def __init__(self, channels: int, num_classes: int, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width),
            nn.ReLU(True), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(8), nn.Flatten(),
            nn.Linear(2 * width * 64, FEATURE_DIM))
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.3), nn.Linear(FEATURE_DIM, num_classes))

    def forward(self, x):
        return self.head(self.body(x))


class JudgeMLP(nn.Module):
    """Standardises its input with the training data's statistics (kept as buffers, so they
    travel with the weights), then two hidden layers."""

    def __init__(self, in_dim: int, num_classes: int, hidden: int = 256):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(True),
                                  nn.Linear(hidden, FEATURE_DIM))
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.2), nn.Linear(FEATURE_DIM, num_classes))

    def forward(self, x):
        return self.head(self.body((x - self.mean) / self.scale))


def _build(arch: dict[str, Any]) -> nn.Module:
    if arch["type"] == "cnn":
        return JudgeCNN(arch["channels"], arch["num_classes"], arch.get("width", 16))
    if arch["type"] == "mlp":
        return JudgeMLP(arch["in_dim"], arch["num_classes"], arch.get("hidden", 256))
    raise GankitError(f"unknown judge architecture {arch['type']!r}")


def _architecture(data: Dataset) -> dict[str, Any]:
    if data.kind == "images":
        c, h, w = data.sample_shape
        return {"type": "cnn", "channels": c, "image_size": [h, w], "width": 16,
                "num_classes": data.num_classes, "feature_dim": FEATURE_DIM}
    return {"type": "mlp", "in_dim": int(np.prod(data.sample_shape)), "hidden": 256,
            "num_classes": data.num_classes, "feature_dim": FEATURE_DIM}


class Judge:
    """A trained classifier of real data and its record.

    logits/features/predict take arrays or tensors shaped like the training samples, run in
    eval mode without gradients in batches, and return CPU tensors. `features` is the 128-d
    penultimate layer before its ReLU: no dead (always-zero) coordinates, so feature covariances
    for FID stay full rank.
    """

    def __init__(self, net: nn.Module, arch: dict[str, Any], record: dict[str, Any] | None = None):
        self.net = net.eval()
        self.arch = arch
        self.record = dict(record or {})

    @property
    def held_out_accuracy(self) -> float | None:
        return self.record.get("held_out_accuracy")

    @property
    def per_class_accuracy(self) -> list[float] | None:
        return self.record.get("per_class_accuracy")

    @property
    def num_classes(self) -> int:
        return int(self.arch["num_classes"])

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device) -> "Judge":
        self.net.to(device)
        return self

    def _input(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x))
        x = x.float()
        if self.arch["type"] == "cnn":
            want = (self.arch["channels"], *self.arch["image_size"])
            if x.ndim != 4 or tuple(x.shape[1:]) != want:
                raise GankitError(
                    f"the judge was trained on images of shape {want}, got {tuple(x.shape[1:])}; "
                    "generate or load images at the same size and channels")
        else:
            x = x.reshape(x.shape[0], -1) if x.ndim > 1 else x[None]
            if x.shape[1] != self.arch["in_dim"]:
                raise GankitError(
                    f"the judge was trained on {self.arch['in_dim']} features, got {x.shape[1]}")
        return x

    @torch.no_grad()
    def _run(self, x, part: str) -> torch.Tensor:
        x = self._input(x)
        self.net.eval()
        dev = self.device
        fn = self.net.body if part == "features" else self.net
        outs = [fn(x[s:s + _BATCH].to(dev)).float().cpu() for s in range(0, len(x), _BATCH)]
        if not outs:
            dim = FEATURE_DIM if part == "features" else self.num_classes
            return torch.empty((0, dim))
        return torch.cat(outs)

    def logits(self, x) -> torch.Tensor:
        return self._run(x, "logits")

    def features(self, x) -> torch.Tensor:
        return self._run(x, "features")

    def predict(self, x) -> torch.Tensor:
        return self.logits(x).argmax(1)

    def predict_channels(self, x) -> torch.Tensor:
        """The class of each channel of (N, C, H, W) images, each read as a 1-channel image by
        this judge of 1-channel images: an int64 tensor (N, C)."""
        if self.arch["type"] != "cnn" or self.arch["channels"] != 1:
            what = (f"{self.arch['channels']}-channel images" if self.arch["type"] == "cnn"
                    else "flat samples")
            raise GankitError(f"predict_channels needs a judge of 1-channel images; this one reads "
                              f"{what}")
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x))
        if x.ndim != 4:
            raise GankitError(f"predict_channels reads images shaped (N, C, H, W), got shape "
                              f"{tuple(x.shape)}")
        n, c = x.shape[:2]
        return self.predict(x.reshape(n * c, 1, *x.shape[2:])).reshape(n, c)

    def score(self, x, y) -> dict[str, Any]:
        """Accuracy of the judge's predictions against labels y (for conditional samples: the
        labels they were generated for), overall and per class (None for absent classes)."""
        y = torch.as_tensor(np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)).long()
        pred = self.predict(x)
        if len(pred) != len(y):
            raise GankitError(f"got {len(pred)} samples but {len(y)} labels")
        hit = (pred == y).float()
        per_class = [float(hit[y == k].mean()) if bool((y == k).any()) else None
                     for k in range(self.num_classes)]
        counts = torch.bincount(pred, minlength=self.num_classes).tolist()
        return {"accuracy": float(hit.mean()) if len(y) else float("nan"),
                "per_class_accuracy": per_class, "predicted_counts": counts}

    # ------------------------------------------------------------------------ persistence
    def save(self, stem) -> tuple[Path, Path]:
        """Write `stem.safetensors` (weights and buffers) and `stem.json` (architecture, record)."""
        from safetensors.torch import save_file

        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        weights, meta = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
        from .files import atomic_path, atomic_write
        state = {k: v.detach().cpu().contiguous().clone() for k, v in self.net.state_dict().items()}
        # weights first, record last: a record on disk means its weights are complete
        with atomic_path(weights) as tmp:
            save_file(state, str(tmp))
        atomic_write(meta, json.dumps({"version": JUDGE_VERSION, "arch": self.arch, **self.record},
                                      indent=1))
        return weights, meta

    @classmethod
    def load(cls, stem) -> "Judge":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        stem = Path(stem)
        weights, meta = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
        if not weights.is_file() or not meta.is_file():
            raise GankitError(f"no judge saved at {stem} (need {weights.name} and {meta.name})")
        try:
            record = json.loads(meta.read_text())
            arch = record.pop("arch")
            record.pop("version", None)
            net = _build(arch)
            net.load_state_dict(load_file(str(weights)))
        except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError, OSError) as e:
            raise GankitError(f"the judge saved at {stem} is damaged ({e}); delete it to retrain") from None
        return cls(net, arch, record)


# ---------------------------------------------------------------------------------- training
def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Small random rotations, scalings and shifts: the real training split is small (1.4k
    digits), and a judge that has only seen centred digits would call shifted samples wrong."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * 2 / x.shape[-1])  # +-2 pixels
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _default_epochs(n: int) -> int:
    # max(25k, 6 passes) presentations, capped at 150k: 18 epochs for 1.4k digits (98.9% held
    # out), 6 for 8k MNIST images (98.75%; 4 epochs gave 98.4%), 3 for 60k
    target = min(max(25_000, 6 * n), 150_000)
    return int(min(40, max(3, math.ceil(target / max(n, 1)))))


def _check_pair(train: Dataset, held_out: Dataset | None) -> None:
    if train.y is None:
        raise GankitError(
            f"the judge is a classifier and needs labels; data {train.name!r} has none "
            "(use class sub-folders, an IDX labels file or a y array)")
    if train.num_classes < 2:
        raise GankitError(f"the judge needs at least 2 classes; {train.name!r} has {train.num_classes}")
    if held_out is not None:
        if held_out.y is None:
            raise GankitError("the judge's held-out split has no labels; split a labelled data set")
        if held_out.sample_shape != train.sample_shape or held_out.kind != train.kind:
            raise GankitError(
                f"held-out samples have shape {held_out.sample_shape} but training samples "
                f"{train.sample_shape}; split one data set with Dataset.split")


def train_judge(train: Dataset, held_out: Dataset | None = None, epochs: int | None = None,
                seed: int = 0, batch_size: int = 64, lr: float = 2e-3, device="cpu",
                verbose: bool = False) -> Judge:
    """Train a judge on `train` (labelled), seeded; record its accuracy on `held_out`.

    epochs: None picks ~25k sample presentations (at least 3 epochs). Uses Adam with a one-cycle
    learning rate; images are augmented with small affine jitter. The global RNG is untouched.
    """
    _check_pair(train, held_out)
    arch = _architecture(train)
    epochs = int(epochs) if epochs else _default_epochs(len(train))
    start = time.perf_counter()
    x, y = train.x.float(), train.y.long()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # initial weights and dropout masks
        net = _build(arch)
        if arch["type"] == "mlp":
            flat = x.reshape(len(x), -1)
            net.mean.copy_(flat.mean(0))
            net.scale.copy_(flat.std(0).clamp_min(1e-6) if len(x) > 1 else torch.ones(flat.shape[1]))
            x = flat
        net.to(device).train()
        gen = torch.Generator().manual_seed(seed)
        steps_per_epoch = max(1, math.ceil(len(x) / batch_size))
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
        for epoch in range(epochs):
            perm = torch.randperm(len(x), generator=gen)
            total = 0.0
            for s in range(0, len(x), batch_size):
                idx = perm[s:s + batch_size]
                if len(idx) < 2 and arch["type"] == "cnn":
                    continue  # BatchNorm cannot train on one sample
                xb = x[idx]
                if arch["type"] == "cnn":
                    xb = _augment(xb, gen)
                loss = F.cross_entropy(net(xb.to(device)), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            if verbose:
                print(f"judge epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f}", flush=True)
    judge = Judge(net.eval(), arch, {
        "train_fingerprint": train.fingerprint, "train_name": train.name, "n_train": len(train),
        "epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr,
        "torch_version": torch.__version__})
    judge.record["train_accuracy"] = judge.score(train.x, train.y)["accuracy"]
    if held_out is not None:
        s = judge.score(held_out.x, held_out.y)
        judge.record.update({"held_out_accuracy": s["accuracy"],
                             "per_class_accuracy": s["per_class_accuracy"],
                             "held_out_fingerprint": held_out.fingerprint,
                             "n_held_out": len(held_out)})
    judge.record["seconds"] = round(time.perf_counter() - start, 2)
    return judge


def default_cache_dir() -> Path:
    env = os.environ.get("GANKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gankit"


def judge_key(train: Dataset, held_out: Dataset | None = None, epochs: int | None = None,
              seed: int = 0) -> str:
    """The cache name: the training data's fingerprint plus a hash of everything else that
    changes the result (held-out data, epochs, seed, recipe version)."""
    settings = json.dumps({"v": JUDGE_VERSION, "arch": _architecture(train),
                           "held_out": None if held_out is None else held_out.fingerprint,
                           "epochs": epochs, "seed": seed}, sort_keys=True)
    return f"judge-{train.fingerprint}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"


def get_judge(train: Dataset, held_out: Dataset | None = None, cache_dir=None,
              epochs: int | None = None, seed: int = 0, device="cpu",
              verbose: bool = False, notes: dict[str, Any] | None = None) -> Judge:
    """The judge for this training data: loaded from the cache when present, else trained and
    stored there. A damaged cache entry is retrained with a warning.

    notes: more for the judge's record (e.g. which split of which data it learnt from), stored
    with it; they describe the data the key already names, so they are not part of the key.
    """
    _check_pair(train, held_out)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    stem = cache / judge_key(train, held_out, epochs, seed)
    if stem.with_suffix(".json").is_file():
        try:
            judge = Judge.load(stem).to(device)
            judge.record.update(notes or {})
            return judge
        except GankitError as e:
            warnings.warn(f"{e}; retraining", UserWarning, stacklevel=2)
    judge = train_judge(train, held_out, epochs=epochs, seed=seed, device=device, verbose=verbose)
    judge.record.update(notes or {})
    try:
        judge.save(stem)
    except OSError as e:
        warnings.warn(f"could not cache the judge in {cache} ({e}); it will be retrained next time",
                      UserWarning, stacklevel=2)
    return judge
