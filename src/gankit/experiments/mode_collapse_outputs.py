"""What the mode-collapse experiment writes and prints: its tables, pictures and records.

From the frame `run_mode_collapse` returns (one row per run): the summary over seeds
(`summarise`), results.md with the material's claimed coverage and the published figures beside
it (`results_markdown`), samples.png (`plot_samples_grid`), results.csv and report.html
(`write_outputs`), experiment.json (`write_record`) and the table the command prints
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
import torch

from .mode_collapse import EVAL_SAMPLES, MATERIAL_SAMPLES, Run, row_label

# PacGAN (Lin et al. 2018), Table 1: mean over 10 runs, same definitions (2,500 samples,
# high quality = within 3 std, reverse KL of the high-quality histogram), 400 epochs of 100k
# samples on a GPU. (label, modes, high-quality %, reverse KL)
PUBLISHED = {
    "ring8": [("GAN", 6.3, 98.2, 0.45), ("PacGAN2", 7.9, 95.6, 0.07)],
    "grid25": [("GAN", 17.3, 94.8, 0.70), ("ALI", 24.1, 95.7, 0.14), ("PacGAN4", 24.8, 93.6, 0.04)],
}
# The material's claimed "mode coverage" table (seed 000, section 11.3), in %; its own code has
# 9 centres only and cannot produce the 16- and 32-mode columns.
MATERIAL_CLAIM = {
    "gan": {4: 75, 8: 50, 16: 30, 32: 15},
    "wgan-gp": {4: 100, 8: 88, 16: 70, 32: 45},
    "cwgan-gp": {4: 100, 8: 100, 16: 95, 32: 80},
}
REFERENCES = [
    "Lin, Z., Khetan, A., Fanti, G. and Oh, S. (2018). PacGAN: The power of two samples in "
    "generative adversarial networks. NeurIPS 2018. Table 1 (ring8 = \"2D-ring\", grid25 = \"2D-grid\").",
    "Srivastava, A., Valkov, L., Russell, C., Gutmann, M. U. and Sutton, C. (2017). VEEGAN: Reducing "
    "mode collapse in GANs using implicit variational learning. NeurIPS 2017. Table 1 (2D Ring, 2D Grid).",
    "Metz, L., Poole, B., Pfau, D. and Sohl-Dickstein, J. (2017). Unrolled generative adversarial "
    "networks. ICLR 2017.",
]


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (over seeds, sample std) per data / modes / model / remedy / sampling, and
    the worst seed of modes captured and high-quality share ("every mode on every seed")."""
    if "sampling" not in frame.columns:
        frame = frame.assign(sampling="raw")
    keys = ["data", "modes", "model", "remedy", "sampling"]
    metrics = [m for m in ("modes_captured", "hq", "reverse_kl", "spread_mean", "spread_worst",
                           "offset_mean", "offset_worst", "c2st", "c2st_floor", "spread_floor",
                           "offset_floor", "material_coverage", "acceptance", "seconds")
               if m in frame.columns]
    grouped = frame.groupby(keys, sort=False)
    table = grouped[metrics].agg(["mean", "std"])
    table.columns = [f"{m}_{s}" for m, s in table.columns]
    table["modes_captured_min"] = grouped["modes_captured"].min()
    table["hq_min"] = grouped["hq"].min()
    table["runs"] = grouped.size()
    table["diverged"] = grouped["status"].agg(lambda s: int((s != "ok").sum()))
    return table.reset_index()


def _pm(mean, std, fmt="{:.1f}", scale=1.0) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = fmt.format(mean * scale)
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += " ± " + fmt.format(std * scale)
    return text


def budget_text(frame: pd.DataFrame) -> str:
    """The runs' budgets in words: "1000", or "1000 (gan, wgan-gp), 3000 (cwgan-gp)" when the
    models train for different numbers of steps (a recipe's own budget)."""
    budgets = frame.groupby("steps")["model"].unique()
    if len(budgets) == 1:
        return str(int(budgets.index[0]))
    return ", ".join(f"{int(steps)} ({', '.join(models)})" for steps, models in budgets.items())


