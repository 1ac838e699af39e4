"""`gankit eval`: sample a run's generator and measure it against the run's held-out real data.

The real data is rebuilt from the run's config and checked against the fingerprints the run
recorded, so a metric is never computed against other data than the run was split from. Which
metrics exist, which apply to the run's data and how each is computed is the registry's
business (`gankit.metrics.registry.METRICS`); this module prepares what they read (samples,
features, logits, a second real sample for toy mixtures), dispatches, shows progress on stderr,
and prints the results. Every number is written with its protocol (sample counts, feature
extractor, real split, resizing) through `gankit.metrics.recording.record` into metrics.json /
metrics.jsonl. With `--refine drs|mh` the samples are those kept by discriminator-driven sampling
(`gankit.refine`), recorded as METRIC@drs / METRIC@mh beside the raw figures.
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .errors import GankitError
from .metrics.registry import METRICS, PRDC_K, PRDC_MAX, get_metric

# A second real sample of a toy mixture is drawn with the run's seed plus this offset (plus the
# eval seed): the training split uses the seed itself, the held-out split seed + 1,000,000.
FLOOR_SEED_OFFSET = 2_000_000


@dataclass
class FeatureExtractor:
    name: str                                   # written into every protocol
    features: Callable[[torch.Tensor], torch.Tensor]
    logits: Callable[[torch.Tensor], torch.Tensor] | None
    resize: str | None
    batch: int = 500                            # samples per forward pass
    judge: Any = None                           # the gankit judge, when it is the extractor


class Progress:
    """tqdm bars for eval's slow steps, and one-line notes, on `stream` (stderr by default).

    Bars are off with enabled=False, and by themselves when the stream is not a terminal
    (tqdm's disable=None), so logs and pipes get no bar debris; notes are always written.
    """

    def __init__(self, enabled: bool = True, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.disable = None if enabled else True

    @contextlib.contextmanager
    def step(self, desc: str, total: int = 1, unit: str | None = None):
        """A bar for one step; with a unit it counts them (batches), else it shows a percentage."""
        from tqdm.auto import tqdm

        shape = ("{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}" if unit is None
                 else "{l_bar}{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]")
        bar = tqdm(total=total, desc=desc, unit=unit or "it", file=self.stream,
                   disable=self.disable, leave=False, dynamic_ncols=True, bar_format=shape)
        try:
            yield bar
            if bar.n < bar.total:
                bar.update(bar.total - bar.n)
        finally:
            bar.close()

    def note(self, message: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(message, file=self.stream)


def _batched(fn, x: torch.Tensor, batch: int = 500, progress: Progress | None = None,
             what: str = "") -> np.ndarray:
    starts = range(0, len(x), batch)
    with torch.no_grad(), (progress.step(what, total=len(starts), unit="batch") if progress
                           else contextlib.nullcontext()) as bar:
        parts = []
        for i in starts:
            parts.append(fn(x[i:i + batch]))
            if bar is not None:
                bar.update(1)
        return torch.cat(parts).cpu().numpy()


def judge_name(judge, train) -> str:
    """How a protocol names the judge: its architecture, training data and held-out accuracy."""
    acc = judge.held_out_accuracy
    return (f"gankit judge {judge.arch.get('type', '')} trained on {train.fingerprint}"
            + (f" (held-out accuracy {acc:.4f})" if acc is not None else ""))


def feature_extractor(spec: str, train, held_out, cache_dir=None) -> FeatureExtractor:
    """`classifier` (gankit's judge trained on the run's training split; identity for points),
    `inception:PATH` (FID Inception-v3 pool3 from a local weights file) or `raw`."""
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    if spec == "raw" or (spec == "classifier" and train.kind == "points"):
        width = int(np.prod(train.sample_shape))
        return FeatureExtractor("raw values" if spec == "raw" else f"identity ({width}-D points)",
                                flat, None, None)
    if spec == "classifier":
        if train.y is None:
            raise GankitError("the classifier features need labelled data; this run's data has no "
                              "labels (use --features raw or inception:PATH)")
        from .classifier import get_judge
        judge = get_judge(train, held_out, cache_dir=cache_dir)
        return FeatureExtractor(judge_name(judge, train), judge.features, judge.logits, None,
                                judge=judge)
    if spec.startswith("inception:"):
        if train.kind != "images":
            raise GankitError("Inception features are for images; use classifier or raw features")
        from .nets.inception import load_fid_inception
        net = load_fid_inception(spec.split(":", 1)[1])  # grey images are repeated to RGB inside
        # 50 images a pass (as pytorch-fid): at 299x299, 500 would need several GB of activations
        return FeatureExtractor("FID Inception-v3 pool3 (2048-d)", net, net.logits,
                                "bilinear to 299x299", batch=50)
    raise GankitError(f"unknown features {spec!r}; use classifier, inception:PATH or raw")


def _applicable(names: list[str], asked: bool, train, progress: Progress,
                logits: bool | None = None, features: str = "") -> list[str]:
    """Those of `names` that apply to the run (logits: whether the extractor has them, None
    before it is built). One that does not is an error when asked for, else a skip noted."""
    from .metrics.registry import unmet

    kept = []
    for name in names:
        reason = unmet(METRICS[name], train, logits=logits, features=features)
        if reason and asked:
            raise GankitError(reason)
        if reason:
            progress.note(f"skipped {reason}")
        else:
            kept.append(name)
    return kept


def _floor_sample(train, n: int, seed: int, extractor, progress):
    """(features, source, points in data units) of a fresh real sample of n points for
    real-vs-real floors, when the data can be redrawn (a toy mixture, from its centres and std);
    (None, "", None) otherwise. `seed`: the run's seed plus the eval seed."""
    if train.centers is None:
        return None, "", None
    from .data.toy import sample_mixture

    floor_seed = FLOOR_SEED_OFFSET + seed
    points, _ = sample_mixture(train.centers, train.mode_std, n, floor_seed)
    features = _batched(extractor.features, torch.from_numpy(points), extractor.batch, progress,
                        f"features of {n:,} fresh real points")
    return features, f"fresh draws of {train.name} (seed {floor_seed})", points


def evaluate_run(run_dir, metrics=None, features: str = "classifier", n: int | None = None,
                 seed: int = 0, out=None, pictures: bool = True, cache_dir=None) -> dict[str, Any]:
    """Evaluate a run directory; returns {metric: value} and writes metrics.json and pictures.

    metrics: names from `gankit.metrics.registry.METRICS` (default: the data kind's set).
    Progress bars go to stderr when it is a terminal; see `run_evaluation` for the options.
    """
    return run_evaluation(run_dir, metrics=metrics, features=features, n=n, seed=seed, out=out,
                          pictures=pictures, cache_dir=cache_dir)


def run_evaluation(run_dir, metrics=None, features: str = "classifier", n: int | None = None,
                   seed: int = 0, out=None, pictures: bool = True, cache_dir=None,
                   prdc_max: int | None = PRDC_MAX, progress: Progress | None = None,
                   refine: str | None = None, mh_steps: int | None = None) -> dict[str, Any]:
    """`evaluate_run` with its cost and output controls: prdc_max caps PRDC's samples per side
    (None: no cap); progress says where bars and notes go (default: stderr, bars on a tty);
    refine: measure the samples kept by discriminator-driven sampling ("drs" or "mh",
    gankit.refine) instead of the raw ones, recorded under "<metric>@<refine>" with the
    acceptance rate and cost in the protocol."""
    from .metrics.registry import (EvalInputs, data_kind, default_metrics, record as record_metric,
                                   resolve_names, sample_count)
    from .run_directory import RunDir
    from .training import load_run, rebuild_data

    progress = progress or Progress()
    run_dir = Path(run_dir)
    metrics = resolve_names(metrics) if metrics else None  # before anything slow is loaded
    if n is not None and int(n) < 2:
        raise GankitError(f"-n must be at least 2 generated samples, got {n}")
    if prdc_max is not None and int(prdc_max) <= PRDC_K:
        raise GankitError(f"--prdc-max must be at least {PRDC_K + 1} samples (k + 1), or 0 for "
                          f"no cap; got {prdc_max}")
    module, config, record = load_run(run_dir)
    with progress.step("rebuilding the real data"):
        train, held_out = rebuild_data(config, record)
    kind = data_kind(train)
    # the data kind's defaults, or those asked for: each must apply, checked before the slow steps
    chosen = _applicable(metrics or default_metrics(train), bool(metrics), train, progress)
    n_fake = sample_count(chosen, n, 2500 if train.kind == "points"
                          else min(10_000, max(2000, len(held_out))))
    refined = None
    with progress.step(f"sampling {n_fake:,} generated samples"
                       + (f", refined by {refine}" if refine else "")):
        if refine:
            from .refine import MH_STEPS, calibrate, refine as refine_samples
            rng = torch.Generator().manual_seed(seed)
            calibration = calibrate(module, config.variant(), held_out.x,
                                    held_out.y if module.num_classes else None, rng)
            fake, fake_labels, refined = refine_samples(module, config.variant(), n_fake, refine,
                                                        calibration, rng=rng, steps=mh_steps or MH_STEPS)
            progress.note(f"{refine}: kept {refined.kept:,} of {refined.proposals:,} proposals "
                          f"({refined.proposals_per_kept:.1f} per sample)")
        else:
            fake, fake_labels = module.sample(n_fake, rng=torch.Generator().manual_seed(seed))
    fake = fake.cpu()
    with progress.step(f"feature extractor ({features})"):
        extractor = feature_extractor(features, train, held_out, cache_dir)
    chosen = _applicable(chosen, bool(metrics), train, progress,
                         logits=extractor.logits is not None, features=features)
    real_f = _batched(extractor.features, held_out.x, extractor.batch, progress,
                      f"features of {len(held_out):,} real samples")
    fake_f = _batched(extractor.features, fake, extractor.batch, progress,
                      f"features of {n_fake:,} generated samples")
    floor_f, floor_source, floor_points = _floor_sample(train, n_fake, config.seed + seed,
                                                        extractor, progress)

    @functools.cache
    def class_logits():
        from .classifier import get_judge
        judge = extractor.judge or get_judge(train, held_out, cache_dir=cache_dir)
        return _batched(judge.logits, fake), judge_name(judge, train)

    inputs = EvalInputs(
        kind=kind, train=train, held_out=held_out, fake=fake.numpy(), real_features=real_f,
        fake_features=fake_f, extractor=extractor, features_spec=features, seed=seed,
        fake_labels=None if fake_labels is None else fake_labels.cpu().numpy(), module=module,
        floor_features=floor_f, floor_source=floor_source, floor_points=floor_points,
        fake_logits=functools.cache(lambda: _batched(extractor.logits, fake, extractor.batch))
        if extractor.logits is not None else None,
        class_logits=class_logits, prdc_max=prdc_max, cache_dir=cache_dir, notify=progress.note)
    results: dict[str, Any] = {}
    for name in chosen:
        metric = METRICS[name]
        with progress.step(f"{name}: {metric.title}", total=1000) as bar:
            inputs.progress = functools.partial(_advance, bar)
            value, protocol = metric.compute(inputs)
        if refined is not None:
            # refined samples are another sampler than the generator's: recorded beside the raw
            # figures, never in their place, with what the refinement cost
            name = f"{name}@{refine}"
            protocol = {**protocol, "refinement": refined.to_dict()}
        results[name] = value
        record_metric(run_dir, name, value, protocol)
    if pictures:
        with progress.step("pictures"):
            _pictures(RunDir(run_dir).file(f"eval-{refine}" if refine else "eval"), inputs, results)
    if out is not None:
        summary, note, _ = RunDir(run_dir).metrics()
        if summary is None:
            raise GankitError(note)
        Path(out).write_text(json.dumps(summary, indent=2))
    return results


def _advance(bar, done: int, total: int) -> None:
    """Show a metric's own (done, total) on a bar of 1000 steps."""
    target = int(1000 * done / max(total, 1))
    if target > bar.n:
        bar.update(target - bar.n)


def _pictures(folder: Path, inputs, results: dict) -> None:
    from .plots.evaluation import scatter_kde, tsne_picture

    folder.mkdir(exist_ok=True)
    train = inputs.train
    if train.kind == "points" and train.x.shape[1] == 2:
        scatter_kde(inputs.held_out.x.numpy(), inputs.fake, folder / "scatter_kde.png",
                    centers=train.centers)
    else:
        tsne_picture(inputs.real_features, {"generated": inputs.fake_features},
                     folder / "tsne.png", n=500)
    for name, value in results.items():
        metric = METRICS[name.split("@")[0]]            # "fid@drs": refined samples' fid
        if metric.picture is not None:
            metric.picture(inputs, value, folder)


# -- printing -------------------------------------------------------------------------------------
_MISSING = object()


def _at(value, path: str):
    """The field at a dotted path of a (nested) dict value; "" is the value itself."""
    for part in path.split(".") if path else ():
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _number(v, scale: float = 1.0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)) and scale == 1.0:
        return str(int(v))
    return f"{float(v) * scale:.4g}"


