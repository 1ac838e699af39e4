"""The one list of metrics `gankit eval` knows.

`METRICS` maps each name to a `Metric`: the plain function (in gankit.metrics), how it is
computed from what evaluation prepared (`EvalInputs`: real and generated samples and features,
logits, labels, the trained module), which data kinds it applies to and is a default for, what
else it needs, which way is better, how it is shown, and the protocol fields it records.
`gankit.evaluate` dispatches through this table and compares no metric name itself; a metric
may also answer to aliases (`resolve_names`) and fix how many generated samples it reads
(`sample_count`). Results are written to a run, with their protocol, by `gankit.metrics.recording`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import GankitError
from .c2st import c2st
from .classes import class_distribution, per_class_accuracy
from .columns import column_fidelity
from .diversity import diversity
from .fid import fid, inception_score, kid
from .mode_fit import mode_fit
from .modes import HQ_STDS, mode_metrics
from .ppl import perceptual_path_length, ppl_of_module
from .prdc import prdc
# re-exported for callers that import them from here (gankit.evaluate: record; tests of evaluate,
# report and stacked_mnist: REQUIRED_PROTOCOL, make_protocol, record, _jsonable); their home is
# gankit.metrics.recording
from .recording import REQUIRED_PROTOCOL, _jsonable, make_protocol, ppl_protocol, record  # noqa: F401
from .stacked_mnist import (MIN_SAMPLES, PUBLISHED_SAMPLES, measure_stacks, stacked_mnist_modes,
                            unsuited_for_stacks)

# Data kinds as the metrics see them: (how a list of kinds names it, how one run's data is named).
# Built-in toy mixtures are points with known centres; the built-in tables load as points that
# keep their column names (gankit.data.TABLE_NAMES) or, from TabularGAN, as kind "table".
DATA_KINDS = {
    "mixture": ("built-in toy mixtures (ring8, grid25, blobsK)", "a built-in toy mixture"),
    "points": ("points (e.g. a CSV of numbers)", "points"),
    "table": ("tables (e.g. iris, wine, breast-cancer)", "a table"),
    "images": ("images", "images"),
}
ALL_KINDS = tuple(DATA_KINDS)
# PRDC compares every sample with every other, so its cost grows as n^2 (timings: docs/benchmarks.md,
# "Figures behind the defaults").
PRDC_MAX = 10_000
PRDC_K = 5
KID_SUBSETS = 100


def data_kind(data) -> str:
    """"mixture", "points", "table" or "images": which metrics a Dataset's default set holds."""
    from ..data import TABLE_NAMES

    if data.kind == "images":
        return "images"
    if data.centers is not None:
        return "mixture"
    if data.kind == "table" or data.name in TABLE_NAMES:
        return "table"
    return "points"


def table_columns(data) -> list[str] | None:
    """The names of a data set's columns when its samples hold them in data units, else None
    (unnamed columns, or a table encoded for training, whose values are not in data units)."""
    columns = data.meta.get("columns")
    if not columns or "encoder" in data.meta or data.x.ndim != 2 or len(columns) != data.x.shape[1]:
        return None
    return [str(c) for c in columns]


def _quiet(message: str) -> None:
    pass


