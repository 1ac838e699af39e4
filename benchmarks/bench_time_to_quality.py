"""Time to quality against the material's own code (../shared/baselines).

1. Mixtures: the material's 8-mode mixture loop (seed_mog.py: vanilla GAN, WGAN-GP, conditional
   WGAN-GP, its networks, data and epochs) runs in its own one-thread interpreter
   (_baseline_runner.py); its final samples are scored with gankit's metric code
   (gankit.metrics.mode_metrics on 2,500 samples, after undoing the seed's 0.9 / max|X| scaling)
   beside its own KMeans coverage. Then gankit trains the same model on the same mixture (blobs8:
   the material's 8 centres, std 0.5) with its `gankit train` defaults at growing budgets
   (generator steps), seeds 0/1/2, one thread; the first budget at which the majority of seeds
   reach the material's final modes captured AND high-quality share gives gankit's CPU seconds.
   Interleaved: each material model, then gankit's runs of that model.
2. Images: the material's conditional WGAN-GP MNIST loop (seed_cwgan_gp.py) for --ref-steps
   generator steps, one thread, the generator saved every --ref-every steps; each saved
   generator's conditional accuracy judged by gankit's judge (100 samples per class); its final
   accuracy is the target for gankit's conditional WGAN-GP with its defaults (one thread, judged
   every 25 steps, training CPU seconds only).

Target: gankit reaches the material's final quality in at most 1/10 of the material's CPU time,
on every model where the material's code succeeds (mixtures: every mode captured).

    python -m benchmarks.bench_time_to_quality [--parts mixtures,images] [--epochs 500]
        [--ref-steps 400] [--quick] [--no-write]

Writes the "time_to_quality" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ._common import (BASELINES, COMMIT_AT_START, SHARED_DATA, command_line, load_text,
                      markdown_table, one_thread, verdict, write_section)

RUNNER = Path(__file__).resolve().parent / "_baseline_runner.py"
MNIST = SHARED_DATA / "mnist"
K = 8
EVAL = 2500
# (gankit model, settings, the material's name, label)
MIX_MODELS = [("gan", {}, "vanilla", "vanilla GAN"),
              ("wgan-gp", {}, "wgan-gp", "WGAN-GP"),
              ("wgan-gp", {"conditional": True}, "cond-wgan-gp", "conditional WGAN-GP")]
BUDGETS = (125, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000)
SEEDS = (0, 1, 2)
REAL_SEED = 2_000_003      # the real points that set the ceiling of the high-quality share
TARGET_RATIO = 0.1
# a conditional image run "succeeds" when the judge reads at least this share as the asked class
SUCCESS_ACCURACY = 0.5
# the tutorial's own schedule: 100 epochs of the 60,000 MNIST training images in batches of 64
TUTORIAL_STEPS = 100 * 60_000 // 64
GIVE_UP = 0.5     # budgets stop once a run costs this share of the material's CPU time


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ---------------------------------------------------------------------------------- mixtures
def material_mog(epochs: int, models: list[str]) -> dict:
    """The seed's loop for `models` at `epochs`: CPU s, its coverage, and gankit's mode metrics."""
    from gankit.metrics import mode_metrics

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mog.npz"
        done = subprocess.run([sys.executable, str(RUNNER), "mog", str(BASELINES / "seed_mog.py"),
                               str(K), str(epochs), str(out), *models], capture_output=True,
                              text=True, env=_env(), cwd=BASELINES)
        if done.returncode:
            raise RuntimeError(f"the material's loop failed: {done.stderr[-2000:]}")
        info = json.loads(done.stdout.strip().splitlines()[-1])
        saved = np.load(out)
        result = {}
        for name in models:
            samples = saved[f"samples_{name}"].astype(np.float64) / saved["scale"]
            m = mode_metrics(samples[:EVAL], saved["centers"], 0.5)
            result[name] = {**info[name], "modes": m["modes"], "hq": m["hq"],
                            "reverse_kl": m["reverse_kl"]}
    return result


def gankit_mix(model: str, settings: dict, steps: int, seed: int) -> dict:
    """One gankit run on blobs8 with `gankit train`'s defaults: training CPU s and mode metrics."""
    from gankit.config import TrainConfig
    from gankit.metrics import mode_metrics
    from gankit.models import DataSpec
    from gankit.training import build_module, prepare_data
    from gankit.training.loop import training_loop

    config = TrainConfig(data=f"blobs{K}", model=model, seed=seed, steps=steps, progress=False,
                         tensorboard=False, **settings).resolve("points")
    train, _ = prepare_data(config)
    module = build_module(config, DataSpec.of(train))
    cpu, wall = time.process_time(), time.perf_counter()
    training_loop(module, train, config)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    samples, _ = module.sample(EVAL, rng=torch.Generator().manual_seed(seed))
    m = mode_metrics(samples.numpy(), train.centers, train.mode_std)
    return {"cpu_s": cpu, "wall_s": wall, "modes": m["modes"], "hq": m["hq"],
            "reverse_kl": m["reverse_kl"]}