def result_lines(name: str, value) -> list[str]:
    """How `gankit eval` prints one metric: each field worth showing, at 4 significant digits,
    with its unit, its real-vs-real floor when there is one, and which way is better."""
    metric = get_metric(name.split("@")[0])          # "fid@drs": the fid of refined samples
    lines = []
    for path, better in metric.better.items():
        field = _at(value, path)
        if field is _MISSING or isinstance(field, (dict, list)):
            continue
        parent_path, _, base = path.rpartition(".")
        parent = _at(value, parent_path)
        text = _number(field, metric.scale)
        if base == "mean" and isinstance(parent, dict) and "std" in parent:
            text += f" ± {_number(parent['std'], metric.scale)}"
        notes = [metric.units[path]] if path in metric.units else []
        if base == "accuracy" and isinstance(parent, dict) and "ci_low" in parent:
            notes.append(f"95% interval {_number(parent['ci_low'])} to {_number(parent['ci_high'])}")
        if base == "worst" and isinstance(parent, dict):
            which = parent.get("worst_column", parent.get("worst_mode"))
            if which is not None:
                notes.append(f"{'column' if 'worst_column' in parent else 'mode'} {which}")
        floor = _at(value.get("floor"), path) if isinstance(value, dict) else _MISSING
        if floor is not _MISSING and not isinstance(floor, (dict, list)):
            notes.append(f"real vs real {_number(floor, metric.scale)}")
        notes.append(f"{better} is better")
        label = name if path in ("", name) else f"{name} {path}"
        lines.append(f"{label}: {text} ({'; '.join(notes)})")
    return lines


