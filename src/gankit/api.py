"""The Python estimator: `GAN(...).fit(X, y).sample(n)`, with `save` and `load`.

Follows scikit-learn's conventions: settings in `__init__`, learned state in attributes ending
in `_`, `random_state` for the seed. Training writes an ordinary run directory, so everything the
CLI offers works on a model fitted from Python: `out` when given (a non-empty folder is refused
unless `overwrite=True`), else a temporary folder (`run_dir_`) that is removed with the
estimator; `save(path)` keeps the model.
"""
from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig, seed_from
from .errors import GankitError
from .run_directory import RunDir
from .training.run_writer import copy_model, temporary_run_directory


def arrays_to_dataset(X, y=None, name: str = "array"):
    """Points from (N, D) arrays; images from (N, H, W) or (N, C, H, W)."""
    from .data.arrays import points_dataset

    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    if X.ndim in (3, 4):
        from .data.images import images_from_array
        return images_from_array(X, y, name=name)
    return points_dataset(X, y, name=name)


# TrainConfig fields that are not the estimator's to set: the data come to `fit`, the seed is
# `random_state`, and a fitted estimator writes no TensorBoard events
NOT_PARAMETERS = ("data", "seed", "tensorboard", "progress")
ESTIMATOR_PARAMETERS = ("out", "overwrite", "progress", "random_state")


def training_parameters() -> dict:
    """The TrainConfig fields `GAN` takes as keyword arguments, with their defaults."""
    return {f.name: f.default for f in fields(TrainConfig) if f.name not in NOT_PARAMETERS}


def _parameter_docs() -> str:
    from .config import default_text
    lines = []
    for f in fields(TrainConfig):
        if f.name not in NOT_PARAMETERS:
            lines.append(f"    {f.name}: {f.metadata['help']} (default: {default_text(f)})")
    return "\n".join(lines)