def real_quality() -> dict:
    """The mode metrics of 2,500 real points of the mixture (a held-out draw): what samples from
    the data's own distribution score."""
    from gankit.data.toy import load_toy
    from gankit.metrics import mode_metrics

    real = load_toy(f"blobs{K}", n=EVAL, seed=REAL_SEED)
    m = mode_metrics(real.x.numpy(), real.centers, real.mode_std)
    return {"modes": m["modes"], "hq": m["hq"], "reverse_kl": m["reverse_kl"]}


def quality_bar(ref: dict, real: dict) -> dict:
    """The quality a gankit run must reach: the material's, with its high-quality share capped
    at the real data's. A share above the data's own comes from samples packed tighter than the
    data (within 3 std of a centre: 98.9% of a Gaussian's mass), so it rewards collapse inside
    the modes; a model that fits each mode cannot pass it."""
    return {"modes": ref["modes"], "hq": min(ref["hq"], real["hq"])}


def reaches(run: dict, bar: dict) -> bool:
    return run["modes"] >= bar["modes"] and run["hq"] >= bar["hq"]


def part_mixtures(epochs: int, budgets, seeds) -> dict:
    real = real_quality()
    out = {"epochs": epochs, "models": {}, "real": real}
    for model, settings, ref_name, label in MIX_MODELS:
        ref = material_mog(epochs, [ref_name])[ref_name]
        bar = quality_bar(ref, real)
        log(f"material {ref_name}: {ref}; bar {bar}")
        tries, reached = [], None
        for steps in budgets:
            runs = []
            for seed in seeds:       # stop once the majority is decided either way
                runs.append(gankit_mix(model, settings, steps, seed))
                ok = sum(reaches(r, bar) for r in runs)
                if 2 * ok > len(seeds) or 2 * (len(runs) - ok) >= len(seeds):
                    break
            tries.append({"steps": steps, "runs": runs, "reached": ok,
                          "cpu_s": float(np.mean([r["cpu_s"] for r in runs]))})
            log(f"gankit {label} {steps} steps: {ok}/{len(runs)} reach, "
                f"{tries[-1]['cpu_s']:.1f} CPU s/run", [(r["modes"], round(r["hq"], 3)) for r in runs])
            if 2 * ok > len(seeds):
                reached = tries[-1]
                break
            if tries[-1]["cpu_s"] > GIVE_UP * ref["cpu_s"]:
                break          # far beyond the target's budget: shown as not reached
        out["models"][label] = {"material": ref, "bar": bar, "tries": tries, "reached": reached,
                                "gankit_model": model, "settings": settings, "ref_name": ref_name}
    return out


# ------------------------------------------------------------------------------------ images
def _reference_generator(state_path: Path):
    import runpy

    ns = runpy.run_path(str(BASELINES / "seed_cwgan_gp.py"), run_name="seed_cwgan_gp")
    g = ns["Generator"](ns["config"])
    g.load_state_dict(torch.load(state_path))
    return g, ns["config"]


def judge_reference(state_path: Path, judge, per_class: int = 100) -> dict:
    """The seed's generator judged as gankit judges its own: 100 samples per class, in eval
    mode (BatchNorm's running statistics) and in training mode (batch statistics of one batch
    holding every class); both are shown, the better one counts."""
    g, config = _reference_generator(state_path)
    labels = torch.arange(10).repeat_interleave(per_class)
    z = torch.randn(len(labels), config["z_dim"], 1, 1, generator=torch.Generator().manual_seed(12345))
    scores = {}
    with torch.no_grad():
        for mode in ("eval", "train"):
            g.train(mode == "train")
            images = g(z, labels)
            scores[mode] = judge.score(images, labels)["accuracy"]
    return scores


