"""Discriminator-driven sampling (issue 14, part 3): the raw samples beside those that DRS
(Azadi et al. 2019) and MH-GAN (Turner et al. 2019) keep, with what the refinement costs.

1. Mixtures: the unconditional models, vanilla GAN and WGAN-GP (whose samples smear between the
   modes), on ring8, grid25, blobs16 and blobs32, through `gankit experiment mode-collapse
   --refine drs mh` at the experiment's budget: modes, high quality, reverse KL, the fit inside
   the modes (spread, offset, C2ST beside its floor), the acceptance and the extra time per kept
   sample; issue 14's ring8 and grid25 targets judged for the raw and the refined samples.
2. Images: conditional WGAN-GP with `gankit train`'s defaults on digits and MNIST (seed 0):
   FID in the offline judge's features and the judge's class accuracy of the raw, DRS and MH
   samples (`gankit eval RUN --refine drs|mh`).

    python -m benchmarks.bench_refine [--seeds 3] [--parts mixtures,images] [--quick]

Writes docs/benchmarks.md, section "refine"; experiment folders and runs in runs/bench_refine/.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

from gankit.errors import GankitError
from gankit.evaluate import Progress, run_evaluation
from gankit.experiments.mode_collapse import cpu_seconds, row_label, run_mode_collapse
from gankit.experiments.mode_collapse_outputs import summarise
from gankit.experiments.mode_collapse_scoring import MATERIAL_SAMPLES
from gankit.refine import MH_STEPS

from ._common import (ROOT, SHARED_DATA, command_line, load_text, markdown_table, one_thread,
                      verdict_all, write_section)
from .bench_remedies import pm

OUT = ROOT / "runs" / "bench_refine"
MIXTURES = (("ring8", None), ("grid25", None), ("blobs", 16), ("blobs", 32))
MODELS = ["gan", "wgan-gp"]
SAMPLINGS = ("raw", "drs", "mh")
# issue 14's targets: (modes, high quality, reverse KL), every seed
TARGETS = {"ring8": (8, 0.98, 0.02), "grid25": (25, 0.95, 0.04)}
IMAGE_SAMPLES = 2000
MNIST = SHARED_DATA / "mnist"


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


def mixtures(seeds: int, steps: int | None) -> tuple[list, list, list]:
    """(table rows, target lines, per-run records) of the mixture part."""
    rows, lines, records = [], [], []
    for data, modes in MIXTURES:
        name = data if modes is None else f"{data}{modes}"
        cpu0 = cpu_seconds()
        frame = run_mode_collapse(modes=[modes or 8], models=MODELS, data=data, seeds=seeds,
                                  steps=steps, out=OUT / name, report=False, refine=["drs", "mh"])
        log(name, f"{cpu_seconds() - cpu0:.0f} CPU s")
        raw = frame[frame["sampling"] == "raw"].set_index(["model", "seed"])["seconds"]
        extra = frame.apply(lambda r: (r["seconds"] - raw[(r["model"], r["seed"])])
                            / MATERIAL_SAMPLES * 1000, axis=1)
        frame = frame.assign(extra_ms=extra)
        for _, r in summarise(frame).iterrows():
            cell = frame[(frame["model"] == r["model"]) & (frame["sampling"] == r["sampling"])]
            per_kept = ("1" if r["sampling"] == "raw" else f"{MH_STEPS}" if r["sampling"] == "mh"
                        else f"{(1 / cell['acceptance']).mean():.1f}")
            rows.append([r["data"], row_label(r["model"]), r["sampling"],
                         f"{pm(r['modes_captured_mean'], r['modes_captured_std'])} / {r['modes']}",
                         pm(r["hq_mean"], r["hq_std"], scale=100),
                         pm(r["reverse_kl_mean"], r["reverse_kl_std"], "{:.3f}"),
                         pm(r["spread_mean_mean"], None, "{:.2f}"),
                         pm(r["offset_mean_mean"], None, "{:.2f}"),
                         f"{pm(r['c2st_mean'], None, '{:.3f}')} / "
                         f"{pm(r['c2st_floor_mean'], None, '{:.3f}')}",
                         f"{100 * cell['acceptance'].mean():.0f}", per_kept,
                         f"{cell['extra_ms'].mean():.2f}"])
        records += frame.to_dict(orient="records")
        if name in TARGETS:
            k, hq, rkl = TARGETS[name]
            for model in MODELS:
                for sampling in SAMPLINGS:
                    cell = frame[(frame["model"] == model) & (frame["sampling"] == sampling)]
                    lines.append(verdict_all(
                        f"{name}, {row_label(model)}, {sampling}: {k}/{k} modes, >= {100 * hq:.0f}% "
                        f"high quality, reverse KL <= {rkl} on every seed",
                        [(f"s{int(c['seed'])}", c["modes_captured"] == k and c["hq"] >= hq
                          and c["reverse_kl"] <= rkl,
                          f"{c['modes_captured']:.0f}/{k} {100 * c['hq']:.1f}% {c['reverse_kl']:.3f}")
                         for _, c in cell.iterrows()]))
    return rows, lines, records


def image_rows(quick: bool) -> list[list]:
    """Conditional WGAN-GP at its defaults on digits and MNIST, seed 0: raw, DRS and MH."""
    from gankit.config import TrainConfig
    from gankit.training import train_run

    sources = [("digits", "digits")] + ([("MNIST", str(MNIST))] if MNIST.is_dir() else [])
    rows = []
    for label, data in sources:
        config = TrainConfig(data=data, model="wgan-gp", conditional=True, seed=0, threads=1,
                             progress=False, tensorboard=False, steps=10 if quick else None)
        cpu0 = time.process_time()
        run = train_run(config, OUT / f"{label.lower()}_cwgan", overwrite=True)
        train_cpu = time.process_time() - cpu0
        for sampling in SAMPLINGS:
            cpu0 = time.process_time()
            try:
                scores = run_evaluation(run.run_dir, metrics=["fid", "classes"], n=IMAGE_SAMPLES,
                                        pictures=False, progress=Progress(enabled=False),
                                        refine=None if sampling == "raw" else sampling)
            except GankitError as exc:      # e.g. DRS refusing a discriminator that keeps nothing
                log(label, sampling, "failed:", exc)
                rows.append([label, run.result.final_step, f"{train_cpu:.0f}", sampling,
                             f"failed: {exc}", "", "", "", "", f"{time.process_time() - cpu0:.0f}"])
                continue
            eval_cpu = time.process_time() - cpu0
            suffix = "" if sampling == "raw" else f"@{sampling}"
            accuracy = scores[f"classes{suffix}"]["per_class_accuracy"]["accuracy"]
            cost = _refinement(run.run_dir, f"fid{suffix}") if sampling != "raw" else None
            log(label, sampling, scores[f"fid{suffix}"], accuracy, cost)
            rows.append([label, run.result.final_step, f"{train_cpu:.0f}", sampling,
                         f"{scores[f'fid{suffix}']:.2f}", f"{100 * accuracy:.1f}",
                         "100" if cost is None else f"{100 * cost['acceptance_rate']:.0f}",
                         "1" if cost is None else f"{cost['proposals_per_kept']:.1f}",
                         "" if cost is None else f"{1000 * cost['seconds'] / cost['kept']:.1f}",
                         f"{eval_cpu:.0f}"])
    return rows


def _refinement(run_dir, name: str) -> dict:
    """What the refinement behind metric `name` cost, from the run's metric record."""
    from gankit.run_directory import RunDir

    summary, note, _ = RunDir(run_dir).metrics()
    if summary is None:
        raise RuntimeError(note)
    return summary["results"][name]["protocol"]["refinement"]


