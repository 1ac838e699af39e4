"""Image GANs at fixed budgets (issue 6): conditional WGAN-GP on scikit-learn digits and on the
MNIST files, judged by gankit's held-out classifier, and throughput against the reference loop.

    .venv/bin/python -m benchmarks.bench_images [--parts digits,default,dcgan,mnist,throughput,anchors]
        [--seeds 0,1,2] [--digits-steps 600] [--mnist-steps 3000] [--quick] [--no-write]
        [--json RESULTS.json]
    .venv/bin/python -m benchmarks.bench_images --render RESULTS.json   # rewrite the section only

Writes the "images" section of docs/benchmarks.md; the throughput part
(`bench_image_throughput`) writes its own section, "images_throughput", so that it can be
measured again alone (--parts throughput). Everything runs with one torch thread
(torch.set_num_threads(1)) so that CPU seconds (time.process_time) measure the work rather than
the machine's load; wall seconds are reported beside them. Parts:

- digits: `TrainConfig(data="digits", model="wgan-gp", conditional=True)` with gankit's defaults
  and the run's own split, per seed; conditional accuracy (100 samples per class, judged by the
  held-out classifier: gankit's judge trained on the run's training split, cached by
  fingerprint) every 50 generator steps, with the CPU seconds of training up to that step
  (evaluation excluded); FID in the judge's feature space against half of the held-out images,
  with the real-vs-real floor (the other half) beside it; the judge's own held-out accuracy.
- default: the command `gankit train --data digits --model wgan-gp --conditional` itself, in a
  fresh one-thread process timed end to end, then judged.
- dcgan: `--model dcgan --conditional` on digits at its default budget, per seed.
- mnist: the conditional WGAN-GP recipe on ../shared/data/mnist (10k images: 8k train / 2k held
  out), stopped once two evaluations in a row reach --mnist-stop-at (95%).
- throughput: generator steps and images per second of gankit's loop against the reference
  material's own loop (../shared/baselines/seed_cwgan_gp.py) with the reference's networks
  (G width 128, critic width 64 with instance norm and concatenated labels), batch 64, n_critic 5,
  Adam(1e-4, (0.5, 0.9)), on MNIST 32x32; also with bf16 autocast and with gankit's defaults.
- anchors: FID/KID/PRDC in the MNIST judge's feature space for real vs real (two halves of the
  held-out split), real vs the same images with shuffled pixels, and real vs uniform noise.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gankit.classifier import get_judge
from gankit.config import TrainConfig
from gankit.metrics import fid, kid, prdc
from gankit.models import DataSpec, GANModule
from gankit.training import build_module, load_run, prepare_data
from gankit.training.loop import training_loop

from ._common import SHARED_DATA, markdown_table, one_thread, verdict, write_section

COMMAND = ".venv/bin/python -m benchmarks.bench_images"
TITLE = "Image GANs: conditional WGAN-GP on digits and MNIST"
MNIST = SHARED_DATA / "mnist"
PER_CLASS = 100          # generated samples per class for the conditional accuracy
EVAL_SEED = 12345        # noise of the evaluation samples (never the training stream)


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def split(source: str, seed: int):
    config = TrainConfig(data=source, model="wgan-gp", conditional=True, seed=seed)
    return prepare_data(config)


def judge_of(train, held_out) -> dict:
    start = time.process_time()
    judge = get_judge(train, held_out)
    return {"judge": judge, "held_out_accuracy": judge.held_out_accuracy,
            "epochs": judge.record.get("epochs"), "train_seconds": judge.record.get("seconds"),
            "cpu_s_here": time.process_time() - start}


def conditional_accuracy(module: GANModule, judge, per_class: int = PER_CLASS) -> dict:
    k = module.num_classes
    samples, labels = module.sample(k * per_class, rng=torch.Generator().manual_seed(EVAL_SEED))
    score = judge.score(samples, labels)
    return {"accuracy": score["accuracy"], "per_class": score["per_class_accuracy"]}


def halves(held_out, seed: int = 0):
    """Two disjoint halves of the held-out images (seeded), A and B."""
    perm = np.random.default_rng(seed).permutation(len(held_out))
    a, b = perm[: len(perm) // 2], perm[len(perm) // 2:]
    return held_out.x[torch.as_tensor(a)], held_out.x[torch.as_tensor(b)]


def fid_against_held_out(module: GANModule, judge, held_out) -> dict:
    """FID(half A, generated) with n generated = |B|, beside the floor FID(half A, half B)."""
    a, b = halves(held_out)
    fake, _ = module.sample(len(b), rng=torch.Generator().manual_seed(EVAL_SEED + 1))
    fa, fb, ff = judge.features(a).numpy(), judge.features(b).numpy(), judge.features(fake).numpy()
    return {"fid": fid(fa, ff), "floor": fid(fa, fb), "n_real": len(a), "n_fake": len(fake)}


class _Reached(Exception):
    pass


def curve_run(source: str, seed: int, steps: int, every: int, judge, train, held_out,
              model: str = "wgan-gp", stop_at: float | None = None, **settings) -> dict:
    """Train with gankit's defaults (plus `settings`), judging the generator every `every` steps.

    Evaluation time is measured and subtracted, so each point's CPU seconds are those of
    training alone up to that step. Without a learning-rate schedule (the image default), the
    weights at step s equal those of a run of s steps, so one run gives every budget.
    stop_at: stop once two evaluations in a row reach this accuracy (saves the budget)."""
    config = TrainConfig(data=source, model=model, conditional=True, seed=seed, steps=steps,
                         progress=False, tensorboard=False, log_every=every,
                         **settings).resolve(train.kind)
    module = build_module(config, DataSpec.of(train))
    curve: list[dict] = []
    spent = {"cpu": 0.0, "wall": 0.0}
    cpu0, wall0 = time.process_time(), time.perf_counter()

    def on_step(step, logs):
        c, w = time.process_time(), time.perf_counter()
        acc = conditional_accuracy(module, judge)
        curve.append({"step": step, "accuracy": acc["accuracy"],
                      "cpu_s": c - cpu0 - spent["cpu"], "wall_s": w - wall0 - spent["wall"],
                      "wasserstein": logs.get("wasserstein")})
        log(f"{source} {model} seed {seed} step {step}: accuracy {acc['accuracy']:.4f}, "
            f"{curve[-1]['cpu_s']:.0f} CPU s")
        spent["cpu"] += time.process_time() - c
        spent["wall"] += time.perf_counter() - w
        if stop_at is not None and len(curve) >= 2 and \
                min(p["accuracy"] for p in curve[-2:]) >= stop_at:
            raise _Reached

    try:
        training_loop(module, train, config, on_step=on_step)
    except _Reached:
        log(f"{source}: {stop_at:.0%} reached twice in a row at step {curve[-1]['step']}; stopped")
    final = conditional_accuracy(module, judge)
    return {"seed": seed, "curve": curve, "final": final,
            "fid": fid_against_held_out(module, judge, held_out),
            "config": {k: config.to_dict()[k] for k in ("width", "batch_size", "lr_g", "betas_g",
                                                         "n_critic", "latent_dim")}}


def first_reaching(curve: list[dict], target: float) -> dict | None:
    return next((p for p in curve if p["accuracy"] >= target), None)


# ------------------------------------------------------------------------------------- parts
def part_digits(seeds, steps, every) -> dict:
    out = {"runs": [], "judges": {}}
    for seed in seeds:
        train, held_out = split("digits", seed)
        j = judge_of(train, held_out)
        out["judges"][seed] = {k: v for k, v in j.items() if k != "judge"}
        log(f"digits judge (seed {seed}): held-out accuracy {j['held_out_accuracy']:.4f}")
        out["runs"].append(curve_run("digits", seed, steps, every, j["judge"], train, held_out))
    return out


def part_dcgan(seeds, steps, every) -> dict:
    """Conditional DCGAN (BCE, projection discriminator with BatchNorm) at its default budget."""
    runs = []
    for seed in seeds:
        train, held_out = split("digits", seed)
        judge = get_judge(train, held_out)
        runs.append(curve_run("digits", seed, steps, every, judge, train, held_out, model="dcgan"))
    return {"runs": runs}


def part_default() -> dict:
    """The command with default settings, end to end: a fresh `python -m gankit` process with
    one thread (OMP_NUM_THREADS=1), its CPU seconds from getrusage (interpreter start, imports,
    data loading, snapshots, checkpoints and the GIF included)."""
    train, held_out = split("digits", 0)
    judge = get_judge(train, held_out)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    args = ["train", "--data", "digits", "--model", "wgan-gp", "--conditional"]
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "digits-cwgan"
        before, wall0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([sys.executable, "-m", "gankit", *args, "--out", str(run), "--no-progress"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter() - wall0
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        module, config, _ = load_run(run)
        acc = conditional_accuracy(module, judge)
        f = fid_against_held_out(module, judge, held_out)
    return {"command": "gankit " + " ".join(args), "steps": config.total_steps(len(train)),
            "cpu_s": cpu, "wall_s": wall, "accuracy": acc["accuracy"], "per_class": acc["per_class"],
            "fid": f, "judge_held_out_accuracy": judge.held_out_accuracy}


def part_mnist(steps, every, stop_at=None) -> dict:
    if not MNIST.is_dir():
        return {"skipped": f"{MNIST} is absent"}
    train, held_out = split(str(MNIST), 0)
    j = judge_of(train, held_out)
    log(f"mnist judge: held-out accuracy {j['held_out_accuracy']:.4f}")
    run = curve_run(str(MNIST), 0, steps, every, j["judge"], train, held_out, stop_at=stop_at)
    return {"judge": {k: v for k, v in j.items() if k != "judge"}, "run": run,
            "n_train": len(train), "n_held_out": len(held_out)}


def check_rows_images() -> list[dict]:
    """Conditional WGAN-GP on digits, seed 0, judged after 20 steps (exact)."""
    train, held_out = split("digits", 0)
    judge = get_judge(train, held_out)
    run = curve_run("digits", 0, 20, 20, judge, train, held_out)
    return [{"row": "digits cwgan-gp seed 0", "settings": {"steps": 20},
             "values": {"accuracy": run["curve"][-1]["accuracy"], "fid": run["fid"]["fid"]}}]


CHECKS = {"images": check_rows_images}


def part_anchors() -> dict:
    if not MNIST.is_dir():
        return {"skipped": f"{MNIST} is absent"}
    train, held_out = split(str(MNIST), 0)
    judge = get_judge(train, held_out)
    a, b = halves(held_out)
    gen = torch.Generator().manual_seed(0)
    flat = b.reshape(len(b), -1)
    order = torch.argsort(torch.rand(flat.shape, generator=gen), dim=1)   # per-image permutation
    shuffled = torch.gather(flat, 1, order).reshape(b.shape)
    noise = torch.rand(b.shape, generator=gen) * 2 - 1
    fa = judge.features(a).numpy()
    out = {"n": [len(a), len(b)], "judge_held_out_accuracy": judge.held_out_accuracy}
    for name, other in (("real vs real (held-out halves)", b), ("real vs shuffled pixels", shuffled),
                        ("real vs uniform noise", noise)):
        fo = judge.features(other).numpy()
        k = kid(fa, fo, subset_size=min(1000, len(fa), len(fo)))
        p = prdc(fa, fo, k=5)
        out[name] = {"fid": fid(fa, fo), "kid": k["mean"] if isinstance(k, dict) else k, **p}
        log(name, out[name])
    return out


# ------------------------------------------------------------------------------------ report
def _pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def _normalise(results: dict) -> dict:
    """Results read back from JSON: seed keys become ints again."""
    if "digits" in results:
        results["digits"]["judges"] = {int(k): v for k, v in results["digits"]["judges"].items()}
    if "dcgan" in results and "runs" not in results["dcgan"]:
        results["dcgan"] = {"runs": [results["dcgan"]]}        # one seed (earlier format)
    return results


def _command(argv: list[str]) -> str:
    shown, skip = [], False
    for a in argv:                       # where the raw results went is not part of the method
        if skip:
            skip = False
            continue
        if a == "--json":
            skip = True
            continue
        if not a.startswith("--json="):
            shown.append(a)
    return " ".join([COMMAND] + shown)


def _total_line(results: dict) -> str:
    t = results["total"]
    return (f"\n\nThe whole benchmark took {t['cpu_s'] / 60:.1f} CPU-min in its own process "
            f"({t['wall_s'] / 60:.1f} wall-min), plus the subprocesses (default command, "
            f"reference loop).")


def targets(results: dict) -> str:
    """The issue's targets against what this run measured, verdicts computed."""
    lines = []
    if "default" in results:
        r = results["default"]
        at = ", ".join(f"{_pct(next(p['accuracy'] for p in run['curve'] if p['step'] == r['steps']))}"
                       for run in results.get("digits", {}).get("runs", [])
                       if any(p["step"] == r["steps"] for p in run["curve"]))
        lines.append(verdict("digits: the default command's judged conditional accuracy",
                             100 * r["accuracy"], 97, fmt="{:.1f}", unit="%")
                     + f" Judge on real: {_pct(r['judge_held_out_accuracy'])}"
                     + (f"; the curve runs' seeds at step {r['steps']}: {at}." if at else "."))
        lines.append(verdict("digits: the default command's CPU seconds end to end",
                             r["cpu_s"], 180, higher_is_better=False, fmt="{:.0f}", unit=" s"))
    if "mnist" in results and "run" in results["mnist"]:
        hit = first_reaching(results["mnist"]["run"]["curve"], 0.95)
        if hit is None:
            last = results["mnist"]["run"]["curve"][-1]
            lines.append(f"- Target MNIST: >= 95% within 30 CPU-min of training: **missed**: not "
                         f"reached in the budget ({_pct(last['accuracy'])} at step {last['step']}, "
                         f"{last['cpu_s'] / 60:.1f} CPU-min).")
        else:
            lines.append(verdict("MNIST: CPU minutes of training to >= 95% judged accuracy",
                                 hit["cpu_s"] / 60, 30, higher_is_better=False, fmt="{:.1f}",
                                 unit=" min")
                         + f" {_pct(hit['accuracy'])} at step {hit['step']}; judge on real: "
                         f"{_pct(results['mnist']['judge']['held_out_accuracy'])}.")
    return "\n".join(lines)