def material_cwgan(steps: int, every: int, judge, folder: Path) -> dict:
    if not (BASELINES / "seed_cwgan_gp.py").exists() or not MNIST.is_dir():
        return {"skipped": "the reference script or the MNIST files are absent"}
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(RUNNER), "cwgan", str(BASELINES / "seed_cwgan_gp.py"),
                           str(MNIST), str(steps), str(every), str(folder)], capture_output=True,
                          text=True, env=_env())
    if done.returncode:
        raise RuntimeError(f"the material's image loop failed: {done.stderr[-2000:]}")
    marks = json.loads((folder / "marks.json").read_text())
    for mark in marks:
        mark.update(judge_reference(folder / f"g_{mark['step']}.pt", judge))
        mark["accuracy"] = max(mark["eval"], mark["train"])
        log(f"material cwgan step {mark['step']}: {mark}")
    return {"marks": marks, "steps": steps}


def gankit_cwgan(target: float, max_steps: int, every: int, judge, train, held_out) -> dict:
    from .bench_images import curve_run
    run = curve_run(str(MNIST), 0, max_steps, every, judge, train, held_out, stop_at=target)
    return run


def part_images(ref_steps: int, ref_every: int, gk_every: int, gk_max: int) -> dict:
    from gankit.classifier import get_judge
    from .bench_images import split

    train, held_out = split(str(MNIST), 0)
    judge = get_judge(train, held_out)
    with tempfile.TemporaryDirectory() as tmp:
        ref = material_cwgan(ref_steps, ref_every, judge, Path(tmp))
    if "skipped" in ref:
        return ref
    target = ref["marks"][-1]["accuracy"]
    run = gankit_cwgan(target, gk_max, gk_every, judge, train, held_out)
    return {"reference": ref, "gankit": {"curve": run["curve"], "config": run["config"]},
            "target": target, "judge_held_out_accuracy": judge.held_out_accuracy,
            "n_train": len(train), "n_held_out": len(held_out)}


# ------------------------------------------------------------------------------------ report
def _pct(v):
    return f"{100 * v:.1f}%"


def render_mixtures(m: dict) -> tuple[str, list[str]]:
    rows, lines = [], []
    real = m.get("real")
    if real is not None:
        rows.append(["real data", f"{EVAL:,} held-out points", "", f"{real['modes']} / {K}",
                     f"{100 * real['hq']:.1f}", f"{real['reverse_kl']:.3f}", "", "", ""])
    for label, r in m["models"].items():
        ref = r["material"]
        bar = r.get("bar", ref)
        rows.append([label, f"material (seed_mog.py, {m['epochs']} epochs = {ref['d_steps']} D steps)",
                     "0", f"{ref['modes']} / {K}", f"{100 * ref['hq']:.1f}", f"{ref['reverse_kl']:.3f}",
                     f"{ref['coverage']:.2f}", f"{ref['cpu_s']:.1f}", ""])
        for t in r["tries"]:
            runs = t["runs"]
            rows.append([label, f"gankit, {t['steps']} steps", ",".join(str(s) for s in SEEDS[:len(runs)]),
                         " / ".join(str(x["modes"]) for x in runs),
                         " / ".join(f"{100 * x['hq']:.1f}" for x in runs),
                         " / ".join(f"{x['reverse_kl']:.3f}" for x in runs), "",
                         f"{t['cpu_s']:.1f}", f"{t['reached']} of {len(runs)}"])
        succeeded = ref["modes"] == K
        if r["reached"] is not None:
            ratio = r["reached"]["cpu_s"] / ref["cpu_s"]
            text = verdict(f"{label}: gankit CPU s to the material's final quality / the material's "
                           "CPU s", ratio, TARGET_RATIO, higher_is_better=False, fmt="{:.3f}")
        else:
            last = r["tries"][-1]
            ratio = float("inf")
            text = (f"- Target {label}: gankit CPU s to the material's final quality / the material's "
                    f"CPU s <= {TARGET_RATIO:.3f}: **missed**: not reached at any budget tried (up to "
                    f"{last['steps']} steps, {last['cpu_s']:.1f} CPU s per run, "
                    f"{last['cpu_s'] / ref['cpu_s']:.2f} of the material's CPU time; budgets stop "
                    f"beyond {GIVE_UP:g} of it).")
        if bar["hq"] < ref["hq"]:
            text += (f" The material's high-quality share ({100 * ref['hq']:.1f}%) is above the "
                     f"real data's ({100 * bar['hq']:.1f}%): its samples sit tighter than the "
                     "data, so the bar is the real data's share.")
        if not succeeded:
            text += (f" The material's own run does not succeed here ({ref['modes']} of {K} modes), "
                     "so this row does not count for the target.")
        lines.append(text)
        r["ratio"], r["counts"] = ratio, succeeded
    table = markdown_table(["model", "run", "seeds", "modes captured", "high quality %",
                            "reverse KL", "material coverage", "CPU s (per run)",
                            "reach the material"], rows)
    return table, lines


