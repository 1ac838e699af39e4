"""`TabularGAN`: a GAN for tables, DataFrame (or CSV) in and DataFrame out.

    gan = gankit.TabularGAN(random_state=0).fit(df)                  # numeric + categorical
    rows = gan.sample(500)                                           # a DataFrame like df
    gan = gankit.TabularGAN(random_state=0).fit(df, y="label")       # conditional on a column
    ones = gan.sample(200, y=1)

The table is encoded by `gankit.data.tabular.TabularEncoder` (mode-specific normalisation of
numeric columns as in CTGAN, or quantile / min-max; one-hot categorical columns), the generator is
`gankit.nets.tabular.TabularGenerator` (CTGAN's residual stack with Gumbel-softmax outputs) and
training is the engine's loop: WGAN-GP with a PacGAN discriminator (pac 10, as CTGAN) by default.
Decoding restores the fitted columns, dtypes, category sets and ranges.

Saving writes an ordinary run directory (config.yaml and a safetensors checkpoint, which
`gankit sample` and `gankit.training.load_run` read) plus `encoder.json` (the fitted encoder) and
`tabular_gan.json` (columns and class values): no pickle anywhere.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from . import provenance
from .config import TrainConfig, dump_yaml, seed_from
from .data.dataset import Dataset
from .data.tabular import (TabularEncoder, _dtype_from_dict, _dtype_to_dict, _py, factorize_classes,
                          read_table)
from .errors import GankitError
from .files import atomic_write
from .models import DataSpec
from .run_directory import CONFIG_FILE, RunDir
from .threads import torch_threads

ENCODER_FILE = "encoder.json"
META_FILE = "tabular_gan.json"
FORMAT = "gankit.TabularGAN"

# Defaults chosen by measurement (docs/oversampling.md): CTGAN's pac 10 and Gumbel temperature,
# WGAN-GP's five critic steps per generator step (one, as CTGAN, left the numeric columns twice
# as far from the data: mean KS 0.31 vs 0.17 on the heart patients), a narrower network than
# CTGAN's and a fixed budget of generator steps, so that a small table trains in seconds.
DEFAULT_PAC = 10
DEFAULT_BATCH = 200
DEFAULT_HIDDEN = 128
DEFAULT_LATENT = 32
DEFAULT_STEPS = 300
DEFAULT_N_CRITIC = 5
DEFAULT_LR = 2e-4
DEFAULT_NUMERIC = "mode"


def as_frame(data, what: str = "the table") -> pd.DataFrame:
    """A DataFrame from a DataFrame, a CSV path or built-in table name, or a 2-D array."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, (str, Path)):
        return read_table(str(data))
    if isinstance(data, pd.Series):
        return data.to_frame().reset_index(drop=True)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise GankitError(f"{what} must be a DataFrame, a CSV path or a 2-D array; got shape "
                          f"{arr.shape}")
    return pd.DataFrame(arr)