def check_rows() -> list[dict]:
    """ring8, WGAN-GP, seed 0, 200 steps: raw, DRS and MH (exact)."""
    frame = run_mode_collapse(modes=[8], models=["wgan-gp"], data="ring8", seeds=[0], steps=200,
                              out=None, report=False, refine=["drs", "mh"])
    return [{"row": f"ring8 wgan-gp seed 0 {r['sampling']}", "settings": {"steps": 200},
             "values": {"modes_captured": int(r["modes_captured"]), "hq": float(r["hq"]),
                        "acceptance": float(r["acceptance"])}}
            for _, r in frame.iterrows()]


CHECKS = {"refine": check_rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps per run (default: the experiment's)")
    parser.add_argument("--parts", default="mixtures,images")
    parser.add_argument("--quick", action="store_true", help="a smoke run, printed, not written")
    args = parser.parse_args(argv)
    one_thread()
    load0 = load_text()
    parts = [p for p in args.parts.split(",") if p]
    seeds, steps = (1, 30) if args.quick else (args.seeds, args.steps)
    text = []
    if "mixtures" in parts:
        rows, lines, records = mixtures(seeds, steps)
        bad = sum(r["status"] != "ok" or not math.isfinite(r["hq"]) for r in records)
        budget = steps or records[0]["steps"]
        text.append(f"""### Mixtures: vanilla GAN and WGAN-GP, raw and refined

`gankit experiment mode-collapse --models gan wgan-gp --refine drs mh --seeds {seeds}` on each
mixture, {budget:,} generator steps per run, every other setting `gankit train`'s default; {bad}
run(s) failed. Each run's discriminator is calibrated on the run's held-out points against fresh
samples (Platt scaling of its realness score), then DRS keeps each proposal with probability
exp(D - D_M) (gamma 0, D_M from a 2,000-proposal burn-in) and MH-GAN runs one independent
chain of {MH_STEPS} proposals per output; both draw {MATERIAL_SAMPLES:,} kept samples, scored as
the raw ones are (the mode metrics and the C2ST on the first 2,500, spread and offset on all of
them). Kept %: DRS the share of proposals kept, MH the
share of chain moves accepted; proposals per kept sample; extra ms per kept sample: the
refinement's time (calibration excluded) over the kept samples, one thread. Mean ± std over
seeds.

{markdown_table(["data", "model", "sampling", "modes captured", "high quality %", "reverse KL",
                 "spread", "offset (std)", "C2ST / floor", "kept %", "proposals per kept",
                 "extra ms per kept"], rows)}

Issue 14's targets on the standard mixtures, with or without refinement (each sampling judged
on its own):

{chr(10).join(lines)}""")
    if "images" in parts:
        rows = image_rows(args.quick)
        text.append(f"""### Images: conditional WGAN-GP on digits and MNIST, raw and refined

`gankit train --data DATA --model wgan-gp --conditional` (its image defaults: 500 generator
steps, width 32, 32x32), seed 0, one thread; then `gankit eval RUN -n {IMAGE_SAMPLES} --metrics
fid classes [--refine drs|mh]`: FID in the offline judge's features (the judge trained on the
run's training split) against the held-out images, and the judge's class accuracy (the share of
each class's samples it reads as the class asked for, averaged over the classes). Refinement is
per class (the class shares stay balanced). Kept %, proposals per kept sample and the extra ms
per kept sample (refinement only) as above; eval CPU s: the whole `gankit eval` call.

{markdown_table(["data", "steps", "training CPU s", "sampling", "FID (judge features)",
                 "class accuracy %", "kept %", "proposals per kept", "extra ms per kept",
                 "eval CPU s"], rows)}""")
    body = (f"Load average {load0} at the start, {load_text()} at the end (a shared 2-core "
            "machine). One torch thread.\n\n" + "\n\n".join(text))
    if args.quick:
        print(body)
        return 0
    write_section("refine", "Discriminator-driven sampling: DRS and MH-GAN beside the raw samples",
                  body, command_line("bench_refine", argv),
                  threads="one torch thread, one process", check=(check_rows(), {"kind": "exact"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
