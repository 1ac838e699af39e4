"""Conditional-coverage benchmark (issue "mode-collapse experiments", part 4): unconditional vs
conditional WGAN-GP on digits and on the MNIST files in ../shared/data/mnist, both at gankit's
default image budget unless --digits-steps / --mnist-steps say otherwise; 10,000 samples per
model classified by the judge.

    python -m benchmarks.bench_conditional_coverage [--only digits|mnist] [--digits-steps N]
        [--mnist-steps N] [--samples 10000] [--threads 1] [--section-only]

Experiment folders go to runs/bench_conditional_coverage/{digits,mnist}/ (results.json,
results.md, pictures, report.html, both run directories). The section "conditional_coverage" of
docs/benchmarks.md is rebuilt from every results.json found there, so the two data sets can be
run one at a time (--section-only rewrites it without training).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import torch

from ._common import ROOT, SHARED_DATA, markdown_table, write_section

OUT = ROOT / "runs" / "bench_conditional_coverage"
MNIST = SHARED_DATA / "mnist"
DATASETS = {"digits": "digits", "mnist": str(MNIST)}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min)"


def run(name: str, steps: int | None, samples: int) -> dict:
    from gankit.experiments.conditional_coverage import run_conditional_coverage

    out = OUT / name
    if out.exists():
        shutil.rmtree(out)             # this benchmark's own folder from an earlier run
    start_load = load()
    results = run_conditional_coverage(DATASETS[name], steps=steps, samples=samples, out=out,
                                       progress=True)
    record = json.loads((out / "results.json").read_text())
    record["bench"] = {"load_start": start_load, "load_end": load(),
                       "date": time.strftime("%Y-%m-%d %H:%M")}
    (out / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    return results


def pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def check_rows() -> list[dict]:
    """The experiment on digits at 10 generator steps and 500 samples (one thread; exact)."""
    import tempfile

    from gankit.experiments.conditional_coverage import run_conditional_coverage

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run_conditional_coverage("digits", steps=10, samples=500, out=Path(tmp) / "digits",
                                 progress=False)
        r = json.loads((Path(tmp) / "digits" / "results.json").read_text())
    m = r["models"]
    return [{"row": "digits, 10 steps, 500 samples", "settings": {"steps": 10, "samples": 500},
             "values": {"unconditional_entropy": m["unconditional"]["normalised_entropy"],
                        "conditional_entropy": m["conditional"]["normalised_entropy"],
                        "conditional_accuracy": m["conditional"]["per_class_accuracy"]["accuracy"]}}]


CHECKS = {"conditional_coverage": check_rows}


def section(check: bool = False) -> None:
    found = {name: json.loads((OUT / name / "results.json").read_text())
             for name in DATASETS if (OUT / name / "results.json").is_file()}
    if not found:
        raise SystemExit(f"no results under {OUT}; run the benchmark first")
    rows, per_class, notes = [], [], []
    for name, r in found.items():
        judge = r["judge"]
        for model in ("unconditional", "conditional"):
            m = r["models"][model]
            pca = m.get("per_class_accuracy")
            rows.append([
                f"{r['data']['name']} ({r['data']['n']} train / {r['held_out']['n']} held out)",
                r["settings"]["steps"], model, f"{m['normalised_entropy']:.4f}",
                f"{m['dropped_classes']} / {r['num_classes']}", f"{m['tv_to_real']:.3f}",
                pct(m["max_share"]), pct(m["min_share"]),
                "" if pca is None else pct(pca["accuracy"]),
                "" if pca is None else pct(min(v for v in pca["per_class"] if v is not None)),
                f"{m['fid_judge']:.2f}", f"{m['train_seconds']:.0f}"])
        rows.append([f"{r['data']['name']}: real held-out images", "", "real",
                     f"{r['real']['normalised_entropy']:.4f}",
                     f"{r['real']['dropped_classes']} / {r['num_classes']}", "0", pct(r["real"]["max_share"]),
                     pct(r["real"]["min_share"]), "", "", "", ""])
        cond = r["models"]["conditional"]["per_class_accuracy"]["per_class"]
        unc = r["models"]["unconditional"]["proportions"]
        per_class.append([r["data"]["name"], "unconditional share"] + [pct(v) for v in unc])
        per_class.append([r["data"]["name"], "conditional accuracy"] + [pct(v) for v in cond])
        per_class.append([r["data"]["name"], "judge held-out accuracy"]
                         + [pct(v) for v in judge["per_class_accuracy"]])
        bench = r.get("bench", {})
        parts = [f"{f['part']} ({f['n']:,} images)" for f in r["data"].get("files", [])]
        source = (f" (IDX files: {', '.join(parts)}, {r['data']['original_size'][0]}x"
                  f"{r['data']['original_size'][1]} resized to {r['data']['image_size']}x"
                  f"{r['data']['image_size']})" if parts else "")
        notes.append(
            f"- **{r['data']['name']}**{source}: judge (gankit CNN, {judge['epochs']} epochs on the "
            f"{judge['n_train']} training images) held-out accuracy **{pct(judge['held_out_accuracy'])}**; "
            f"{r['samples']:,} samples per model; {r['settings']['steps']} generator steps per model "
            f"(batch {r['settings']['batch_size']}, width {r['settings']['width']}, n_critic "
            f"{r['settings']['n_critic']}, Adam {r['settings']['lr_g']:g} betas {tuple(r['settings']['betas_g'])}); "
            f"total {r['wall_seconds']:.0f} s wall, {r['cpu_seconds']:.0f} s CPU, "
            f"{r['torch_threads']} torch thread(s); load average {bench.get('load_start', '?')} at the "
            f"start, {bench.get('load_end', '?')} at the end; run {bench.get('date', '?')}.")
    k = max(r["num_classes"] for r in found.values())
    body = (
        "`gankit experiment conditional-coverage`: an unconditional and a conditional WGAN-GP with "
        "the same settings (gankit's image defaults), 10,000 samples of each classified by the "
        "judge (trained on the run's training split; its held-out accuracy below). Normalised "
        "entropy: H / log K of the predicted classes (1 = all classes equally often). Dropped "
        "classes: share below half of uniform. TV to real: total-variation distance to the judge's "
        "class shares on the real held-out images. Conditional accuracy: share of samples "
        "generated for class k that the judge calls k. FID in the judge's 128-d features "
        "(comparable between the two models, not with Inception FIDs). The machine is shared: "
        "seconds are wall time under the load averages given, with the torch and BLAS threads "
        "each run says.\n\n"
        + "\n".join(notes) + "\n\n"
        + markdown_table(["data", "steps", "model", "normalised entropy", "dropped classes",
                          "TV to real", "largest class share", "smallest class share",
                          "conditional accuracy", "worst class (conditional)",
                          "FID (judge features)", "train s (wall)"], rows)
        + "\n\nPer class (0-9):\n\n"
        + markdown_table(["data", "what"] + [str(i) for i in range(k)], per_class)
        + f"\n\nFolders with pictures and report.html: `{OUT.relative_to(ROOT)}/`.\n")
    threads = sorted({r["torch_threads"] for r in found.values()})
    write_section("conditional_coverage",
                  "Conditional coverage: unconditional vs conditional WGAN-GP on digits and MNIST",
                  body, "python -m benchmarks.bench_conditional_coverage",
                  threads=f"{' and '.join(map(str, threads))} torch thread(s) and as many BLAS "
                          "threads (the runs' own records)",
                  check=(check_rows(), {"kind": "exact"}) if check else None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(DATASETS))
    parser.add_argument("--digits-steps", type=int, default=None,
                        help="generator steps per model on digits (default: gankit's)")
    parser.add_argument("--mnist-steps", type=int, default=None,
                        help="generator steps per model on MNIST (default: gankit's)")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--section-only", action="store_true",
                        help="rewrite the docs section from the results found, without training")
    args = parser.parse_args(argv)
    if not args.section_only:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        names = [args.only] if args.only else list(DATASETS)
        with threadpool_limits(args.threads):
            for name in names:
                if name == "mnist" and not MNIST.is_dir():
                    print(f"skipping MNIST: {MNIST} is absent")
                    continue
                run(name, args.digits_steps if name == "digits" else args.mnist_steps, args.samples)
                section()
        section(check=True)
        return
    section()


if __name__ == "__main__":
    main()