def _provenance_line(part: str, measured: dict) -> str:
    """Which run measured a part: a section may join parts measured by separate runs."""
    return (f"- {part}: measured at commit {measured['commit']} on {measured['date']} by "
            f"`{command_line('bench_time_to_quality', measured['argv'])}`; load average "
            f"{measured['load_start']} at the start, {measured['load_end']} at the end.")


def merge_results(paths) -> dict:
    """The parts of several `--json` result files (a later file's part replaces an earlier's)."""
    merged: dict = {"argv": []}
    for path in paths:
        data = json.loads(Path(path).read_text())
        for part in ("mixtures", "images"):
            if part in data:
                merged[part] = data[part]
                merged[part].setdefault("measured", {
                    "commit": data.get("commit", "unknown"), "date": data.get("date", "unknown"),
                    "argv": data["argv"], "load_start": data["load_start"],
                    "load_end": data["load_end"]})
    return merged


def render(results: dict) -> str:
    parts = ["One thread each (torch.set_num_threads(1) here; OMP_NUM_THREADS=1 and "
             "torch.set_num_threads(1) in the material's interpreter). CPU seconds are those of "
             "training alone (time.process_time around the training loop; scoring, judging and "
             "saving excluded). The machine is shared with other work.\n\n"
             + "\n".join(_provenance_line(name, results[name]["measured"])
                         for name in ("mixtures", "images") if name in results)]
    counted = []
    if "mixtures" in results:
        m = results["mixtures"]
        table, lines = render_mixtures(m)
        parts.append(
            "### The material's 8-mode mixture: vanilla GAN, WGAN-GP, conditional WGAN-GP\n\n"
            f"The material: `seed_mog.py 8 {m['epochs']}` (3 x 128 ReLU MLPs, latent 2, batch 128, "
            "Adam 2e-4; WGAN-GP: lambda 10, a generator step every 5 critic steps), run by "
            "`benchmarks/_baseline_runner.py`, which loads the script and repeats its main block "
            "with CPU timing; its final 10,000 samples are mapped back from its 0.9 / max|X| "
            "scaling and the first 2,500 scored with `gankit.metrics.mode_metrics` against its 8 "
            "centres with std 0.5 (the same definitions as every mixture table here: high quality "
            "= within 3 std of the nearest centre). Material coverage is its own KMeans test, for "
            "reference. gankit: `TrainConfig(data=\"blobs8\", model=MODEL[, conditional=True], "
            "steps=S, seed=SEED)` with every other setting `gankit train`'s default (points: "
            "3 x 128 networks, batch 256, the learning rate decaying linearly to 0 over the run; "
            "Adam 1e-3 for the BCE GAN and WGAN-GP, conditional WGAN-GP's points recipe: one-hot "
            "labels, a zero-centred penalty, Adam 3e-4, each class standardised by its own mean "
            "and std, samples from the generator's weight average), budgets doubling from 125 "
            "steps; a budget reaches "
            "the material when the majority of its seeds capture at least as many modes AND have "
            "at least its high-quality share, capped at the share of real points (within 3 std "
            "of a centre holds 98.9% of a Gaussian's mass: a share above the data's own rewards "
            "samples packed tighter than the data) (seeds are run in order until the majority is "
            "decided). "
            "Per-seed values are listed seed 0 / 1 / 2.\n\n"
            + table + "\n\n" + "\n".join(lines))
        counted += [(label, r) for label, r in m["models"].items() if r["counts"]]
    if "images" in results:
        im = results["images"]
        if "skipped" in im:
            parts.append(f"### Conditional WGAN-GP on MNIST\n\nNot measured: {im['skipped']}.")
        else:
            ref, gk = im["reference"], im["gankit"]
            target = im["target"]
            ref_cpu = ref["marks"][-1]["cpu_s"]
            hit = next((p for p in gk["curve"] if p["accuracy"] >= target), None)
            rows = [["material", m_["step"], f"{m_['cpu_s']:.0f}", _pct(m_["eval"]), _pct(m_["train"]),
                     _pct(m_["accuracy"])] for m_ in ref["marks"]]
            rows += [["gankit", p["step"], f"{p['cpu_s']:.0f}", "", "", _pct(p["accuracy"])]
                     for p in gk["curve"]]
            cfg = gk["config"]
            text = (
                "### Conditional WGAN-GP on MNIST 32x32\n\n"
                f"The material: `seed_cwgan_gp.py`'s loop (G width 64 x 8 transposed convs with "
                "BatchNorm, critic width 64 with instance norm and concatenated label maps, batch 64, "
                "n_critic 5 on one real batch, Adam 1e-4 (0.5, 0.9), lambda 10) on the 10,000 t10k "
                f"images, {ref['steps']} generator steps, run by `benchmarks/_baseline_runner.py`. "
                "gankit: `TrainConfig(data=MNIST, model=\"wgan-gp\", conditional=True)` with its "
                f"defaults (width {cfg['width']}, batch {cfg['batch_size']}, Adam {cfg['lr_g']} "
                f"{tuple(cfg['betas_g'])}, n_critic {cfg['n_critic']}) on its 80% training split "
                f"({im['n_train']} images). Both judged by gankit's judge (trained on gankit's "
                f"split, {_pct(im['judge_held_out_accuracy'])} on real held-out images; some of the "
                "material's training images are the judge's held-out images, which only concerns "
                "the judge's own score): 100 samples per class. The material's generator is judged "
                "in eval mode (BatchNorm running statistics) and in training mode (statistics of the "
                "1,000-sample batch); the better counts. Target accuracy: the material's at its last "
                f"step, **{_pct(target)}**.\n\n"
                + markdown_table(["loop", "step", "training CPU s", "accuracy (eval mode)",
                                  "accuracy (train mode)", "accuracy"], rows) + "\n\n")
            succeeded = target >= SUCCESS_ACCURACY
            if hit is not None:
                ratio = hit["cpu_s"] / ref_cpu
                text += (f"gankit first reaches {_pct(target)} at step {hit['step']} after "
                         f"{hit['cpu_s']:.0f} CPU s; the material took {ref_cpu:.0f} CPU s.\n\n")
            else:
                ratio = float("inf")
            what = ("conditional WGAN-GP on MNIST: gankit CPU s to the material's final accuracy / "
                    "the material's CPU s")
            if not succeeded:
                # reaching a chance-level accuracy proves nothing: like the material's WGAN-GP on
                # the mixture, a run that has not succeeded sets no quality to reach
                per_step = ref_cpu / ref["steps"]
                text += (f"- Target {what} <= {TARGET_RATIO:.3f}: **not applicable**: the material's "
                         f"loop ends at {_pct(target)} after {ref['steps']} generator steps "
                         f"({ref_cpu:.0f} CPU s), below {_pct(SUCCESS_ACCURACY)} (chance is 10%): it "
                         "has not succeeded at the budget this machine allows, so there is no "
                         "quality to reach and the row does not count. Its tutorial trains 100 "
                         f"epochs of 60,000 images ({TUTORIAL_STEPS:,} generator steps), about "
                         f"{TUTORIAL_STEPS * per_step / 3600:.0f} CPU-hours at its rate here. "
                         "gankit's own curve on MNIST is in the section on image GANs.")
            elif hit is not None:
                text += verdict(what, ratio, TARGET_RATIO, higher_is_better=False, fmt="{:.3f}")
            else:
                last = gk["curve"][-1]
                text += (f"- Target {what} <= {TARGET_RATIO:.3f}: **missed**: gankit did not reach "
                         f"{_pct(target)} within {last['step']} steps ({last['cpu_s']:.0f} CPU s).")
            parts.append(text)
            if succeeded:
                counted.append(("conditional WGAN-GP, MNIST", {"ratio": ratio}))
    if counted:
        what = (f"every model where the material succeeds ({', '.join(n for n, _ in counted)}): "
                "the largest ratio of gankit's CPU s to the material's")
        unreached = [n for n, r in counted if not math.isfinite(r["ratio"])]
        if unreached:
            # a model gankit never reached is a miss, not a missing measurement
            line = (f"- Target {what} <= {TARGET_RATIO:.3f}: **missed**: not reached at any "
                    f"budget tried by {', '.join(unreached)}.")
        else:
            worst = max(counted, key=lambda item: item[1]["ratio"])
            line = verdict(what, worst[1]["ratio"], TARGET_RATIO, higher_is_better=False,
                           fmt="{:.3f}") + f" Largest: {worst[0]}."
        parts.append("### Verdict\n\n" + line)
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------- check
CHECK_TOLERANCE = {"kind": "exact"}