def _cmd_eval(args) -> int:
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    results = run_evaluation(args.run_dir, metrics=metrics, features=args.features, n=args.n,
                             seed=args.seed, out=args.out,
                             prdc_max=args.prdc_max or None,
                             progress=Progress(enabled=not args.no_progress),
                             refine=args.refine, mh_steps=args.mh_steps)
    for name, value in results.items():
        for line in result_lines(name, value):
            print(line)
    print(f"wrote {Path(args.run_dir) / 'metrics.json'} (every field, with its protocol)")
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("eval", help="measure a run's samples against its held-out data")
    p.add_argument("run_dir")
    p.add_argument("--metrics", help=f"comma-separated, from {','.join(METRICS)} "
                                     "(default depends on the data kind)")
    p.add_argument("--features", default="classifier",
                   help="classifier (default, trained offline on the run's data), "
                        "inception:PATH (FID Inception weights file) or raw")
    p.add_argument("-n", type=int, help="generated samples (default 2,500 for points, "
                                        "else max(2,000, held-out size) up to 10,000, or the "
                                        "count a chosen metric's protocol fixes); "
                                        "ppl: latent paths, two samples each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the metrics JSON here")
    p.add_argument("--prdc-max", type=int, default=PRDC_MAX,
                   help=f"at most this many samples per side for prdc, whose cost grows as n^2 "
                        f"(default {PRDC_MAX:,}; 0 for no cap)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (they are off anyway when stderr is not a terminal)")
    p.add_argument("--refine", help="measure samples kept by discriminator-driven sampling: drs or "
                   "mh (gankit.refine); recorded as METRIC@drs / METRIC@mh beside the raw figures")
    p.add_argument("--mh-steps", type=int, help="proposals per MH chain (default 20)")
    p.set_defaults(handler=_cmd_eval)