@dataclass
class EvalInputs:
    """What evaluation prepared; every metric is computed from these alone.

    fake is in data units (n, ...); the features are the extractor's, (n, d). floor_features is
    a second real sample as large as fake (toy mixtures, drawn afresh): real vs real is the
    best score a generator can get with these sample sizes. The logits are computed on first
    use (a forward pass): fake_logits by the extractor, class_logits (with the classifier's
    name) by the run's judge.
    """
    kind: str
    train: Any                       # gankit.data.Dataset: the training split
    held_out: Any                    # the real split measured against
    fake: np.ndarray
    real_features: np.ndarray
    fake_features: np.ndarray
    extractor: Any                   # gankit.evaluate.FeatureExtractor (name, resize, features)
    features_spec: str = "raw"       # what --features asked for
    seed: int = 0
    fake_labels: np.ndarray | None = None
    module: Any = None               # the trained GANModule (ppl)
    floor_features: np.ndarray | None = None
    floor_source: str = ""
    floor_points: np.ndarray | None = None   # the same sample in data units
    fake_logits: Callable[[], np.ndarray] | None = None
    class_logits: Callable[[], tuple[np.ndarray, str]] | None = None
    prdc_max: int | None = PRDC_MAX
    cache_dir: Any = None            # where judges are cached (None: $GANKIT_CACHE or ~/.cache)
    notify: Callable[[str], None] = _quiet           # one-line messages for the user
    progress: Callable[[int, int], None] | None = None  # (done, total) within the current metric

    @property
    def n_real(self) -> int:
        return len(self.real_features)

    @property
    def n_fake(self) -> int:
        return len(self.fake_features)

    @functools.cached_property
    def split(self) -> str:  # cached: the fingerprint hashes the whole held-out split
        return (f"held-out split ({len(self.held_out)} samples, fingerprint "
                f"{self.held_out.fingerprint})")

    def protocol(self, n_real: int | None = None, n_fake: int | None = None, **extra) -> dict:
        return make_protocol(self.n_real if n_real is None else n_real,
                             self.n_fake if n_fake is None else n_fake, self.extractor.name,
                             self.split, self.extractor.resize, seed=self.seed, **extra)

    def floor_protocol(self, n: int) -> dict:
        return {"floor": f"real vs real: the held-out split against {n} {self.floor_source}"}


@dataclass(frozen=True)
class Metric:
    """One metric: what it is, how evaluation computes it, where it applies, how it reads.

    compute(inputs) -> (value, protocol). better maps each field worth showing ("" for a scalar
    value, dotted paths into a dict) to which way is better: "lower", "higher", "closer to 0.5",
    "closer to 1", "closer to the real data's". A field's shown number is the stored one times `scale`, in units[field].
    protocol_fields: what its protocol records beside REQUIRED_PROTOCOL and the seed.
    picture(inputs, value, folder): draws the metric's own picture into folder, if it has one.
    needs: "labels" (labelled data), "logits" (an extractor with logits), "columns" (named
    columns in data units). requires(data): why the run's data does not suit the metric (the end
    of a one-line reason), or None, for checks beyond those.
    aliases: other spellings `--metrics` accepts. min_samples / default_samples: the fewest
    generated samples it accepts, and how many `gankit eval` draws for it when -n is not given.
    """
    name: str
    title: str
    function: Callable[..., Any]
    compute: Callable[[EvalInputs], tuple[Any, dict]]
    kinds: tuple[str, ...] = ALL_KINDS
    default_for: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    better: dict[str, str] = field(default_factory=dict)
    scale: float = 1.0
    units: dict[str, str] = field(default_factory=dict)
    protocol_fields: tuple[str, ...] = ()
    picture: Callable[[EvalInputs, Any, Path], Path] | None = None
    requires: Callable[[Any], str | None] | None = None
    aliases: tuple[str, ...] = ()
    min_samples: int = 2
    default_samples: int | None = None


# -- how each metric is computed from EvalInputs -------------------------------------------------
def _data_units(inp: EvalInputs) -> tuple[np.ndarray, np.ndarray]:
    real = inp.held_out.x.numpy().reshape(len(inp.held_out), -1).astype(np.float64)
    return real, np.asarray(inp.fake, dtype=np.float64).reshape(len(inp.fake), -1)


def _mixture_protocol(inp: EvalInputs, **extra) -> dict:
    return inp.protocol(space="data units", n_modes=len(inp.train.centers), **extra)


def _modes(inp: EvalInputs):
    out = mode_metrics(_data_units(inp)[1], inp.train.centers, inp.train.mode_std)
    return ({k: out[k] for k in ("modes", "hq", "reverse_kl")},
            _mixture_protocol(inp, definition=f"PacGAN/VEEGAN: high quality within {HQ_STDS:g} std"))


