"""What the Stacked MNIST experiment writes and prints: its tables, pictures and records.

From the frame `run_stacked_mnist` returns (one row per run): the summary over seeds
(`summarise`), results.md with PacGAN's Table 2 beside it and how gankit's protocol differs
(`results_markdown`), a sample grid per model (samples/MODEL-DWIDTH.png), results.csv,
report.html, experiment.json (`write_outputs`) and the table the command prints
(`print_summary`).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.stacked_mnist import PUBLISHED_STACKS
from ..metrics.stacked_mnist import DEFINITION, PUBLISHED_SAMPLES

# PacGAN (Lin et al. 2018), Table 2: Stacked MNIST in VEEGAN's protocol; the first four rows are
# VEEGAN's (Srivastava et al. 2017). (model, modes of 1,000, KL)
PUBLISHED = [("DCGAN", 99, 3.40), ("ALI", 16, 5.40), ("Unrolled GAN", 48.7, 4.32),
             ("VEEGAN", 150, 2.95), ("PacDCGAN2", 1000.0, 0.06)]
PUBLISHED_SOURCE = ("PacGAN (Lin et al. 2018), Table 2, in VEEGAN's protocol (Srivastava et al. "
                    "2017; the first four rows are VEEGAN's)")
PROTOCOL_DIFFERENCES = [
    "Image size: 32x32 here (gankit's conv networks take 32 or 64, so each 28x28 digit is "
    "resized); the papers' stacks are 28x28.",
    "Digits: drawn from the 10,000 MNIST test images (the 60k training files are not kept "
    "here); the papers draw from MNIST itself.",
    "Judge: gankit's digit judge trained on 8,000 of those test images and measured on the "
    "other 2,000; the papers read samples with a classifier pretrained on MNIST's 60,000 "
    "training images.",
    "Networks and budget: gankit's DCGAN generator and discriminator (or WGAN-GP critic) with "
    "`gankit train`'s defaults, trained for the steps shown on one CPU; the papers use their own "
    "networks and train for many epochs on a GPU.",
    "Same as the papers: unconditional training, 1,000 triples, 26,000 samples by default, "
    "modes = distinct triples read, KL(p_model || uniform) in nats with 0 log 0 = 0.",
]
REFERENCES = [
    "Lin, Z., Khetan, A., Fanti, G. and Oh, S. (2018). PacGAN: The power of two samples in "
    "generative adversarial networks. NeurIPS 2018. Table 2 (Stacked MNIST).",
    "Srivastava, A., Valkov, L., Russell, C., Gutmann, M. U. and Sutton, C. (2017). VEEGAN: "
    "Reducing mode collapse in GANs using implicit variational learning. NeurIPS 2017.",
    "Metz, L., Poole, B., Pfau, D. and Sohl-Dickstein, J. (2017). Unrolled generative "
    "adversarial networks. ICLR 2017.",
]


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and discriminator width: mean and std (over seeds) of modes and KL, the worst
    seed (fewest modes, largest KL), runs, failed runs and training CPU seconds per run."""
    keys = ["model", "label", "d_width", "d_width_channels", "width"]
    grouped = frame.groupby(keys, sort=False)
    table = grouped[["modes", "kl", "train_cpu_seconds", "steps"]].agg(["mean", "std"])
    table.columns = [f"{m}_{s}" for m, s in table.columns]
    table["modes_min"] = grouped["modes"].min()
    table["kl_max"] = grouped["kl"].max()
    table["runs"] = grouped.size()
    table["failed"] = grouped["status"].agg(lambda s: int((s != "ok").sum()))
    return table.reset_index()


def _pm(mean, std, fmt="{:.1f}") -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = fmt.format(mean)
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += " ± " + fmt.format(std)
    return text


def _value(v, fmt) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _d_width_text(r) -> str:
    return f"{r['d_width']} ({int(r['d_width_channels'])} of {int(r['width'])})"