def results_markdown(frame: pd.DataFrame, runs: Sequence[Run] | None = None) -> str:
    """results.md: the mean ± std table, the material's claim and published figures beside it."""
    summary = summarise(frame)
    attrs = frame.attrs
    seeds = sorted(frame["seed"].unique().tolist())
    lines = ["# Mode collapse on 2-D Gaussian mixtures", ""]
    lines += [
        f"{len(frame)} runs: {frame['data'].nunique()} mixture(s) x {frame['model'].nunique()} model(s) "
        f"x {frame['remedy'].nunique()} remedy setting(s) x {len(seeds)} seed(s) ({', '.join(map(str, seeds))}); "
        f"{budget_text(frame)} generator steps per run, every other setting the default of "
        "`gankit train` for the model.",
        "",
        f"Time to train and score: {attrs.get('wall_seconds', float('nan')):.1f} s wall, "
        f"{attrs.get('cpu_seconds', float('nan')):.1f} s CPU (training "
        f"{attrs.get('train_seconds', float('nan')):.1f} s wall; "
        f"{'vectorised ensembles' if attrs.get('vectorised', True) else 'one run after the other'}, "
        + (f"{attrs.get('workers', 1)} process(es) with {attrs.get('threads', torch.get_num_threads())} "
           "torch thread(s) each)." if attrs.get("world_size", 1) == 1 else
           f"{attrs['world_size']} torchrun processes, each training whole ensembles with "
           f"{attrs.get('workers', 1)} process(es) of {attrs.get('threads', torch.get_num_threads())} "
           "torch thread(s); CPU time summed over them, training wall time of the slowest)."),
        "",
        "Metrics (standard definitions of VEEGAN and PacGAN): 2,500 samples per run; a sample is "
        "high quality (HQ) if it lies within 3 standard deviations of its nearest mode centre; a mode "
        "is captured if at least one HQ sample falls to it; reverse KL = KL(histogram of HQ samples "
        "over modes || uniform), in nats (0 is perfect, log K is one mode). *Material coverage* is the "
        "reference material's own test, kept only for comparison: KMeans centres of the real data, a "
        "centre counts if one of 10,000 generated samples lies within 0.1 of it (data scaled as the "
        "material does, to 0.9 of its largest absolute value per axis); one stray sample per centre "
        "passes it. Mean ± sample std over seeds; *s/run* is training time per run (an ensemble's "
        "time divided by its members).",
        "",
        "Beside them, how the distribution fits *inside* each captured mode (a point mass on every "
        "centre is 100% high quality): *spread* = generated std / true std per axis (1 is right; "
        "mean over captured modes, and the worst mode), *offset* = distance of a mode's mean from "
        "its centre in true stds (0 is right), both on 10,000 samples (at 2,500, a mode of 64 "
        "holds 39, whose mean alone strays 0.2 std), and *C2ST* = the accuracy of a k-NN classifier "
        "telling 2,500 held-out real points from the generated ones (0.5 is indistinguishable). "
        "Each *floor* is what real points score: spread and offset of a fresh real sample as large, "
        "the C2ST between two real samples. *Sampling*: raw samples, or those "
        "kept by discriminator-driven sampling (DRS, MH-GAN) with their acceptance rate.",
        "",
        "| data | modes | model | remedy | sampling | modes captured (worst seed) | high quality % "
        "(worst seed) | reverse KL | spread mean / worst (floor) | offset mean / worst (floor) | "
        "C2ST (floor) | "
        "material coverage % | s/run | runs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in summary.iterrows():
        runs_text = f"{r['runs']}" + (f" ({r['diverged']} diverged)" if r["diverged"] else "")
        fit = (f"{_pm(r.get('spread_mean_mean'), None, '{:.2f}')} / "
               f"{_pm(r.get('spread_worst_mean'), None, '{:.2f}')} "
               f"({_pm(r.get('spread_floor_mean'), None, '{:.2f}')}) | "
               f"{_pm(r.get('offset_mean_mean'), None, '{:.2f}')} / "
               f"{_pm(r.get('offset_worst_mean'), None, '{:.2f}')} "
               f"({_pm(r.get('offset_floor_mean'), None, '{:.2f}')}) | "
               f"{_pm(r.get('c2st_mean'), None, '{:.3f}')} ({_pm(r.get('c2st_floor_mean'), None, '{:.3f}')})")
        lines.append(
            f"| {r['data']} | {r['modes']} | {row_label(r['model'])} | {r['remedy']} | "
            f"{r['sampling']}" + (f" ({100 * r['acceptance_mean']:.0f}% kept)" if r["sampling"] != "raw" else "")
            + " | "
            f"{_pm(r['modes_captured_mean'], r['modes_captured_std'])} / {r['modes']} "
            f"({_pm(r['modes_captured_min'], None, '{:.0f}')}) | "
            f"{_pm(r['hq_mean'], r['hq_std'], scale=100)} ({_pm(r['hq_min'], None, scale=100)}) | "
            f"{_pm(r['reverse_kl_mean'], r['reverse_kl_std'], '{:.3f}')} | {fit} | "
            f"{_pm(r['material_coverage_mean'], r['material_coverage_std'], '{:.0f}', 100)} | "
            f"{_pm(r['seconds_mean'], None)} | {runs_text} |")
    blobs = summary[summary["data"].str.startswith("blobs") & (summary["remedy"] == "none")]
    if len(blobs):
        lines += ["", "## Against the material's claimed coverage table", "",
                  "The material (seed 000, section 11.3) claims the coverage below; its code has only 9 "
                  "centres, so its 16- and 32-mode columns cannot come from it. Beside each claim: the "
                  "same test run here (*material coverage*), and the share of modes captured under the "
                  "standard definition.", "",
                  "| model | modes | claimed coverage % | material coverage % (here) | modes captured % (here) |",
                  "|---|---|---|---|---|"]
        for _, r in blobs.iterrows():
            claim = MATERIAL_CLAIM.get(r["model"], {}).get(int(r["modes"]))
            lines.append(
                f"| {row_label(r['model'])} | {r['modes']} | "
                f"{claim if claim is not None else 'not claimed'} | "
                f"{_pm(r['material_coverage_mean'], r['material_coverage_std'], '{:.0f}', 100)} | "
                f"{_pm(r['modes_captured_mean'] / r['modes'], r['modes_captured_std'] / r['modes'], '{:.0f}', 100)} |")
    standard = [d for d in ("ring8", "grid25") if d in set(frame["data"])]
    if standard:
        lines += ["", "## Published figures on the same definitions", "",
                  "PacGAN (Lin et al. 2018), Table 1: mean over 10 runs (± standard error in the paper, "
                  "not shown), 400 epochs of 100k samples on a GPU with their own networks; the rows "
                  "above use far smaller CPU budgets. VEEGAN (Srivastava et al. 2017, Table 1) reports "
                  "GAN, ALI, Unrolled GAN (Metz et al. 2017) and VEEGAN on its 2D Ring and 2D Grid "
                  "under a different protocol (its own networks and training budget, no reverse KL); "
                  "Metz et al. 2017 show the 8-Gaussian ring only as pictures. Their figures are not "
                  "copied here: read them in the papers, and compare with care.", "",
                  "| data | source | model | modes | high quality % | reverse KL |",
                  "|---|---|---|---|---|---|"]
        for d in standard:
            for label, m, hq, rkl in PUBLISHED[d]:
                lines.append(f"| {d} | PacGAN Table 1 | {label} | {m} / {8 if d == 'ring8' else 25} | {hq} | {rkl} |")
            lines.append(f"| {d} | VEEGAN Table 1 | GAN, ALI, Unrolled GAN, VEEGAN | different protocol | "
                         "see the paper | not reported |")
            lines.append(f"| {d} | Metz et al. 2017 | Unrolled GAN | figures only (ring) | - | - |")
    lines += ["", "## References", ""] + [f"- {r}" for r in REFERENCES]
    lines += ["", "Files: `results.csv` (one row per run), `samples.png` (real points grey, generated "
              "red; first seed of each configuration), `experiment.json` (settings and times).", ""]
    return "\n".join(lines)


def plot_samples_grid(pictures: dict, runs: Sequence[Run], path: Path) -> Path:
    """One PNG: a row per model (and remedy), a column per mixture; real points in grey under the
    generated ones (red), mode centres as small black crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(dict.fromkeys((r.model, r.remedy) for r in runs))
    cols = list(dict.fromkeys(r.data for r in runs))
    modes = {r.data: r.modes for r in runs}
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.7 * len(cols) + 0.6, 2.7 * len(rows) + 0.4),
                             squeeze=False, dpi=90)
    for j, data in enumerate(cols):
        for i, (model, remedy) in enumerate(rows):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            entry = pictures.get((model, remedy, data))
            if entry is None:
                ax.text(0.5, 0.5, "diverged", ha="center", va="center", transform=ax.transAxes)
                continue
            samples, train = entry
            real = train.x.numpy()[:3000]
            lo, hi = real.min(axis=0), real.max(axis=0)
            pad = 0.15 * np.maximum(hi - lo, 1e-6)
            ax.scatter(real[:, 0], real[:, 1], s=1.5, c="#b0b0b0", rasterized=True, linewidths=0)
            ax.scatter(samples[:, 0], samples[:, 1], s=1.5, c="#d62728", alpha=0.5, rasterized=True,
                       linewidths=0)
            if train.centers is not None:
                ax.scatter(train.centers[:, 0], train.centers[:, 1], marker="x", s=8, c="black",
                           linewidths=0.6)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            ax.set_aspect("equal", adjustable="box")
            if i == 0:
                ax.set_title(f"{data} ({modes[data]} modes)", fontsize=9)
            if j == 0:
                label = row_label(model) + ("" if remedy == "none" else f"\n+ {remedy}")
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle("real (grey) vs generated (red)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_outputs(frame: pd.DataFrame, runs: Sequence[Run], pictures: dict, out: Path,
                  report: bool = True) -> dict[str, Path]:
    """results.csv, samples.png, results.md and (with `report`) report.html in `out`."""
    out = Path(out)
    files = {"csv": out / "results.csv", "markdown": out / "results.md", "picture": out / "samples.png"}
    frame.to_csv(files["csv"], index=False)
    plot_samples_grid(pictures, runs, files["picture"])
    files["markdown"].write_text(results_markdown(frame, runs))
    if report:
        html = _write_html_report(out, frame, files)
        if html is not None:
            files["report"] = html
    return files


def _write_html_report(out: Path, frame: pd.DataFrame, files: dict[str, Path]) -> Path | None:
    """DIR/report.html through gankit.report.write_experiment_report (the one call site)."""
    try:
        from ..report import Section, Table, write_experiment_report
    except ImportError:
        return None
    summary = summarise(frame)
    columns = ["data", "modes", "model", "remedy", "sampling", "modes_captured_mean",
               "modes_captured_min", "hq_mean", "hq_min", "reverse_kl_mean", "spread_mean_mean",
               "spread_worst_mean", "offset_mean_mean", "offset_worst_mean", "c2st_mean",
               "c2st_floor_mean", "spread_floor_mean", "offset_floor_mean", "material_coverage_mean",
               "acceptance_mean", "seconds_mean", "runs", "diverged"]
    shown = summary[[c for c in columns if c in summary.columns]].rename(columns={
        "modes_captured_mean": "modes captured", "modes_captured_min": "modes (worst seed)",
        "hq_mean": "high quality", "hq_min": "HQ (worst seed)", "reverse_kl_mean": "reverse KL",
        "spread_mean_mean": "spread", "spread_worst_mean": "spread (worst mode)",
        "offset_mean_mean": "offset [std]", "offset_worst_mean": "offset (worst mode)",
        "c2st_mean": "C2ST", "c2st_floor_mean": "C2ST floor", "spread_floor_mean": "spread floor",
        "offset_floor_mean": "offset floor",
        "material_coverage_mean": "material coverage", "acceptance_mean": "kept",
        "seconds_mean": "s/run"})
    attrs = frame.attrs
    intro = (f"{len(frame)} runs, {budget_text(frame)} generator steps each; "
             f"total {attrs.get('wall_seconds', float('nan')):.0f} s wall, "
             f"{attrs.get('cpu_seconds', float('nan')):.0f} s CPU. Full tables, definitions and "
             "references: [results.md](results.md); every run: [results.csv](results.csv).")
    sections = [
        Section("Results", "Mean ± std over seeds. High quality: within 3 std of the nearest centre "
                "(2,500 samples). Material coverage: the reference material's KMeans test, for "
                "comparison only.",
                tables=[Table(shown, caption="Mode metrics per configuration (means over seeds)",
                              formats={"high quality": ".1%", "HQ (worst seed)": ".1%",
                                       "material coverage": ".0%", "reverse KL": ".3f",
                                       "modes captured": ".1f", "spread": ".2f",
                                       "spread (worst mode)": ".2f", "offset [std]": ".2f",
                                       "offset (worst mode)": ".2f", "C2ST": ".3f",
                                       "C2ST floor": ".3f", "kept": ".0%", "s/run": ".1f"})],
                figures=[(files["picture"], "Real (grey) vs generated (red), first seed of each configuration")]),
    ]
    standard = [d for d in ("ring8", "grid25") if d in set(frame["data"])]
    if standard:
        published = [{"data": d, "source": "PacGAN Table 1", "model": label, "modes": m, "hq %": hq,
                      "reverse KL": rkl} for d in standard for label, m, hq, rkl in PUBLISHED[d]]
        sections.append(Section("Published figures (PacGAN, Lin et al. 2018, Table 1)",
                                "Same definitions; 10 runs, 400 epochs of 100k samples on a GPU.",
                                tables=[Table(published, caption="Published rows")]))
    return write_experiment_report(out, "Mode collapse on 2-D Gaussian mixtures", sections, intro=intro,
                                   data={"results": frame.to_dict(orient="records")})



def write_record(path: Path, frame: pd.DataFrame, runs: Sequence[Run]) -> None:
    """experiment.json: the settings of every row, times, processes and library versions."""
    from ..provenance import library_versions

    first = runs[0].config
    record = {
        "experiment": "mode-collapse",
        "runs": len(frame),
        "steps": frame.attrs.get("steps"),
        "vectorised": frame.attrs.get("vectorised"),
        "wall_seconds": round(frame.attrs.get("wall_seconds", 0.0), 3),
        "cpu_seconds": round(frame.attrs.get("cpu_seconds", 0.0), 3),
        "train_seconds": round(frame.attrs.get("train_seconds", 0.0), 3),
        "torch_threads": torch.get_num_threads(),
        "world_size": frame.attrs.get("world_size", 1),
        "ranks": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                  for r in frame.attrs.get("ranks", [])],
        "eval_samples": EVAL_SAMPLES,
        "material_samples": MATERIAL_SAMPLES,
        "configs": {f"{r.model}/{r.remedy}": {k: v for k, v in r.config.to_dict().items()
                                               if k not in ("data", "seed")} for r in runs},
        "versions": library_versions(),
        "command": sys.argv,
    }
    path.write_text(json.dumps(record, indent=2, default=str))

def print_summary(frame: pd.DataFrame) -> None:
    """The command's output: mean ± std per configuration, then runs, times and files written."""
    summary = summarise(frame)
    for _, r in summary.iterrows():
        remedy = "" if r["remedy"] == "none" else f" + {r['remedy']}"
        sampling = "" if r["sampling"] == "raw" else f" [{r['sampling']}]"
        print(f"{r['data']:>8} {r['model'] + remedy + sampling:<26} modes "
              f"{_pm(r['modes_captured_mean'], r['modes_captured_std'])} / {r['modes']}  "
              f"HQ {_pm(r['hq_mean'], r['hq_std'], scale=100)} %  "
              f"rKL {_pm(r['reverse_kl_mean'], r['reverse_kl_std'], '{:.3f}')}  "
              f"spread {_pm(r.get('spread_mean_mean'), None, '{:.2f}')} "
              f"(floor {_pm(r.get('spread_floor_mean'), None, '{:.2f}')})  "
              f"offset {_pm(r.get('offset_mean_mean'), None, '{:.2f}')} "
              f"(floor {_pm(r.get('offset_floor_mean'), None, '{:.2f}')})  "
              f"C2ST {_pm(r.get('c2st_mean'), None, '{:.3f}')} (floor {_pm(r.get('c2st_floor_mean'), None, '{:.3f}')})")
    files = frame.attrs.get("files", {})
    processes = frame.attrs.get("world_size", 1)
    print(f"{len(frame)} runs in {frame.attrs['wall_seconds']:.1f} s wall "
          f"({frame.attrs['cpu_seconds']:.1f} s CPU"
          + (f" over {processes} processes" if processes > 1 else "") + "); wrote "
          + ", ".join(str(v) for v in files.values()))