def check_rows() -> list[dict]:
    """The material's mixture loop at 1 epoch and gankit's three mixture models at 125 steps
    (seed 0), scored as above; the material's image loop at 2 steps and gankit's at 10, judged."""
    rows = []
    ref = material_mog(1, [name for _, _, name, _ in MIX_MODELS])
    for name, r in ref.items():
        rows.append({"row": f"material {name}", "settings": {"epochs": 1},
                     "values": {"modes": r["modes"], "hq": r["hq"], "coverage": r["coverage"]}})
    for model, settings, _, label in MIX_MODELS:
        r = gankit_mix(model, settings, 125, 0)
        rows.append({"row": f"gankit {label}", "settings": {"steps": 125, "seed": 0},
                     "values": {"modes": r["modes"], "hq": r["hq"], "reverse_kl": r["reverse_kl"]}})
    if MNIST.is_dir():
        from gankit.classifier import get_judge
        from .bench_images import curve_run, split
        train, held_out = split(str(MNIST), 0)
        judge = get_judge(train, held_out)
        with tempfile.TemporaryDirectory() as tmp:
            ref = material_cwgan(2, 2, judge, Path(tmp))
        rows.append({"row": "material cwgan MNIST", "settings": {"steps": 2},
                     "values": {"eval": ref["marks"][-1]["eval"], "train": ref["marks"][-1]["train"]}})
        run = curve_run(str(MNIST), 0, 10, 10, judge, train, held_out)
        rows.append({"row": "gankit cwgan MNIST", "settings": {"steps": 10, "seed": 0},
                     "values": {"accuracy": run["curve"][-1]["accuracy"]}})
    return rows