def _mode_fit(inp: EvalInputs):
    value = mode_fit(_data_units(inp)[1], inp.train.centers, inp.train.mode_std)
    protocol = _mixture_protocol(
        inp, min_samples=2,
        definition=(f"samples within {HQ_STDS:g} std of their nearest centre; spread = their std "
                    f"per axis / the true mode's std in the same window; offset = |their mean - "
                    "centre| / std"))
    if inp.floor_points is not None:
        # a real sample as large reads a spread near 1 and the offset its own noise allows
        value["floor"] = mode_fit(inp.floor_points, inp.train.centers, inp.train.mode_std)
        protocol["floor"] = f"real: {len(inp.floor_points)} {inp.floor_source}, scored alike"
    return value, protocol


def _fid(inp: EvalInputs):
    return fid(inp.real_features, inp.fake_features), inp.protocol()


def _kid(inp: EvalInputs):
    size = min(1000, inp.n_real, inp.n_fake)
    value = kid(inp.real_features, inp.fake_features, subsets=KID_SUBSETS, subset_size=size)
    return value, inp.protocol(subsets=KID_SUBSETS, subset_size=size, kernel="cubic polynomial")


def _inception_score(inp: EvalInputs):
    logits = inp.fake_logits()
    splits = min(10, len(logits))  # the usual 10, unless fewer samples than that
    return inception_score(logits, splits=splits), inp.protocol(splits=splits)


def _capped(x: np.ndarray, cap: int | None, rng: np.random.Generator) -> np.ndarray:
    return x if cap is None or len(x) <= cap else x[np.sort(rng.choice(len(x), cap, replace=False))]


def _in_parts(progress, part: int, parts: int):
    """A progress callback for one of `parts` equal parts of a metric's work."""
    if progress is None:
        return None
    return lambda done, total: progress(part * total + done, parts * total)


def _prdc(inp: EvalInputs):
    rng = np.random.default_rng(inp.seed)
    real = _capped(inp.real_features, inp.prdc_max, rng)
    fake = _capped(inp.fake_features, inp.prdc_max, rng)
    if len(real) < inp.n_real or len(fake) < inp.n_fake:
        inp.notify(f"prdc: using {len(fake):,} of {inp.n_fake:,} generated and {len(real):,} of "
                   f"{inp.n_real:,} real samples, as its cost grows as n^2; lift the cap with "
                   f"--prdc-max {max(inp.n_fake, inp.n_real)} "
                   "(gankit.evaluate.run_evaluation(prdc_max=...) in Python)")
    parts = 1 if inp.floor_features is None else 2
    value = prdc(real, fake, k=PRDC_K, progress=_in_parts(inp.progress, 0, parts))
    protocol = inp.protocol(n_real=len(real), n_fake=len(fake), k=PRDC_K, max_samples=inp.prdc_max)
    if inp.floor_features is not None:
        again = _capped(inp.floor_features, inp.prdc_max, rng)
        value["floor"] = prdc(real, again, k=PRDC_K, progress=_in_parts(inp.progress, 1, parts))
        protocol.update(inp.floor_protocol(len(again)))
    return value, protocol


def _c2st(inp: EvalInputs):
    value = c2st(inp.real_features, inp.fake_features)
    protocol = inp.protocol(classifier="knn", test_size=0.5)
    if inp.floor_features is not None:
        floor = c2st(inp.real_features, inp.floor_features)
        value["floor"] = {k: floor[k] for k in ("accuracy", "ci_low", "ci_high", "p_value")}
        protocol.update(inp.floor_protocol(len(inp.floor_features)))
    return value, protocol


def _diversity(inp: EvalInputs):
    return (diversity(inp.real_features, inp.fake_features),
            inp.protocol(distance="euclidean in feature space"))


def _column_fidelity(inp: EvalInputs):
    real, fake = _data_units(inp)
    value = column_fidelity(real, fake, columns=table_columns(inp.train))
    return value, inp.protocol(space="data units", statistics="Kolmogorov-Smirnov per numeric "
                               "column, total variation per categorical column")


def _classes(inp: EvalInputs):
    # The classes are the run's own, so they are read by the judge (trained on the run's
    # training split) whatever the feature space: Inception's 1008 ImageNet classes or raw
    # values cannot say which digit a sample is.
    logits, judge = inp.class_logits()
    value = class_distribution(logits, inp.train.num_classes)
    if inp.fake_labels is not None:
        value["per_class_accuracy"] = per_class_accuracy(logits.argmax(1), inp.fake_labels,
                                                         inp.train.num_classes)
    return value, inp.protocol(classifier=judge)


