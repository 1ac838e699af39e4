"""`gankit eval`: sample a run's generator and measure it against the run's held-out real data.

The real data is rebuilt from the run's config and checked against the fingerprints the run
recorded, so a metric is never computed against other data than the run was split from. Every
number is written with its protocol (sample counts, feature extractor, real split, resizing)
through `gankit.metrics.registry.record` into metrics.json / metrics.jsonl.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .errors import GankitError

DEFAULT_METRICS = {
    "points": ("modes", "prdc", "c2st", "diversity"),
    "images": ("fid", "kid", "is", "prdc", "c2st", "diversity", "classes"),
    "table": ("fid", "prdc", "c2st", "diversity"),
}
ALL_METRICS = ("fid", "kid", "is", "prdc", "c2st", "diversity", "classes", "modes", "ppl")


@dataclass
class FeatureExtractor:
    name: str                                   # written into every protocol
    features: Callable[[torch.Tensor], torch.Tensor]
    logits: Callable[[torch.Tensor], torch.Tensor] | None
    resize: str | None
    batch: int = 500                            # samples per forward pass
    judge: Any = None                           # the gankit judge, when it is the extractor


def _batched(fn, x: torch.Tensor, batch: int = 500) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([fn(x[i:i + batch]) for i in range(0, len(x), batch)]).cpu().numpy()


def judge_name(judge, train) -> str:
    """How a protocol names the judge: its architecture, training data and held-out accuracy."""
    acc = judge.held_out_accuracy
    return (f"gankit judge {judge.arch.get('type', '')} trained on {train.fingerprint}"
            + (f" (held-out accuracy {acc:.4f})" if acc is not None else ""))


def feature_extractor(spec: str, train, held_out, cache_dir=None) -> FeatureExtractor:
    """`classifier` (gankit's judge trained on the run's training split; identity for 2-D
    points), `inception:PATH` (FID Inception-v3 pool3 from a local weights file) or `raw`."""
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    if spec == "raw" or (spec == "classifier" and train.kind == "points"):
        return FeatureExtractor("raw values" if spec == "raw" else "identity (2-D points)",
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


def _real_data(record: dict):
    from .config import TrainConfig
    from .training import prepare_data

    config = TrainConfig.from_dict(record["train"])
    if config.data == "array":
        raise GankitError("this run was fitted from arrays in Python, so its real data cannot be "
                          "rebuilt; compute metrics with gankit.metrics on your held-out arrays")
    train, held_out = prepare_data(config)
    for part, data in (("data", train), ("held_out", held_out)):
        expected = record.get(part, {}).get("fingerprint")
        if expected and expected != data.fingerprint:
            raise GankitError(f"the run's {part.replace('_', '-')} data has changed since training "
                              f"(fingerprint {data.fingerprint}, recorded {expected}); "
                              "evaluate with the data the run was trained on")
    return train, held_out


def evaluate_run(run_dir, metrics=None, features: str = "classifier", n: int | None = None,
                 seed: int = 0, out=None, pictures: bool = True, cache_dir=None) -> dict[str, Any]:
    """Evaluate a run directory; returns {metric: value} and writes metrics.json and pictures."""
    from .metrics import c2st, class_distribution, diversity, fid, inception_score, kid, prdc
    from .metrics import mode_metrics, per_class_accuracy, ppl_of_module
    from .metrics.registry import make_protocol, ppl_protocol, record as record_metric
    from .training import load_run

    run_dir = Path(run_dir)
    unknown = [m for m in (metrics or ()) if m not in ALL_METRICS]
    if unknown:  # checked before anything slow is loaded
        raise GankitError(f"unknown metric(s) {unknown}; choose from {', '.join(ALL_METRICS)}")
    if n is not None and int(n) < 2:
        raise GankitError(f"-n must be at least 2 generated samples, got {n}")
    module, config, record = load_run(run_dir)
    train, held_out = _real_data(record)
    kind = train.kind
    chosen = list(dict.fromkeys(metrics)) if metrics else list(DEFAULT_METRICS[kind])
    if "modes" in chosen and train.centers is None:
        raise GankitError("the mode metrics need a built-in toy mixture (ring8, grid25, blobsK)")
    if "classes" in chosen and train.y is None:
        if metrics:
            raise GankitError("the class metrics need labelled data (a classifier of the run's "
                              "classes); this run's data has no labels")
        chosen.remove("classes")
    n_fake = n or (2500 if kind == "points" else min(10_000, max(2000, len(held_out))))
    rng = torch.Generator().manual_seed(seed)
    fake, fake_labels = module.sample(n_fake, rng=rng)
    fake = fake.cpu()
    real = held_out.x
    extractor = feature_extractor(features, train, held_out, cache_dir)
    if "is" in chosen and extractor.logits is None:
        if metrics:
            raise GankitError(f"the Inception Score needs a classifier's logits; {features!r} "
                              "features have none (use --features classifier or inception:PATH)")
        chosen.remove("is")
    real_f = _batched(extractor.features, real, extractor.batch)
    fake_f = _batched(extractor.features, fake, extractor.batch)
    split = f"held-out split ({len(held_out)} samples, fingerprint {held_out.fingerprint})"

    def protocol(**extra):
        return make_protocol(len(real_f), len(fake_f), extractor.name, split, extractor.resize,
                             seed=seed, **extra)

    results: dict[str, Any] = {}

    def put(name, value, proto):
        results[name] = value
        record_metric(run_dir, name, value, proto)

    if "modes" in chosen:
        put("modes", {k: v for k, v in mode_metrics(fake.numpy(), train.centers, train.mode_std).items()
                      if k in ("modes", "hq", "reverse_kl")},
            protocol(space="data units", definition="PacGAN/VEEGAN: high quality within 3 std",
                     n_modes=len(train.centers)))
    if "fid" in chosen:
        put("fid", fid(real_f, fake_f), protocol())
    if "kid" in chosen:
        size = min(1000, len(real_f), len(fake_f))
        put("kid", kid(real_f, fake_f, subset_size=size), protocol(subsets=100, subset_size=size,
                                                                   kernel="cubic polynomial"))
    if "prdc" in chosen:
        put("prdc", prdc(real_f, fake_f, k=5), protocol(k=5))
    if "c2st" in chosen:
        put("c2st", c2st(real_f, fake_f), protocol(classifier="knn", test_size=0.5))
    if "diversity" in chosen:
        put("diversity", diversity(real_f, fake_f), protocol(distance="euclidean in feature space"))
    if "is" in chosen:
        logits = _batched(extractor.logits, fake, extractor.batch)
        splits = min(10, len(logits))  # the usual 10, unless fewer samples than that
        put("is", inception_score(logits, splits=splits), protocol(splits=splits))
    if "classes" in chosen:
        # The classes are the run's own, so they are read by the judge (trained on the run's
        # training split) whatever the feature space: Inception's 1008 ImageNet classes or raw
        # values cannot say which digit a sample is.
        judge = extractor.judge
        if judge is None:
            from .classifier import get_judge
            judge = get_judge(train, held_out, cache_dir=cache_dir)
        class_logits = _batched(judge.logits, fake)
        dist = class_distribution(class_logits, train.num_classes)
        if fake_labels is not None:
            dist["per_class_accuracy"] = per_class_accuracy(
                class_logits.argmax(1), fake_labels.cpu().numpy(), train.num_classes)
        put("classes", dist, protocol(classifier=judge_name(judge, train)))
    if "ppl" in chosen:
        # n paths as for the other metrics' n samples, from a stream of its own. Flat samples are
        # measured in data units; images in the --features space (raw pixels with --features raw).
        in_features = kind == "images" and features != "raw"
        path = ppl_of_module(module, n_fake, rng=torch.Generator().manual_seed(seed),
                             space="features" if in_features else "raw",
                             extractor=extractor if in_features else None)
        put("ppl", {k: path[k] for k in ("ppl", "ppl_std", "n_kept")},
            ppl_protocol(path, resize=extractor.resize if in_features else None, seed=seed))
    if pictures:
        _pictures(run_dir, train, held_out, fake, real_f, fake_f, results)
    if out is not None:
        Path(out).write_text(json.dumps(json.loads((run_dir / "metrics.json").read_text()), indent=2))
    return results


def _pictures(run_dir, train, held_out, fake, real_f, fake_f, results) -> None:
    from .plots.evaluation import class_distribution_bars, scatter_kde, tsne_picture

    folder = Path(run_dir) / "eval"
    folder.mkdir(exist_ok=True)
    if train.kind == "points" and train.x.shape[1] == 2:
        scatter_kde(held_out.x.numpy(), fake.numpy(), folder / "scatter_kde.png",
                    centers=train.centers)
    else:
        tsne_picture(real_f, {"generated": fake_f}, folder / "tsne.png", n=500)
    if "classes" in results and held_out.y is not None:
        real_props = np.bincount(held_out.y.numpy(), minlength=train.num_classes) / len(held_out)
        class_distribution_bars({"generated": results["classes"]["proportions"], "real": real_props},
                                folder / "class_distribution.png", class_names=train.class_names)


def _cmd_eval(args) -> int:
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    results = evaluate_run(args.run_dir, metrics=metrics, features=args.features, n=args.n,
                           seed=args.seed, out=args.out)
    for name, value in results.items():
        print(f"{name}: {json.dumps(value, default=float)}")
    print(f"wrote {Path(args.run_dir) / 'metrics.json'}")
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("eval", help="measure a run's samples against its held-out data")
    p.add_argument("run_dir")
    p.add_argument("--metrics", help=f"comma-separated, from {','.join(ALL_METRICS)} "
                                     "(default depends on the data kind)")
    p.add_argument("--features", default="classifier",
                   help="classifier (default, trained offline on the run's data), "
                        "inception:PATH (FID Inception weights file) or raw")
    p.add_argument("-n", type=int, help="generated samples (default 2,500 for 2-D points, "
                                        "else max(2,000, held-out size) up to 10,000); "
                                        "ppl: latent paths, two samples each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the metrics JSON here")
    p.set_defaults(handler=_cmd_eval)