CHECKS = {"time_to_quality": check_rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="mixtures,images")
    p.add_argument("--epochs", type=int, default=500, help="the material's mixture epochs")
    p.add_argument("--ref-steps", type=int, default=300, help="the material's image loop, generator steps")
    p.add_argument("--ref-every", type=int, default=50)
    p.add_argument("--every", type=int, default=25, help="gankit's image run: judge every N steps")
    p.add_argument("--max-steps", type=int, default=3000, help="gankit's image run: at most")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--render", metavar="JSON", nargs="+",
                   help="measure nothing: write the section from --json results (several files: "
                        "their parts joined, each with the commit and command that measured it)")
    p.add_argument("--quick", action="store_true", help="tiny budgets, nothing written")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    one_thread()
    if args.render:
        results = merge_results(args.render)
        results["argv"] = ["--render", *args.render]
    else:
        parts = [s for s in args.parts.split(",") if s]
        results = {"load_start": load_text(), "argv": list(argv if argv is not None else sys.argv[1:])}
        if "mixtures" in parts:
            results["mixtures"] = part_mixtures(2 if args.quick else args.epochs,
                                                BUDGETS[:2] if args.quick else BUDGETS,
                                                SEEDS[:1] if args.quick else SEEDS)
        if "images" in parts:
            results["images"] = part_images(4 if args.quick else args.ref_steps,
                                            2 if args.quick else args.ref_every,
                                            5 if args.quick else args.every,
                                            10 if args.quick else args.max_steps)
        results["load_end"] = load_text()
        results["commit"], results["date"] = COMMIT_AT_START, time.strftime("%Y-%m-%d %H:%M")
        for part in parts:
            results[part]["measured"] = {k: results[k] for k in
                                         ("commit", "date", "argv", "load_start", "load_end")}
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    body = render(results)
    print(body)
    if args.quick or args.no_write:
        return 0
    rows = check_rows()
    write_section("time_to_quality", "Time to quality against the material's own code", body,
                  command_line("bench_time_to_quality", results["argv"]),
                  threads="1 torch thread in every process (gankit's and the material's)",
                  check=(rows, CHECK_TOLERANCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