def render(results: dict, args) -> str:
    lines = []
    load = results["load"]
    lines.append(
        f"One torch thread throughout (`torch.set_num_threads(1)`); CPU seconds are "
        f"`time.process_time()` of this process (training only, evaluation excluded, unless said "
        f"otherwise), wall seconds beside them. The machine is shared: 1/5/15-minute load "
        f"averages {load['start'][0]:.1f}/{load['start'][1]:.1f}/{load['start'][2]:.1f} at the "
        f"start and {load['end'][0]:.1f}/{load['end'][1]:.1f}/{load['end'][2]:.1f} at the end on "
        f"{os.cpu_count()} cores, so wall seconds are inflated and CPU seconds are upper bounds of "
        f"an idle machine's (cache and memory-bandwidth contention). Conditional accuracy: "
        f"{PER_CLASS} samples per class, generated for that class and classified by the held-out "
        f"judge (gankit's small CNN trained on the run's training split, `gankit.classifier`). "
        f"FID is in the judge's 128-d feature space, against one half of the held-out images with "
        f"as many generated images as the other half; the floor is FID between the two halves. "
        f"Measured {results.get('date', '?')}.")
    summary = targets(results)
    if summary:
        lines.append("\n" + summary)
    for note in results.get("notes", []):
        lines.append("\n" + note)
    if "digits" in results:
        d = results["digits"]
        lines.append("\n### Conditional WGAN-GP on scikit-learn digits (32x32), gankit defaults\n")
        cfg = d["runs"][0]["config"]
        lines.append(
            f"1,797 digits, 80/20 stratified split by the run's seed (1,438 train / 359 held out); "
            f"defaults: width {cfg['width']}, projection critic with layer norm, batch "
            f"{cfg['batch_size']}, Adam({cfg['lr_g']}, {tuple(cfg['betas_g'])}), n_critic "
            f"{cfg['n_critic']}, latent {cfg['latent_dim']}.\n")
        steps = [p["step"] for p in d["runs"][0]["curve"]]
        header = ["seed", "judge on real held-out"] + [f"step {s}" for s in steps]
        rows = []
        for r in d["runs"]:
            rows.append([r["seed"], _pct(d["judges"][r["seed"]]["held_out_accuracy"])]
                        + [_pct(p["accuracy"]) for p in r["curve"]])
        rows.append(["CPU s (seed 0)", ""] + [f"{p['cpu_s']:.0f}" for p in d["runs"][0]["curve"]])
        rows.append(["wall s (seed 0)", ""] + [f"{p['wall_s']:.0f}" for p in d["runs"][0]["curve"]])
        lines.append(markdown_table(header, rows))
        rows = []
        for r in d["runs"]:
            hit = first_reaching(r["curve"], 0.97)
            rows.append([r["seed"], _pct(r["final"]["accuracy"]),
                         f"{r['fid']['fid']:.2f}", f"{r['fid']['floor']:.2f}",
                         "not reached" if hit is None else f"step {hit['step']}, {hit['cpu_s']:.0f} CPU s "
                         f"({hit['wall_s']:.0f} wall s)"])
        lines.append(f"\nAt the last step ({steps[-1]}); FID with {d['runs'][0]['fid']['n_real']} "
                     f"real vs {d['runs'][0]['fid']['n_fake']} generated:\n")
        lines.append(markdown_table(["seed", "accuracy", "FID (judge features)",
                                     "real-vs-real floor", "first >= 97%"], rows))
        lines.append(
            "\nWith about 180 images a side, FID in 128 dimensions is dominated by sampling noise "
            "(the real-vs-real floor itself ranges over the seeds' splits), so on digits it only "
            "says that the generated images are not far from real ones; the judged accuracy is "
            "the informative figure. MNIST below has 1,000 a side.")
    if "default" in results:
        r = results["default"]
        lines.append("\n### The default command\n")
        lines.append(
            f"`{r['command']}` ({r['steps']} generator steps by default; `--no-progress` added), "
            f"run as a fresh process with OMP_NUM_THREADS=1 and timed end to end (interpreter "
            f"start, imports, data loading, 20 sample grids, 5 checkpoints, TensorBoard, "
            f"training.gif, losses.png): **{r['cpu_s']:.0f} CPU s** ({r['wall_s']:.0f} wall s). "
            f"Conditional accuracy **{_pct(r['accuracy'])}**; the judge scores "
            f"{_pct(r['judge_held_out_accuracy'])} on real held-out digits. FID "
            f"{r['fid']['fid']:.2f} (floor {r['fid']['floor']:.2f}). Per class: "
            + ", ".join(f"{i}: {_pct(v)}" for i, v in enumerate(r["per_class"])) + ".")
    if "dcgan" in results:
        runs = results["dcgan"]["runs"]
        cfg = runs[0]["config"]
        lines.append("\n### Conditional DCGAN on digits (32x32), gankit defaults\n")
        lines.append(
            f"`--model dcgan --conditional`: BCE with the non-saturating generator loss, "
            f"discriminator with BatchNorm and projection conditioning, Adam({cfg['lr_g']}, "
            f"{tuple(cfg['betas_g'])}), one D step per G step; judged accuracy by step.\n")
        steps = [p["step"] for p in runs[0]["curve"]]
        rows = [[f"seed {r['seed']}"] + [_pct(p["accuracy"]) for p in r["curve"]]
                + [f"{r['fid']['fid']:.2f} ({r['fid']['floor']:.2f})"] for r in runs]
        rows.append([f"CPU s (seed {runs[0]['seed']})"] + [f"{p['cpu_s']:.0f}" for p in runs[0]["curve"]]
                    + [""])
        lines.append(markdown_table([""] + [str(s_) for s_ in steps]
                                    + [f"FID at {steps[-1]} (floor)"], rows))
    if "mnist" in results and "run" in results["mnist"]:
        m = results["mnist"]
        r = m["run"]
        lines.append("\n### Conditional WGAN-GP on the MNIST files (32x32), gankit defaults\n")
        lines.append(
            f"`../shared/data/mnist` (the 10k t10k images), {m['n_train']} train / "
            f"{m['n_held_out']} held out. Judge: {m['judge']['epochs']} epochs, "
            f"{_pct(m['judge']['held_out_accuracy'])} on real held-out images.\n")
        lines.append(markdown_table(
            ["step", "accuracy", "CPU s", "wall s"],
            [[p["step"], _pct(p["accuracy"]), f"{p['cpu_s']:.0f}", f"{p['wall_s']:.0f}"]
             for p in r["curve"]]))
        hit = first_reaching(r["curve"], 0.95)
        lines.append(
            f"\nLast step: accuracy {_pct(r['final']['accuracy'])}, FID {r['fid']['fid']:.2f} "
            f"(floor {r['fid']['floor']:.2f}; {r['fid']['n_real']} real vs {r['fid']['n_fake']} "
            f"generated). 95% target: "
            + ("not reached within this budget." if hit is None else
               f"reached at step {hit['step']} after {hit['cpu_s']:.0f} CPU s "
               f"({hit['cpu_s'] / 60:.1f} CPU-min; target < 30)."))
    if "anchors" in results and "skipped" not in results["anchors"]:
        a = results["anchors"]
        lines.append("\n### Sanity anchors on MNIST with the offline extractor (judge features)\n")
        lines.append(f"Held-out split cut in two halves of {a['n'][0]} and {a['n'][1]} images; the "
                     f"judge scores {_pct(a['judge_held_out_accuracy'])} on real held-out images. "
                     f"Shuffled pixels: each image of the second half with its own random pixel "
                     f"permutation; noise: uniform in [-1, 1]. KID: 100 subsets; PRDC k = 5.\n")
        rows = [[name, f"{v['fid']:.2f}", f"{v['kid']:.4f}", f"{v['precision']:.3f}",
                 f"{v['recall']:.3f}", f"{v['density']:.3f}", f"{v['coverage']:.3f}"]
                for name, v in a.items() if isinstance(v, dict)]
        lines.append(markdown_table(["pair", "FID", "KID", "precision", "recall", "density",
                                     "coverage"], rows))
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="digits,default,dcgan,mnist,throughput,anchors")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--digits-steps", type=int, default=600)
    p.add_argument("--mnist-steps", type=int, default=3000)
    p.add_argument("--dcgan-steps", type=int, default=1000)
    p.add_argument("--dcgan-every", type=int, default=100)
    p.add_argument("--dcgan-seeds", default="0,1,2")
    p.add_argument("--every", type=int, default=50, help="digits: judge every N steps")
    p.add_argument("--mnist-every", type=int, default=250)
    p.add_argument("--mnist-stop-at", type=float, default=0.95,
                   help="stop the MNIST run once two evaluations in a row reach this accuracy")
    p.add_argument("--throughput-steps", type=int, default=10)
    p.add_argument("--throughput-repeats", type=int, default=2,
                   help="interleaved repeats of the throughput rows (the best of each kept)")
    p.add_argument("--quick", action="store_true", help="tiny budgets, no doc written (smoke test)")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--render", metavar="JSON",
                   help="measure nothing: write the section from results saved with --json")
    args = p.parse_args(argv)
    threads = torch.get_num_threads()     # restored afterwards (run_all runs others after us)
    try:
        if args.quick:
            args.digits_steps, args.every, args.mnist_steps, args.mnist_every = 10, 5, 10, 5
            args.dcgan_steps, args.dcgan_every, args.dcgan_seeds = 10, 5, "0"
            args.throughput_steps, args.seeds, args.no_write = 2, "0", True
        if args.render:
            one_thread()
            results = _normalise(json.loads(Path(args.render).read_text()))
            body = render(results, args) + _total_line(results)
            print(body)
            if not args.no_write:
                write_section("images", TITLE, body, _command(results["argv"]),
                              threads="one torch thread (one BLAS thread)")
            return
        one_thread()
        start_date = time.strftime("%Y-%m-%d %H:%M")
        parts = [s.strip() for s in args.parts.split(",") if s.strip()]
        argv_list = list(argv if argv is not None else sys.argv[1:])
        if "throughput" in parts:
            # a section of its own (bench_image_throughput), measured without the long parts
            from .bench_image_throughput import measure_and_write
            measure_and_write(args.throughput_steps, args.throughput_repeats, quick=args.quick,
                              write=not args.no_write, command=_command(argv_list))
            parts.remove("throughput")
            if not parts:
                return
        results: dict = {"load": {"start": os.getloadavg()}}
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if "digits" in parts:
            results["digits"] = part_digits([int(s) for s in args.seeds.split(",")],
                                            args.digits_steps, args.every)
        if "dcgan" in parts:
            results["dcgan"] = part_dcgan([int(v) for v in args.dcgan_seeds.split(",")],
                                          args.dcgan_steps, args.dcgan_every)
        if "default" in parts and not args.quick:
            results["default"] = part_default()
            log("default command:", {k: v for k, v in results["default"].items() if k != "per_class"})
        if "mnist" in parts:
            results["mnist"] = part_mnist(args.mnist_steps, args.mnist_every, args.mnist_stop_at)
        if "anchors" in parts:
            results["anchors"] = part_anchors()
        results["load"]["end"] = os.getloadavg()
        results["total"] = {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0}
        results["date"] = start_date
        results["argv"] = argv_list
        body = render(results, args)
        body += _total_line(results)
        print(body)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))
        if not args.no_write:
            write_section("images", TITLE, body, _command(results["argv"]),
                          threads="one torch thread (one BLAS thread); the default command's "
                                  "subprocess with OMP_NUM_THREADS=1",
                          check=(check_rows_images(), {"kind": "exact"}))
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