def _classes_picture(inp: EvalInputs, value, folder: Path) -> Path | None:
    from ..plots.evaluation import class_distribution_bars

    real = inp.held_out
    if real.y is None:
        return None
    real_props = np.bincount(real.y.numpy(), minlength=inp.train.num_classes) / len(real)
    return class_distribution_bars({"generated": value["proportions"], "real": real_props},
                                   folder / "class_distribution.png",
                                   class_names=inp.train.class_names)


def _ppl(inp: EvalInputs):
    # n paths as for the other metrics' n samples, from a stream of its own. Flat samples are
    # measured in data units; images in the --features space (raw pixels with --features raw).
    import torch

    in_features = inp.kind == "images" and inp.features_spec != "raw"
    path = ppl_of_module(inp.module, inp.n_fake, rng=torch.Generator().manual_seed(inp.seed),
                         space="features" if in_features else "raw",
                         extractor=inp.extractor if in_features else None)
    return ({k: path[k] for k in ("ppl", "ppl_std", "n_kept")},
            ppl_protocol(path, resize=inp.extractor.resize if in_features else None, seed=inp.seed))


def _stacked_mnist(inp: EvalInputs):
    value, fields = measure_stacks(inp.fake, inp.train, cache_dir=inp.cache_dir,
                                   notify=inp.notify, progress=inp.progress)
    return value, make_protocol(seed=inp.seed, **fields)


_MIXTURE_FIELDS = ("space", "definition", "n_modes")
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("modes", "modes captured, high-quality share and reverse KL, as in PacGAN/VEEGAN",
           mode_metrics, _modes, kinds=("mixture",), default_for=("mixture",),
           better={"modes": "higher", "hq": "higher", "reverse_kl": "lower"},
           units={"hq": "share of samples", "reverse_kl": "nats"},
           protocol_fields=_MIXTURE_FIELDS),
    Metric("mode_fit", "spread and offset of each captured mode against the true mode",
           mode_fit, _mode_fit, kinds=("mixture",), default_for=("mixture",),
           better={"spread.mean": "closer to 1", "spread.worst": "closer to 1",
                   "offset.mean": "lower", "offset.worst": "lower"},
           units={"spread.mean": "generated std / true std", "spread.worst": "generated std / true std",
                  "offset.mean": "true stds", "offset.worst": "true stds"},
           protocol_fields=_MIXTURE_FIELDS + ("min_samples",)),
    Metric("fid", "Frechet distance between Gaussians fitted to the features", fid, _fid,
           default_for=("images",), better={"": "lower"}),
    Metric("kid", "kernel (cubic polynomial) MMD^2 between the features", kid, _kid,
           default_for=("images",), better={"mean": "lower"}, scale=1000.0,
           units={"mean": "x1000, unitless"}, protocol_fields=("subsets", "subset_size", "kernel")),
    Metric("is", "Inception Score of the generated samples' logits", inception_score,
           _inception_score, default_for=("images",), needs=("logits",),
           better={"mean": "higher"}, protocol_fields=("splits",)),
    Metric("prdc", "precision, recall, density and coverage of k-NN balls", prdc, _prdc,
           default_for=ALL_KINDS,
           better={"precision": "higher", "recall": "higher", "density": "closer to 1",
                   "coverage": "higher"}, protocol_fields=("k", "max_samples")),
    Metric("c2st", "accuracy of a k-NN classifier telling real from generated", c2st, _c2st,
           default_for=("mixture", "points", "table"), better={"accuracy": "closer to 0.5"},
           protocol_fields=("classifier", "test_size")),
    Metric("diversity", "mean pairwise distance of generated samples against real ones",
           diversity, _diversity, default_for=("points",), better={"ratio": "closer to 1"},
           protocol_fields=("distance",)),
    Metric("column_fidelity", "per-column KS statistic (numeric) or total variation "
           "(categorical) in data units", column_fidelity, _column_fidelity,
           kinds=("table", "points"), default_for=("table",), needs=("columns",),
           better={"mean": "lower", "worst": "lower"}, protocol_fields=("space", "statistics")),
    Metric("classes", "class histogram and entropy of generated samples, by the run's judge",
           class_distribution, _classes, default_for=("images",), needs=("labels",),
           better={"normalised_entropy": "closer to the real data's",
                   "per_class_accuracy.accuracy": "higher"}, protocol_fields=("classifier",),
           picture=_classes_picture),
    Metric("ppl", "perceptual path length of the generator (reads no real data)",
           perceptual_path_length, _ppl, better={"ppl": "lower"},
           protocol_fields=("n_paths", "epsilon", "space", "percentiles", "sampling")),
    Metric("stacked_mnist_modes", "modes covered of 1,000 digit triples and KL to uniform, "
           "Stacked MNIST as in VEEGAN/PacGAN", stacked_mnist_modes, _stacked_mnist,
           kinds=("images",), requires=unsuited_for_stacks,
           better={"modes": "higher", "kl": "lower"}, units={"kl": "nats"},
           protocol_fields=("n_triples", "definition", "published_samples", "judge_accuracy",
                            "judge_split", "judge_note"),
           aliases=("stacked-mnist", "stacked_mnist"), min_samples=MIN_SAMPLES,
           default_samples=PUBLISHED_SAMPLES),
)}
ALIASES = {alias: m.name for m in METRICS.values() for alias in m.aliases}