class GAN:
    """A GAN estimator: `GAN(model="wgan-gp", **settings).fit(X, y).sample(n)`.

    Settings are those of `gankit train` (one TrainConfig field each, listed below), plus
    out: run directory to write (default: a temporary one, removed with the estimator);
    overwrite: replace what `out` holds; progress: a progress bar (default: when stderr is a
    terminal, as tqdm decides); random_state: an int, a numpy RandomState or None.

    Training settings:
{settings}
    """

    def __init__(self, model: str = "wgan-gp", *, out: str | Path | None = None,
                 overwrite: bool = False, progress: bool | None = None,
                 random_state: int | None = None, **settings):
        known = training_parameters()
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise GankitError(f"unknown setting(s) {unknown} for gankit.GAN; the settings are "
                              f"{sorted(known)} and {list(ESTIMATOR_PARAMETERS)}")
        self.model = model
        for name, default in known.items():
            if name != "model":
                setattr(self, name, settings.get(name, default))
        self.out, self.overwrite, self.progress, self.random_state = out, overwrite, progress, random_state

    def get_params(self, deep: bool = True) -> dict:
        """Every setting, by name (scikit-learn's estimator interface)."""
        return {**{name: getattr(self, name) for name in training_parameters()},
                **{name: getattr(self, name) for name in ESTIMATOR_PARAMETERS}}

    def set_params(self, **params) -> "GAN":
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise GankitError(f"unknown setting {name!r} for gankit.GAN")
            setattr(self, name, value)
        return self

    def _config(self) -> TrainConfig:
        values = {name: getattr(self, name) for name in training_parameters()}
        progress = self.progress if self.progress is not None else sys.stderr.isatty()
        values.update(progress=bool(progress), seed=seed_from(self.random_state), data="array",
                      tensorboard=False)
        return TrainConfig.from_dict(values)

    def fit(self, X, y=None) -> "GAN":
        from .training import train_run

        if self.conditional and y is None:
            raise GankitError("conditional=True needs labels: call fit(X, y)")
        data = X if hasattr(X, "kind") and hasattr(X, "x") else arrays_to_dataset(X, y)
        config = self._config()
        out = Path(self.out) if self.out is not None else temporary_run_directory(self)
        run = train_run(config, out, data=(data, data), overwrite=bool(self.overwrite),
                        command=["python", "gankit.GAN.fit"])
        self.module_, self.config_, self.run_dir_ = run.module, run.config, run.run_dir
        self.n_features_in_ = int(np.prod(data.sample_shape))
        self.num_classes_ = run.module.num_classes
        self.history_ = RunDir(run.run_dir).losses_frame()
        return self

    def _check_fitted(self):
        if not hasattr(self, "module_"):
            raise GankitError("this GAN is not fitted yet; call fit(X) or GAN.load(path) first")

    def sample(self, n: int, y=None, random_state: int | None = 0, refine: str | None = None,
               real=None, real_labels=None, mh_steps: int | None = None) -> np.ndarray:
        """n samples in the data's units; for conditional models, labels y (one int, or n ints;
        default: every class equally).

        refine: "drs" or "mh" keeps the samples the discriminator calibrates as real
        (gankit.refine); calibration needs held-out real samples: `real` (and `real_labels` for
        conditional models), or, for a run trained on a named data source, its own held-out
        split. The refinement's cost is in `self.refinement_`."""
        self._check_fitted()
        n = whole_number(n, "n", minimum=1)
        rng = torch.Generator(device=self.device).manual_seed(seed_from(random_state))
        if refine is None:
            samples, _ = self.module_.sample(n, y=class_labels(y), rng=rng)
            return samples.cpu().numpy()
        from .refine import MH_STEPS, calibrate, refine as refine_samples
        real_x, real_y = self._calibration_data(real, real_labels)
        calibration = calibrate(self.module_, self.config_.variant(), real_x, real_y, rng)
        samples, _, self.refinement_ = refine_samples(
            self.module_, self.config_.variant(), n, refine, calibration, y=class_labels(y),
            rng=rng, steps=mh_steps or MH_STEPS)
        return samples.cpu().numpy()

    def _calibration_data(self, real, real_labels):
        if real is None:
            from .training import rebuild_data
            if self.config_.data == "array":
                raise GankitError("refine needs held-out real samples to calibrate the "
                                  "discriminator: pass real=X_held_out (and real_labels=...)")
            _, held_out = rebuild_data(self.config_, RunDir(self.run_dir_).record())
            return held_out.x, held_out.y
        x = torch.as_tensor(np.asarray(real), dtype=torch.float32)
        if self.num_classes_ and real_labels is None:
            raise GankitError("a conditional model calibrates on labelled samples: pass real_labels")
        return x, (None if real_labels is None else torch.as_tensor(np.asarray(real_labels)).long())

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write a self-contained model directory (config and newest checkpoint); a non-empty
        folder is refused unless overwrite=True."""
        self._check_fitted()
        return copy_model(self.run_dir_, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "GAN":
        from .training import load_run

        module, config, _record = load_run(path, device=device)
        settings = {k: v for k, v in config.to_dict().items() if k in training_parameters()}
        settings["device"] = device
        gan = cls(random_state=config.seed, **settings)
        gan.module_, gan.config_, gan.run_dir_ = module, config, Path(path)
        gan.num_classes_ = module.num_classes
        gan.history_ = RunDir(path).losses_frame()
        return gan


def whole_number(value, name: str, minimum: int = 0) -> int:
    """An int from an int-like value (not a bool, not 2.5, not "3"), at least `minimum`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise GankitError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise GankitError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def class_labels(y):
    """Labels to sample with: None, one class, or one per sample, each a whole number (1.7 and
    'a' are refused, never silently turned into class 1)."""
    if y is None:
        return None
    values = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu" or values.dtype == np.bool_:
        raise GankitError(f"y must be class numbers (whole numbers 0..K-1), got {y!r}")
    return torch.from_numpy(values.astype(np.int64))


GAN.__doc__ = GAN.__doc__.format(settings=_parameter_docs())
