"""`gankit experiment conditional-coverage`: does conditioning on the label stop a GAN from
dropping classes? The material's MNIST comparison, run for real.

Two WGAN-GPs are trained on the same training split with the same settings (gankit's image
defaults), one unconditional and one conditioned on the class. A judge, a classifier trained by
gankit on that training split (never an untrained one, the material's mistake), with its accuracy
measured on the held-out split, classifies `samples` generated images of each model. Reported:

- the class distribution of each model's samples, its entropy and normalised entropy
  (H / log K: 1 = every class equally often, 0 = one class), its total-variation distance to the
  judge's class distribution on real held-out images, and the number of classes the model
  (nearly) drops (share below half of uniform);
- for the conditional model, per-class accuracy: the share of samples generated for class k that
  the judge calls k;
- FID in the judge's 128-d feature space (gankit's offline extractor; comparable between the two
  models here, not with Inception FIDs elsewhere);
- pictures: class-distribution bars (unconditional, conditional, real) and a t-SNE of real,
  unconditional and conditional samples in the judge's feature space, plus each run's last
  sample grid.

Files in --out: results.json, results.md, class_distribution.png, tsne.png, report.html and the
two run directories (unconditional/, conditional/), which `gankit eval` and `gankit report` read.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import GankitError

DEFAULT_SAMPLES = 10_000
TSNE_POINTS = 1000          # per set (real, unconditional, conditional)
MODELS = ("unconditional", "conditional")


def _settings(data, steps, seed, device, progress, settings) -> "Any":
    from ..config import TrainConfig

    fixed = sorted(set(settings) & {"data", "model", "conditional", "seed", "steps"})
    if fixed:
        raise GankitError(f"the experiment sets {', '.join(fixed)} itself; pass them as its own "
                          "arguments (data, steps, seed)")
    if steps is not None and int(steps) < 1:
        raise GankitError(f"--steps must be at least 1, got {steps}")
    values = {"data": str(data), "model": "wgan-gp", "steps": None if steps is None else int(steps),
              "seed": int(seed), "device": device, "progress": progress, "tensorboard": False}
    values.update(settings)
    return TrainConfig.from_dict(values)


def _class_summary(logits: torch.Tensor, num_classes: int, reference: np.ndarray | None) -> dict:
    from ..metrics import class_distribution

    dist = class_distribution(logits, num_classes)
    p = np.asarray(dist["proportions"])
    dist["entropy"] = abs(dist["entropy"])                 # never print -0.0
    dist["normalised_entropy"] = abs(dist["normalised_entropy"])
    dist["dropped_classes"] = int((p < 0.5 / num_classes).sum())
    dist["max_share"] = float(p.max())
    dist["min_share"] = float(p.min())
    if reference is not None:
        dist["tv_to_real"] = float(0.5 * np.abs(p - reference).sum())
    return dist


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise GankitError(f"--out {out} exists and is not a folder")
    for name in MODELS:
        ckpt = out / name / "checkpoints"
        if ckpt.is_dir() and any(ckpt.iterdir()):
            raise GankitError(f"{out / name} already holds a trained run; choose another --out "
                              "or delete that folder")


def run_conditional_coverage(data: str = "digits", steps: int | None = None,
                             samples: int = DEFAULT_SAMPLES, out: str | Path | None = None, *,
                             seed: int = 0, judge_epochs: int | None = None, cache_dir=None,
                             tsne_points: int = TSNE_POINTS, device: str = "cpu",
                             progress: bool = False, report: bool = True,
                             **settings) -> dict[str, Any]:
    """Train an unconditional and a conditional WGAN-GP on `data`, judge `samples` of each.

    data: "digits" or a path to labelled images (an MNIST IDX folder, an image folder with class
    sub-folders, an .npz with labels); any labelled data gankit reads works. steps: generator
    steps of each run (default: gankit's default for the data, 500 for image WGAN-GPs).
    samples: generated samples per model that the judge classifies. judge_epochs: the judge's
    training epochs (default: about 25k sample presentations); the judge is cached by data
    fingerprint under cache_dir (default $GANKIT_CACHE or ~/.cache/gankit). tsne_points: samples
    per set in the t-SNE picture.
    settings: further TrainConfig fields for both runs (tests use narrow networks).
    out: folder for the files (required).

    Returns the content of results.json (plus "files": what was written).
    """
    from ..classifier import get_judge
    from ..training import prepare_data

    if out is None:
        raise GankitError("no output folder given: pass --out DIR")
    samples, tsne_points = int(samples), int(tsne_points)
    config = _settings(data, steps, seed, device, progress, settings)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    train, held_out = prepare_data(config)
    _check_sizes(train, samples, tsne_points)
    k = train.num_classes
    out = Path(out)
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda msg: print(f"gankit: {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)

    runs = _train_both(config, train, held_out, out, say)
    say("training (or loading) the judge")
    t0 = time.perf_counter()
    judge = get_judge(train, held_out, cache_dir=cache_dir, epochs=judge_epochs, seed=0,
                      verbose=progress)
    judge_seconds = time.perf_counter() - t0
    real, real_features = _judge_real(judge, held_out, k)
    models, features = _judge_samples(runs, judge, real_features, np.asarray(real["proportions"]),
                                      samples, seed, k)

    say("drawing the pictures")
    names = train.class_names if train.class_names and len(train.class_names) == k else None
    pictures = _draw_pictures(out, models, real, real_features, features, names, samples,
                              tsne_points, seed)
    results = _results_record(train, held_out, runs, judge, judge_seconds, real, models, names,
                              samples, seed, steps is None, wall0, cpu0)
    results["files"] = _write_files(out, results, pictures, report)
    return results


def _check_sizes(train, samples: int, tsne_points: int) -> None:
    """Refuses unlabelled or one-class data, fewer samples than classes, and a t-SNE of too few."""
    if train.y is None or train.num_classes < 2:
        raise GankitError(f"the conditional-coverage experiment needs labelled data with at least "
                          f"2 classes; {train.name!r} has "
                          f"{'no labels' if train.y is None else 'one class'}")
    k = train.num_classes
    if samples < k:
        raise GankitError(f"--samples must be at least the number of classes ({k}), got {samples}")
    if tsne_points < 10:
        raise GankitError(f"tsne_points must be at least 10, got {tsne_points}")


def _train_both(config, train, held_out, out: Path, say) -> dict[str, Any]:
    """The two runs, unconditional then conditional, in out/<model>: model -> trained run."""
    from ..training import train_run

    runs: dict[str, Any] = {}
    for name in MODELS:
        cfg = dataclasses.replace(config, conditional=(name == "conditional"))
        say(f"training the {name} WGAN-GP on {train.name} ({len(train)} images)")
        runs[name] = train_run(cfg, out / name, data=(train, held_out))
    return runs


def _judge_real(judge, held_out, k: int) -> tuple[dict, torch.Tensor]:
    """The judge's class summary of the real held-out images (with their true class shares), and
    its features of them."""
    real_logits, real_features = judge.logits(held_out.x), judge.features(held_out.x)
    real_true = np.bincount(held_out.y.numpy(), minlength=k) / len(held_out)
    real = _class_summary(real_logits, k, None)
    real["true_proportions"] = [float(v) for v in real_true]
    return real, real_features


def _judge_samples(runs: dict[str, Any], judge, real_features: torch.Tensor, real_p: np.ndarray,
                   samples: int, seed: int, k: int) -> tuple[dict, dict]:
    """Per model: the judge's class summary of `samples` generated images, per-class accuracy
    (conditional), FID in the judge's features and times; and the judge's features of them."""
    from ..metrics import fid, per_class_accuracy

    models: dict[str, dict[str, Any]] = {}
    features: dict[str, np.ndarray] = {}
    for name, run in runs.items():
        module = run.module
        dev = next(module.generator.parameters()).device
        rng = torch.Generator(device=dev).manual_seed(seed + 12345)
        t0 = time.perf_counter()
        fake, labels = module.sample(samples, rng=rng)
        fake = fake.cpu()
        logits, feats = judge.logits(fake), judge.features(fake)
        entry = _class_summary(logits, k, real_p)
        if labels is not None:
            entry["per_class_accuracy"] = per_class_accuracy(logits, labels.cpu().numpy(), k)
        entry["fid_judge"] = fid(real_features, feats)
        entry["train_seconds"] = round(run.result.seconds, 2)
        entry["steps"] = run.result.final_step
        entry["sample_seconds"] = round(time.perf_counter() - t0, 2)   # generate and judge
        entry["run_dir"] = name
        models[name] = entry
        features[name] = feats.numpy()
    return models, features


def _draw_pictures(out: Path, models: dict, real: dict, real_features: torch.Tensor,
                   features: dict, names, samples: int, tsne_points: int, seed: int) -> dict[str, Path]:
    """class_distribution.png and tsne.png in `out`."""
    from ..plots.evaluation import class_distribution_bars, tsne_picture

    bars = class_distribution_bars(
        {"unconditional": models["unconditional"]["proportions"],
         "conditional": models["conditional"]["proportions"], "real": real["proportions"]},
        out / "class_distribution.png", class_names=names,
        title=f"Class distribution of {samples:,} samples per model, as the judge classifies them")
    tsne = tsne_picture(real_features.numpy(), features, out / "tsne.png", n=tsne_points,
                        random_state=seed,
                        title="t-SNE of the judge's features: real (grey) and generated")
    return {"class_distribution": bars, "tsne": tsne}


def _results_record(train, held_out, runs: dict, judge, judge_seconds: float, real: dict,
                    models: dict, names, samples: int, seed: int, default_steps: bool,
                    wall0: float, cpu0: float) -> dict[str, Any]:
    """The content of results.json: data, settings, judge, real and per-model summaries, times."""
    from ..provenance import library_versions

    k = train.num_classes
    resolved = {name: run.config.to_dict() for name, run in runs.items()}
    for name, run in runs.items():   # the steps taken, also when the default budget chose them
        resolved[name]["steps"] = run.config.total_steps(len(train))
    differing = sorted(key for key in resolved["unconditional"]
                       if resolved["unconditional"][key] != resolved["conditional"][key])
    results: dict[str, Any] = {
        "experiment": "conditional-coverage",
        "data": train.describe(),
        "held_out": held_out.describe(),
        "num_classes": k,
        "class_names": names or [str(i) for i in range(k)],
        "samples": samples,
        "seed": seed,
        "default_steps": default_steps,
        "settings": {key: v for key, v in resolved["conditional"].items() if key != "conditional"},
        "settings_differing": differing,
        "judge": {"architecture": judge.arch, "held_out_accuracy": judge.held_out_accuracy,
                  "per_class_accuracy": judge.per_class_accuracy,
                  "train_accuracy": judge.record.get("train_accuracy"),
                  "epochs": judge.record.get("epochs"), "n_train": judge.record.get("n_train"),
                  "n_held_out": judge.record.get("n_held_out"),
                  "train_fingerprint": judge.record.get("train_fingerprint"),
                  "seconds": round(judge_seconds, 2)},
        "real": real,
        "models": models,
        "wall_seconds": round(time.perf_counter() - wall0, 2),
        "cpu_seconds": round(time.process_time() - cpu0, 2),
        "torch_threads": torch.get_num_threads(),
        "command": sys.argv,
    }
    results["versions"] = library_versions()
    return results


def _write_files(out: Path, results: dict, pictures: dict[str, Path], report: bool) -> dict[str, str]:
    """results.json, results.md and (with `report`) report.html; every file written, by name."""
    files = {"results.json": out / "results.json", "results.md": out / "results.md", **pictures}
    (out / "results.json").write_text(json.dumps(_plain(results), indent=2, allow_nan=False) + "\n")
    (out / "results.md").write_text(results_markdown(results))
    if report:
        files["report"] = _write_report(out, results)
    return {key: str(v) for key, v in files.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _pct(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{100 * v:.1f}%"


def summary_rows(results: dict) -> list[dict[str, Any]]:
    """One row per model and one for the real held-out images."""
    k = results["num_classes"]
    rows = []
    for name in MODELS:
        m = results["models"][name]
        pca = m.get("per_class_accuracy")
        rows.append({"model": name, "normalised entropy": m["normalised_entropy"],
                     "entropy (nats)": m["entropy"], "TV to real": m["tv_to_real"],
                     "dropped classes": f"{m['dropped_classes']} / {k}",
                     "largest class share": m["max_share"], "smallest class share": m["min_share"],
                     "conditional accuracy": None if pca is None else pca["accuracy"],
                     "FID (judge features)": m["fid_judge"], "train seconds": m["train_seconds"]})
    r = results["real"]
    rows.append({"model": "real (held out)", "normalised entropy": r["normalised_entropy"],
                 "entropy (nats)": r["entropy"], "TV to real": 0.0,
                 "dropped classes": f"{r['dropped_classes']} / {k}",
                 "largest class share": r["max_share"], "smallest class share": r["min_share"],
                 "conditional accuracy": None, "FID (judge features)": None, "train seconds": None})
    return rows


def class_rows(results: dict) -> list[dict[str, Any]]:
    """One row per class: shares of each model, the real shares, and conditional accuracy."""
    rows = []
    pca = results["models"]["conditional"].get("per_class_accuracy") or {}
    for i, name in enumerate(results["class_names"]):
        rows.append({"class": name,
                     "unconditional share": results["models"]["unconditional"]["proportions"][i],
                     "conditional share": results["models"]["conditional"]["proportions"][i],
                     "real share (judge)": results["real"]["proportions"][i],
                     "real share (labels)": results["real"]["true_proportions"][i],
                     "conditional accuracy": (pca.get("per_class") or [None] * (i + 1))[i],
                     "judge held-out accuracy": (results["judge"]["per_class_accuracy"] or [None] * (i + 1))[i]})
    return rows


def results_markdown(results: dict) -> str:
    judge = results["judge"]
    s = results["settings"]
    k = results["num_classes"]
    lines = [
        f"# Conditional coverage on {results['data']['name']}",
        "",
        f"Unconditional vs conditional WGAN-GP, {s['steps']} generator steps each, same settings "
        f"otherwise (batch {s['batch_size']}, conv width {s['width']}, latent {s['latent_dim']}, "
        f"Adam lr {s['lr_g']:g} betas {tuple(s['betas_g'])}, n_critic {s['n_critic']}, "
        f"gradient penalty {s['gp_lambda']:g}, seed {results['seed']}); "
        f"{results['data']['n']} training and {results['held_out']['n']} held-out images, "
        f"{k} classes. {results['samples']:,} samples per model, classified by the judge "
        f"(a {judge['architecture'].get('type', '')} trained by gankit on the training split for "
        f"{judge['epochs']} epochs), whose held-out accuracy is **{_pct(judge['held_out_accuracy'])}**.",
        "",
        "| model | normalised entropy | entropy (nats) | TV to real | dropped classes | largest share | "
        "smallest share | conditional accuracy | FID (judge features) | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary_rows(results):
        fid_v, secs, acc = r["FID (judge features)"], r["train seconds"], r["conditional accuracy"]
        lines.append(
            f"| {r['model']} | {r['normalised entropy']:.4f} | {r['entropy (nats)']:.3f} | "
            f"{r['TV to real']:.3f} | {r['dropped classes']} | {_pct(r['largest class share'])} | "
            f"{_pct(r['smallest class share'])} | {'' if acc is None else _pct(acc)} | "
            f"{'' if fid_v is None else f'{fid_v:.2f}'} | {'' if secs is None else f'{secs:.0f}'} |")
    lines += [
        "",
        f"Normalised entropy is H / log {k} (1: every class equally often). TV to real: total "
        "variation distance between the model's class shares and the judge's class shares on "
        f"real held-out images. Dropped classes: share below half of uniform (< {50 / k:.1f}%). "
        "Conditional accuracy: share of samples generated for class k that the judge calls k "
        "(samples are generated for every class equally). FID in the judge's 128-d penultimate "
        "features: comparable between these two models, not with Inception FIDs.",
        "",
        "| class | unconditional share | conditional share | real share (judge) | real share (labels) | "
        "conditional accuracy | judge held-out accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in class_rows(results):
        lines.append(f"| {r['class']} | {_pct(r['unconditional share'])} | {_pct(r['conditional share'])} | "
                     f"{_pct(r['real share (judge)'])} | {_pct(r['real share (labels)'])} | "
                     f"{_pct(r['conditional accuracy'])} | {_pct(r['judge held-out accuracy'])} |")
    lines += [
        "",
        "![class distribution](class_distribution.png)",
        "",
        "![t-SNE](tsne.png)",
        "",
        f"Total {results['wall_seconds']:.0f} s wall, {results['cpu_seconds']:.0f} s CPU "
        f"({results['torch_threads']} torch threads). Runs: [unconditional/](unconditional/), "
        "[conditional/](conditional/).",
        "",
    ]
    return "\n".join(lines)


def _last_snapshot(run_dir: Path) -> Path | None:
    found = sorted((run_dir / "samples").glob("step_*.png"))
    return found[-1] if found else None


def _write_report(out: Path, results: dict) -> Path:
    from ..report import Section, Table, write_experiment_report

    judge = results["judge"]
    k = results["num_classes"]
    percent = {"normalised entropy": ".1%", "largest class share": ".1%", "smallest class share": ".1%",
               "conditional accuracy": ".1%", "TV to real": ".3f", "entropy (nats)": ".3f",
               "FID (judge features)": ".2f", "train seconds": ".0f"}
    class_formats = {c: ".1%" for c in ("unconditional share", "conditional share", "real share (judge)",
                                       "real share (labels)", "conditional accuracy",
                                       "judge held-out accuracy")}
    snapshots = []
    for name in MODELS:
        snap = _last_snapshot(out / name)
        if snap is not None:
            snapshots.append((snap, f"{name}: samples from fixed noise at the last snapshot"
                              + (" (one row per class)" if name == "conditional" else "")))
    s = results["settings"]
    intro = (f"Unconditional vs conditional WGAN-GP on **{results['data']['name']}** "
             f"({results['data']['n']} training, {results['held_out']['n']} held-out images, {k} classes), "
             f"{s['steps']} generator steps each with the same settings; {results['samples']:,} samples "
             f"per model classified by gankit's judge (held-out accuracy "
             f"**{_pct(judge['held_out_accuracy'])}**). Total {results['wall_seconds']:.0f} s wall. "
             "Tables and definitions: [results.md](results.md); every number: [results.json](results.json).")
    sections = [
        Section("Class coverage",
                f"Normalised entropy: H / log {k}. Dropped classes: share below half of uniform. "
                "TV to real: total variation distance to the judge's class shares on real held-out "
                "images. Conditional accuracy: samples generated for class k that the judge calls k.",
                tables=[Table(summary_rows(results), caption="Per model", formats=percent)],
                figures=[("class_distribution.png", "Class shares as the judge classifies the samples"),
                         ("tsne.png", "t-SNE of the judge's features: real (grey) with each model's samples")]),
        Section("Per class", "",
                tables=[Table(class_rows(results), caption="Shares and accuracies per class",
                              formats=class_formats)]),
        Section("Samples", "", figures=snapshots,
                notes=[] if snapshots else ["the runs wrote no sample snapshots"]),
    ]
    return write_experiment_report(out, f"Conditional coverage on {results['data']['name']}", sections,
                                   intro=intro, data={"results": _plain(results)})


# ------------------------------------------------------------------------------ command line


def register(experiment_subparsers) -> None:
    """Adds `gankit experiment conditional-coverage`."""
    p = experiment_subparsers.add_parser(
        "conditional-coverage", help="unconditional vs conditional WGAN-GP: class coverage on MNIST/digits",
        description="Train an unconditional and a conditional WGAN-GP with the same settings, classify "
                    "generated samples of each with a judge trained on the training split, and report "
                    "the class distribution, its normalised entropy, per-class accuracy of the "
                    "conditional model, a bar chart and a t-SNE picture in --out.")
    p.add_argument("--data", default="digits",
                   help="digits (default) or a path to labelled images, e.g. an MNIST IDX folder")
    p.add_argument("--steps", type=int, help="generator steps of each run (default: gankit's default for the data, "
                        "500 for image WGAN-GPs)")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"generated samples per model that the judge classifies (default {DEFAULT_SAMPLES:,})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--judge-epochs", type=int, help="judge training epochs (default: about 25k presentations)")
    p.add_argument("--tsne-points", type=int, default=TSNE_POINTS,
                   help=f"samples per set in the t-SNE picture (default {TSNE_POINTS})")
    p.add_argument("--width", type=int, help="conv base width of both runs (default 32)")
    p.add_argument("--batch-size", type=int, help="batch size of both runs (default 64)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    from .cli import add_output_options
    add_output_options(p)
    p.set_defaults(handler=_cmd_conditional_coverage)


def _cmd_conditional_coverage(args) -> int:
    if args.judge_epochs is not None and args.judge_epochs < 1:
        raise GankitError(f"--judge-epochs must be at least 1, got {args.judge_epochs}")
    nets = {key: getattr(args, key) for key in ("width", "batch_size") if getattr(args, key) is not None}
    results = run_conditional_coverage(
        data=args.data, steps=args.steps, samples=args.samples, out=args.out, seed=args.seed,
        judge_epochs=args.judge_epochs, tsne_points=args.tsne_points, device=args.device,
        progress=args.progress, report=args.report, **nets)
    print(f"judge held-out accuracy {_pct(results['judge']['held_out_accuracy'])}")
    for name in MODELS:
        m = results["models"][name]
        extra = ""
        if m.get("per_class_accuracy"):
            extra = f", conditional accuracy {_pct(m['per_class_accuracy']['accuracy'])}"
        print(f"{name:>13}: normalised entropy {m['normalised_entropy']:.4f}, TV to real "
              f"{m['tv_to_real']:.3f}, dropped classes {m['dropped_classes']}{extra}")
    print(f"{results['wall_seconds']:.0f} s wall; wrote " + ", ".join(results["files"].values()))
    return 0