def get_metric(name: str) -> Metric:
    """The metric registered under `name` or one of its aliases."""
    try:
        return METRICS[ALIASES.get(name, name)]
    except KeyError:
        raise GankitError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}") from None


def resolve_names(names) -> list[str]:
    """Registered names for `names` (aliases replaced, repeats dropped); unknown ones refused."""
    unknown = [n for n in names if n not in METRICS and n not in ALIASES]
    if unknown:
        raise GankitError(f"unknown metric(s) {unknown}; choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(ALIASES.get(n, n) for n in names))


def sample_count(names, n: int | None, fallback: int) -> int:
    """How many generated samples `gankit eval` draws for the metrics `names`: n when given
    (refused below any one's min_samples), else the largest of `fallback` and their
    default_samples."""
    chosen = [METRICS[name] for name in names]
    for metric in chosen:
        if n is not None and int(n) < metric.min_samples:
            default = (f"drop -n for its default of {metric.default_samples:,}"
                       if metric.default_samples else f"pass -n {metric.min_samples} or more")
            raise GankitError(f"{metric.name} needs at least {metric.min_samples:,} generated "
                              f"samples, got -n {n}; {default}")
    if n is not None:
        return int(n)
    return max([int(fallback)] + [m.default_samples or 0 for m in chosen])


def default_metrics(data) -> list[str]:
    """The metrics `gankit eval` computes when none are asked for, from the data's kind."""
    kind = data_kind(data)
    return [m.name for m in METRICS.values() if kind in m.default_for]


def unmet(metric: Metric, data, logits: bool | None = None, features: str = "") -> str | None:
    """Why `metric` does not apply to a run on `data` (one line), or None when it does.

    logits: whether the feature extractor has logits (None: not known yet, not checked).
    """
    kind = data_kind(data)
    head = f"{metric.name} ({metric.title})"
    if kind not in metric.kinds:
        kinds = ", ".join(DATA_KINDS[k][0] for k in metric.kinds)
        return f"{head} is for {kinds}; this run's data {data.name!r} is {DATA_KINDS[kind][1]}"
    if "labels" in metric.needs and data.y is None:
        return f"{head} needs labelled data (a classifier of the run's classes); this run's data has no labels"
    if "columns" in metric.needs and table_columns(data) is None:
        return (f"{head} needs named columns in data units; this run's data has none (it is "
                "encoded or unnamed: call gankit.metrics.column_fidelity on decoded tables)")
    if "logits" in metric.needs and logits is False:
        return (f"{head} needs a classifier's logits; {features!r} features have none "
                "(use --features classifier or inception:PATH)")
    reason = metric.requires(data) if metric.requires is not None else None
    return f"{head} {reason}" if reason else None