def results_markdown(frame: pd.DataFrame) -> str:
    """results.md: the mean ± std table, the published rows beside it, the protocol and how it
    differs from the papers'."""
    summary = summarise(frame)
    attrs = frame.attrs
    judge = attrs.get("judge", {})
    seeds = sorted(frame["seed"].unique().tolist())
    samples = attrs.get("samples", PUBLISHED_SAMPLES)
    lines = ["# Stacked MNIST: modes (of 1,000) and KL", ""]
    lines += [
        f"{len(frame)} runs: {summary.shape[0]} model / discriminator-width pair(s) x "
        f"{len(seeds)} seed(s) ({', '.join(map(str, seeds))}); "
        f"{', '.join(map(str, sorted(frame['steps'].unique())))} generator steps per run on "
        f"{_value(attrs.get('stacks'), '{:,}')} training stacks, unconditional; every other "
        "setting the default of `gankit train` for the model. The discriminator's base width is "
        "shown as a share of the generator's (*full*, *half*, *quarter*: VEEGAN's and PacGAN's "
        "narrower discriminator makes collapse visible).",
        "",
        f"Each run's samples: {samples:,} "
        + ("(as published)" if samples == PUBLISHED_SAMPLES else
           f"(fewer than the published {PUBLISHED_SAMPLES:,}: not comparable with the papers, "
           "and both modes and KL are biased, KL upwards)")
        + f", read channel by channel by the digit judge ({judge.get('features', 'gankit')}; "
        f"held-out accuracy {_value(judge.get('judge_accuracy'), '{:.4f}')}). {DEFINITION}.",
        "",
        f"Time: {attrs.get('wall_seconds', float('nan')):.0f} s wall, "
        f"{attrs.get('cpu_seconds', float('nan')):.0f} s CPU in all "
        f"({attrs.get('threads', 1)} torch thread(s)); *train CPU s* is per run.",
        "",
        "| model | D width | modes (mean ± std) | fewest modes | KL (mean ± std) | largest KL | "
        "steps | train CPU s | runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in summary.iterrows():
        runs = f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
        lines.append(
            f"| {r['label']} | {_d_width_text(r)} | {_pm(r['modes_mean'], r['modes_std'])} | "
            f"{_value(r['modes_min'], '{:.0f}')} | {_pm(r['kl_mean'], r['kl_std'], '{:.3f}')} | "
            f"{_value(r['kl_max'], '{:.3f}')} | {r['steps_mean']:.0f} | "
            f"{_value(r['train_cpu_seconds_mean'], '{:.0f}')} | {runs} |")
    lines += ["", "## Published figures", "",
              f"{PUBLISHED_SOURCE}: 25,600 training stacks of 28x28, 26,000 samples read by a "
              "pretrained MNIST classifier.", "",
              "| model | modes (of 1,000) | KL |", "|---|---|---|"]
    lines += [f"| {label} | {modes} | {kl:.2f} |" for label, modes, kl in PUBLISHED]
    lines += ["", "## How gankit's protocol differs", ""]
    lines += [f"- {text}" for text in PROTOCOL_DIFFERENCES]
    if judge.get("judge_note"):
        lines.append(f"- The judge's record: {judge['judge_note']}.")
    lines += ["", "## References", ""] + [f"- {r}" for r in REFERENCES]
    lines += ["", "Files: `results.csv` (one row per run), `samples/` (64 samples of the first "
              "good seed of each model), `runs/` (each run's directory: `gankit eval RUN "
              "--metrics stacked-mnist` reads it), `experiment.json` (settings, times and the "
              "count of each triple per run).", ""]
    return "\n".join(lines)


def save_sample_grids(pictures: dict, out: Path) -> dict[tuple[str, str], Path]:
    """samples/MODEL-DWIDTH.png: 64 samples (8 x 8) of each model's first good seed, twice
    the size."""
    from ..imaging import save_grid

    folder = out / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    return {key: save_grid(x, folder / f"{key[0]}-{key[1]}.png", nrow=8, upscale=2)
            for key, (_, x) in pictures.items()}


def write_outputs(frame: pd.DataFrame, runs: Sequence, counts: Sequence, pictures: dict, out: Path,
                  report: bool = True) -> dict[str, Path]:
    """results.csv, results.md, samples/*.png, experiment.json and (with `report`) report.html."""
    out = Path(out)
    files: dict[str, Path] = {"csv": out / "results.csv", "markdown": out / "results.md",
                              "record": out / "experiment.json"}
    frame.to_csv(files["csv"], index=False)
    grids = save_sample_grids(pictures, out)
    files.update({f"samples {m} {w}": path for (m, w), path in grids.items()})
    files["markdown"].write_text(results_markdown(frame))
    write_record(files["record"], frame, runs, counts)
    if report:
        files["report"] = _write_html_report(out, frame, grids, pictures)
    return files


def _write_html_report(out: Path, frame: pd.DataFrame, grids: dict, pictures: dict) -> Path:
    """DIR/report.html through gankit.report.write_experiment_report."""
    from ..report import Section, Table, write_experiment_report

    summary = summarise(frame)
    shown = summary[["label", "d_width", "d_width_channels", "modes_mean", "modes_std",
                     "modes_min", "kl_mean", "kl_std", "kl_max", "steps_mean",
                     "train_cpu_seconds_mean", "runs", "failed"]]
    labels = dict(zip(zip(summary["model"], summary["d_width"]), summary["label"]))
    figures = [(path, f"{labels.get(key, key[0])}, D {key[1]}, seed {pictures[key][0]}")
               for key, path in grids.items()]
    attrs = frame.attrs
    intro = (f"{len(frame)} runs, {attrs.get('samples', PUBLISHED_SAMPLES):,} samples each read by "
             f"the digit judge; total {attrs.get('wall_seconds', float('nan')):.0f} s wall, "
             f"{attrs.get('cpu_seconds', float('nan')):.0f} s CPU. Protocol, differences from the "
             "papers and references: [results.md](results.md); every run: "
             "[results.csv](results.csv).")
    published = [{"model": label, "modes": modes, "KL": kl} for label, modes, kl in PUBLISHED]
    sections = [
        Section("Results", "Mean ± std over seeds; *fewest modes* and *largest KL* are the worst "
                "seed. D width: the discriminator's base width (channels) and its share of the "
                "generator's.",
                tables=[Table(shown, caption="Modes (of 1,000) and KL(p || uniform) per model",
                              formats={"modes_mean": ".1f", "kl_mean": ".3f", "kl_max": ".3f",
                                       "train_cpu_seconds_mean": ".0f", "steps_mean": ".0f"})],
                figures=figures),
        Section("Published figures", PUBLISHED_SOURCE + ".",
                tables=[Table(published, caption="PacGAN, Table 2")],
                notes=PROTOCOL_DIFFERENCES[:4]),
    ]
    return write_experiment_report(out, "Stacked MNIST: modes and KL", sections, intro=intro,
                                   data={"results": frame.to_dict(orient="records")})


def write_record(path: Path, frame: pd.DataFrame, runs: Sequence, counts: Sequence) -> None:
    """experiment.json: every run's settings and counts per triple, the judge, times, versions."""
    from ..provenance import library_versions

    record = {
        "experiment": "stacked-mnist",
        "runs": [{"model": r.model, "label": r.label, "d_width": r.d_width, "seed": r.seed,
                  "run_dir": None if r.run_dir is None else str(r.run_dir),
                  "settings": {k: v for k, v in r.config.to_dict().items() if k != "seed"},
                  "counts": c} for r, c in zip(runs, counts)],
        "samples": frame.attrs.get("samples"),
        "stacks": frame.attrs.get("stacks"),
        "published_stacks": PUBLISHED_STACKS,
        "judge": frame.attrs.get("judge"),
        "wall_seconds": round(frame.attrs.get("wall_seconds", 0.0), 3),
        "cpu_seconds": round(frame.attrs.get("cpu_seconds", 0.0), 3),
        "torch_threads": frame.attrs.get("threads"),
        "versions": library_versions(),
        "command": sys.argv,
    }
    path.write_text(json.dumps(record, indent=2, default=_plain))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def print_summary(frame: pd.DataFrame) -> None:
    """The command's output: one line per model and width, then runs, times and files."""
    for _, r in summarise(frame).iterrows():
        print(f"{r['label']:<14} D {_d_width_text(r):<20} modes {_pm(r['modes_mean'], r['modes_std'])}"
              f" (fewest {_value(r['modes_min'], '{:.0f}')})  KL "
              f"{_pm(r['kl_mean'], r['kl_std'], '{:.3f}')} (largest {_value(r['kl_max'], '{:.3f}')})")
    files = frame.attrs.get("files", {})
    print(f"{len(frame)} runs in {frame.attrs['wall_seconds']:.1f} s wall "
          f"({frame.attrs['cpu_seconds']:.1f} s CPU); wrote "
          + ", ".join(str(v) for k, v in files.items() if not k.startswith("samples ")))