class TabularGAN(BaseEstimator):
    """A GAN for a table of numeric and categorical columns.

    Parameters
    ----------
    numeric : "mode" | "quantile" | "minmax"
        Normalisation of numeric columns: CTGAN's mode-specific normalisation (default), a
        quantile map to a standard normal, or the reference material's min-max to [-1, 1].
    discrete_columns : list of column names, optional
        Columns to treat as categorical; None infers them (strings, booleans, categories, and
        integer columns with few distinct values). `fit(discrete_columns=...)` overrides it.
    missing : "error" | "impute"
        Missing cells raise an error naming the columns (default), or are filled with the median
        / most frequent value before training (generated rows then have none). Rows are never
        dropped.
    model : "wgan-gp" | "gan"
        WGAN-GP (default) or the non-saturating BCE GAN.
    pac : int
        PacGAN packing degree of the discriminator (10 as in CTGAN; 1 switches packing off).
    steps : int, optional
        Generator steps (default 300; or derived from `epochs`).
    epochs : float, optional
        Passes over the table in critic batches, used when `steps` is None.
    batch_size, latent_dim, hidden, n_critic, lr_g, lr_d, gp_lambda, max_modes :
        Training and network settings (defaults: 200, 32, 128, 5, 2e-4, 2e-4, 10, 10);
        `batch_size` is rounded up to a multiple of `pac`.
    out : path, optional
        Write a run directory there while training (losses.csv, checkpoints); without it,
        training writes nothing and `save` writes the model when asked. A non-empty `out` is
        refused unless `overwrite` is True (then what it holds is replaced).
    device : str
        "cpu" or a torch device.
    progress : bool
        Show a progress bar.
    threads : int or None
        torch CPU threads while fitting and sampling (default 1, the fastest for tensors this
        small; None: gankit's default, `gankit.threads`).
    random_state : int, RandomState or None
        Seeds the encoder, the weights, the batches, the noise and the Gumbel noise: the same
        value gives the same model and the same samples.
    settings : dict, optional
        Any other `gankit.config.TrainConfig` field (e.g. {"lr_decay": "linear"}).

    Fitted attributes: `encoder_`, `module_`, `config_`, `columns_` (the output columns, in
    order), `feature_columns_`, `discrete_columns_`, `class_column_` (None when unconditional),
    `classes_`, `class_counts_`, `n_features_in_`, `feature_names_in_`, `fit_seconds_`,
    `history_` (losses, when `out` is given), `run_dir_`.
    """

    def __init__(self, numeric: str = DEFAULT_NUMERIC, discrete_columns=None,
                 missing: str = "error", model: str = "wgan-gp", pac: int = DEFAULT_PAC,
                 steps: int | None = None, epochs: float | None = None,
                 batch_size: int | None = None, latent_dim: int | None = None,
                 hidden: int | None = None, n_critic: int | None = None,
                 lr_g: float | None = None, lr_d: float | None = None, gp_lambda: float = 10.0,
                 max_modes: int = 10, out=None, overwrite: bool = False, device: str = "cpu",
                 progress: bool = False,
                 threads: int | None = 1, random_state=None, settings: dict | None = None):
        self.numeric = numeric
        self.discrete_columns = discrete_columns
        self.missing = missing
        self.model = model
        self.pac = pac
        self.steps = steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.n_critic = n_critic
        self.lr_g = lr_g
        self.lr_d = lr_d
        self.gp_lambda = gp_lambda
        self.max_modes = max_modes
        self.out = out
        self.overwrite = overwrite
        self.device = device
        self.progress = progress
        self.threads = threads
        self.random_state = random_state
        self.settings = settings

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, data, discrete_columns=None, y=None) -> "TabularGAN":
        """Fit on a DataFrame (or a CSV path, or a 2-D array).

        discrete_columns: overrides the constructor's list for this fit.
        y: optional class to condition on: a column name of `data` (it is then modelled as the
          class, and returned as that column by `sample`), or one value per row (returned by
          `sample` as a column named after the Series, or "y").
        """
        df = as_frame(data)
        if df.columns.has_duplicates:
            dup = df.columns[df.columns.duplicated()].unique().tolist()
            raise GankitError(f"the table has duplicate column names {dup}; rename them")
        class_column, labels, position = None, None, None
        if y is not None:
            if isinstance(y, str) or (np.isscalar(y) and not isinstance(y, (bytes,))):
                if y not in df.columns:
                    raise GankitError(f"class column {y!r} is not in the table; available "
                                      f"columns: {list(df.columns)}")
                class_column, labels = y, df[y]
                position = list(df.columns).index(y)
                df = df.drop(columns=[y])
            else:
                labels = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy(),
                                   name=getattr(y, "name", None))
                if labels.ndim != 1 or len(labels) != len(df):
                    raise GankitError(f"y has {len(labels)} values for a table of {len(df)} rows; "
                                      "give one class per row (or a column name)")
                class_column = labels.name if labels.name is not None else "y"
                if class_column in df.columns:
                    raise GankitError(f"y is named {class_column!r}, like a column of the table; "
                                      "rename it or pass the column name as y")
                position = df.shape[1]
        discrete = self.discrete_columns if discrete_columns is None else discrete_columns
        if discrete is not None:
            discrete = [discrete] if isinstance(discrete, str) else list(discrete)
            discrete = [c for c in discrete if c != class_column]
        seed = seed_from(self.random_state)
        self._check_params()
        encoder = TabularEncoder(numeric=self.numeric, discrete_columns=discrete,
                                 missing=self.missing, max_modes=self.max_modes,
                                 random_state=seed)
        encoder.fit(df)
        return self._fit_with_encoder(df, encoder, labels=labels, class_column=class_column,
                                      class_position=position, seed=seed)

    def _check_params(self) -> None:
        if not isinstance(self.pac, (int, np.integer)) or self.pac < 1:
            raise GankitError(f"pac must be a positive integer, got {self.pac!r}")
        from .gans import VARIANTS
        variant = VARIANTS.get(self.model)
        if variant is None or not variant.scores_samples or "tabular" not in variant.nets:
            usable = [name for name, v in VARIANTS.items() if v.scores_samples and "tabular" in v.nets]
            raise GankitError(f"model={self.model!r} cannot train a TabularGAN (its PacGAN "
                              f"discriminator needs a scoring model); use one of {', '.join(usable)}")

    def _config(self, seed: int, conditional: bool) -> TrainConfig:
        pac = int(self.pac)
        batch = self.batch_size or DEFAULT_BATCH
        batch = int(-(-int(batch) // pac) * pac)          # a multiple of pac, rounded up
        values: dict[str, Any] = dict(
            data="table", model=self.model, net="tabular", conditional=conditional,
            remedy="pac" if pac > 1 else None, pac=pac, steps=self.steps, epochs=self.epochs,
            batch_size=batch, latent_dim=self.latent_dim or DEFAULT_LATENT,
            hidden=self.hidden or DEFAULT_HIDDEN,
            n_critic=self.n_critic or DEFAULT_N_CRITIC, lr_g=self.lr_g or DEFAULT_LR,
            lr_d=self.lr_d or DEFAULT_LR, gp_lambda=self.gp_lambda, device=self.device,
            progress=self.progress, seed=seed, tensorboard=False, log_every=50,
            threads=self.threads)
        if self.steps is None and self.epochs is None:
            values["steps"] = DEFAULT_STEPS
        if self.out is None:
            values["sample_every"] = 10**9
        values.update(self.settings or {})
        return TrainConfig.from_dict(values).resolve("table")

    def _fit_with_encoder(self, df: pd.DataFrame, encoder: TabularEncoder, labels=None,
                          class_column=None, class_position=None, seed: int | None = None):
        """Train on the rows of `df` with an encoder already fitted (possibly on more rows)."""
        from .training import train_run

        t0 = time.perf_counter()
        self._check_params()
        seed = seed_from(self.random_state) if seed is None else seed
        if len(df) < 2:
            raise GankitError(f"a TabularGAN needs at least 2 rows to learn from; got {len(df)}")
        x = encoder.transform(df)
        codes = None
        self.classes_, self.class_counts_, self._class_dtype = None, None, None
        if labels is not None:
            codes, self.classes_ = factorize_classes(labels, f"the class {class_column!r}",
                                                     "conditioning needs at least two classes")
            self.class_counts_ = np.bincount(codes, minlength=len(self.classes_)).tolist()
            self._class_dtype = _dtype_to_dict(pd.Series(labels).dtype)
        conditional = codes is not None
        config = self._config(seed, conditional)
        data = Dataset(x=torch.from_numpy(x), y=None if codes is None else torch.from_numpy(
            codes.astype(np.int64)), kind="table", name="table",
            num_classes=len(self.classes_) if conditional else 0,
            class_names=[str(c) for c in self.classes_] if conditional else None,
            meta={"columns": [str(c) for c in encoder.columns_], "encoder": encoder.numeric})
        output_info = {"output_info": [list(s) for s in encoder.output_info_]}

        def seed_gumbel_noise(module, config):
            # the Gumbel noise of the categorical outputs gets its own seeded stream
            module.generator.noise_generator = torch.Generator(device=config.device).manual_seed(
                config.seed + 1)

        with torch_threads(self.threads, config.device):
            run = train_run(config, self.out, data=(data, data), overwrite=self.overwrite,
                            command=["python", "gankit.TabularGAN.fit"], spec_extra=output_info,
                            prepare=seed_gumbel_noise)
        run.module.eval()
        self.encoder_, self.module_, self.config_ = encoder, run.module, run.config
        self.spec_ = DataSpec.of(data, **output_info)
        self._data_description = data.describe()
        self.feature_columns_ = list(encoder.columns_)
        self.discrete_columns_ = list(encoder.discrete_columns_)
        self.class_column_ = class_column
        cols = list(self.feature_columns_)
        if conditional:
            cols.insert(class_position, class_column)
        self.columns_ = cols
        self.n_features_in_ = len(cols)
        if all(isinstance(c, str) for c in cols):
            self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.steps_ = run.result.final_step
        self.fit_seconds_ = time.perf_counter() - t0
        self.seed_ = seed
        self._sample_rng = np.random.RandomState(seed)
        self.run_dir_ = Path(self.out) if self.out is not None else None
        self.history_ = None
        if self.out is not None:
            self._write_files(Path(self.out))
            self.history_ = RunDir(self.out).losses_frame()
        return self

    # -- sampling -----------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise GankitError("this TabularGAN is not fitted yet; call fit(df) or "
                              "TabularGAN.load(path) first")

    def _class_codes(self, n: int, y, rng: np.random.RandomState) -> torch.Tensor | None:
        if self.classes_ is None:
            if y is not None:
                raise GankitError("this TabularGAN is unconditional (fitted without y); "
                                  "it cannot sample by class")
            return None
        index = {c: i for i, c in enumerate(self.classes_)}
        if y is None:
            p = np.asarray(self.class_counts_, dtype=float)
            return torch.from_numpy(rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64))
        values = [y] if np.isscalar(y) else list(np.asarray(y, dtype=object).reshape(-1))
        unknown = sorted({str(v) for v in values if _py(v) not in index})
        if unknown:
            raise GankitError(f"class {unknown[:5]} was not seen in fit; the classes are "
                              f"{self.classes_}")
        codes = np.asarray([index[_py(v)] for v in values], dtype=np.int64)
        if len(codes) == 1:
            codes = np.repeat(codes, n)
        if len(codes) != n:
            raise GankitError(f"got {len(codes)} classes for {n} rows; give one class or n")
        return torch.from_numpy(codes)

    def sample(self, n: int, y=None, random_state=None) -> pd.DataFrame:
        """n generated rows as a DataFrame with the fitted columns, dtypes, categories, ranges.

        y: for a conditional model, one class value or n of them (default: classes drawn with
          their training frequencies). random_state: seeds this draw; None draws the next seed
          from the model's own stream, so successive calls differ but repeat from a refit with
          the same random_state.
        """
        self._check_fitted()
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise GankitError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        seed = (int(self._sample_rng.randint(2**31 - 1)) if random_state is None
                else seed_from(random_state))
        rng = np.random.RandomState(seed)
        codes = self._class_codes(n, y, rng)
        device = next(self.module_.generator.parameters()).device
        z_rng = torch.Generator(device=device).manual_seed(seed)
        previous = self.module_.generator.noise_generator
        self.module_.generator.noise_generator = torch.Generator(device=device).manual_seed(
            seed + 1)
        try:
            with torch_threads(self.threads, str(device)):
                encoded, _ = self.module_.sample(n, y=None if codes is None else codes.to(device),
                                                 rng=z_rng)
        finally:
            self.module_.generator.noise_generator = previous
        frame = self.encoder_.inverse_transform(encoded.cpu().numpy())
        if codes is not None:
            values = np.empty(len(self.classes_), dtype=object)
            values[:] = self.classes_
            labels = pd.Series(values[codes.numpy()])
            try:
                labels = labels.astype(_dtype_from_dict(self._class_dtype))
            except (TypeError, ValueError):
                pass
            frame.insert(self.columns_.index(self.class_column_), self.class_column_, labels)
        return frame[self.columns_]

    # -- saving -------------------------------------------------------------------------------

    def _meta(self) -> dict:
        return {"format": FORMAT, "version": 1, "columns": [_py(c) for c in self.columns_],
                "class_column": _py(self.class_column_), "classes": self.classes_,
                "class_counts": self.class_counts_, "class_dtype": self._class_dtype,
                "seed": self.seed_, "steps": self.steps_, "fit_seconds": self.fit_seconds_,
                "params": {k: v for k, v in self.get_params().items()
                           if k not in ("out",) and _jsonable(v)}}

    def _write_files(self, path: Path) -> None:
        atomic_write(path / ENCODER_FILE, self.encoder_.to_json())
        atomic_write(path / META_FILE, json.dumps(self._meta(), indent=1))

    def save(self, path, overwrite: bool = False) -> Path:
        """Write a model directory: config.yaml, checkpoints/, encoder.json, tabular_gan.json.

        A folder that is not empty is refused unless overwrite=True (the model's own run
        directory, when it was fitted with `out`, is completed in place)."""
        from .models import checkpoint_identity
        from .training.checkpoint import checkpoint_path, save_checkpoint
        from .training.run_writer import FRESH, OVERWRITE, claim_run_directory

        self._check_fitted()
        path = Path(path)
        if self.run_dir_ is not None and path.exists() and path.resolve() == Path(self.run_dir_).resolve():
            self._write_files(path)
            return path
        lock = claim_run_directory(path, OVERWRITE if overwrite else FRESH)
        try:
            description = getattr(self, "_data_description", None) or {}
            record = provenance.record(["python", "gankit.TabularGAN.save"],
                                       train=self.config_.to_dict(), spec=self.spec_.to_dict(),
                                       data=description, held_out=description)
            atomic_write(path / CONFIG_FILE, dump_yaml(record))
            identity = checkpoint_identity(self.config_, self.spec_, description.get("fingerprint"))
            save_checkpoint(checkpoint_path(path, self.steps_), self.module_, {}, {}, self.steps_,
                            extra={"format": FORMAT}, identity=identity)
            self._write_files(path)
        finally:
            lock.release()
        return path

    @classmethod
    def load(cls, path, device: str = "cpu") -> "TabularGAN":
        from .training import load_run

        path = Path(path)
        for name in (ENCODER_FILE, META_FILE):
            if not (path / name).is_file():
                raise GankitError(f"{path} is not a saved TabularGAN (no {name}); save one with "
                                  "TabularGAN.save(path)")
        try:
            meta = json.loads((path / META_FILE).read_text())
            encoder = TabularEncoder.from_json((path / ENCODER_FILE).read_text())
        except json.JSONDecodeError as exc:
            raise GankitError(f"{path} holds a corrupt model file: {exc}") from None
        if meta.get("format") != FORMAT or meta.get("version") != 1:
            raise GankitError(f"{path / META_FILE} is not a version-1 TabularGAN description")
        module, config, record = load_run(path, device=device)
        params = {k: v for k, v in meta.get("params", {}).items()
                  if k in cls._get_param_names()}
        params["device"] = device
        gan = cls(**params)
        gan.encoder_, gan.module_, gan.config_ = encoder, module, config
        gan.spec_ = DataSpec.from_dict(record["spec"])
        gan.feature_columns_ = list(encoder.columns_)
        gan.discrete_columns_ = list(encoder.discrete_columns_)
        gan.class_column_ = meta["class_column"]
        gan.classes_, gan.class_counts_ = meta["classes"], meta["class_counts"]
        gan._class_dtype = meta["class_dtype"]
        gan.columns_ = list(meta["columns"])
        gan.n_features_in_ = len(gan.columns_)
        if all(isinstance(c, str) for c in gan.columns_):
            gan.feature_names_in_ = np.asarray(gan.columns_, dtype=object)
        gan.seed_, gan.steps_ = meta["seed"], meta["steps"]
        gan.fit_seconds_ = meta.get("fit_seconds")
        gan._sample_rng = np.random.RandomState(gan.seed_)
        gan.run_dir_, gan.history_ = path, RunDir(path).losses_frame()
        gan._data_description = record.get("data") or {}
        return gan


def _jsonable(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
