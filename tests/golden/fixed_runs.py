"""A fixed set of short runs whose results must not change when gankit's code is reorganised.

`python tests/golden/fixed_runs.py --record` trains every run below and writes
`fixed_runs.json`: for each run the sha256 of its final checkpoint's tensors (weights,
optimizer state, RNG state, by name), a per-tensor summary (sum, sum of squares), and, for
points, the mode metrics of 2,500 samples. `tests/test_golden.py` trains them again and
compares. The record was taken before the variant redesign (issue 13), so the comparison proves
that the redesign changed no number; conditional WGAN-GP on points is pinned to its settings of
then (`MATERIAL_POINTS`), and its points recipe, the default since, is a run of its own.

Float results are bit-identical only on the same CPU kernels: the record names the CPU
(`cpu_signature`); on another CPU the test compares the tensor summaries to a relative
tolerance instead of the hashes (the runs are short, so rounding has little room to grow).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORD = HERE / "fixed_runs.json"

COMMON = ["--steps", "20", "--log-every", "10", "--hidden", "32", "--batch-size", "64",
          "--sample-every", "1000", "--no-progress", "--no-tensorboard", "--seed", "3"]
POINT_RUNS = {
    "gan": ["--model", "gan"],
    "wgan-gp": ["--model", "wgan-gp"],
    "gan-pac": ["--model", "gan", "--remedy", "pac"],
    "wgan-gp-pac": ["--model", "wgan-gp", "--remedy", "pac"],
    "gan-minibatch": ["--model", "gan", "--remedy", "minibatch"],
    "unrolled-second": ["--model", "gan", "--unroll", "2"],
    "unrolled-first": ["--model", "wgan-gp", "--unroll", "2", "--unroll-order", "first"],
    "mad-gan": ["--model", "gan", "--generators", "3"],
    "ebgan": ["--model", "ebgan"],
    "ebgan-pt": ["--model", "ebgan", "--pull-away", "0.1"],
    "began": ["--model", "began"],
}
# conditional WGAN-GP on points as it was recorded, before the points recipe and then class
# scaling became its defaults
MATERIAL_POINTS = ["--label-input", "embedding", "--gp-center", "1", "--lr-g", "1e-3", "--lr-d",
                   "1e-3", "--ema", "0", "--no-class-scaling"]
CONDITIONAL_RUNS = {
    "cgan": ["--model", "gan", "--conditional"],
    "cwgan-gp": ["--model", "wgan-gp", "--conditional", *MATERIAL_POINTS],
    "cwgan-gp-pac": ["--model", "wgan-gp", "--conditional", "--remedy", "pac", *MATERIAL_POINTS],
    "cwgan-gp-recipe": ["--model", "wgan-gp", "--conditional", "--no-class-scaling"],
    "cebgan": ["--model", "ebgan", "--conditional"],
    "cbegan": ["--model", "began", "--conditional"],
}
OTHER_RUNS = {
    "digits-dcgan": ["--data", "digits", "--model", "dcgan", "--width", "8", "--steps", "6",
                     "--batch-size", "32", "--log-every", "3", "--sample-every", "1000",
                     "--no-progress", "--no-tensorboard", "--seed", "1"],
    "digits-cwgan-gp": ["--data", "digits", "--model", "wgan-gp", "--conditional", "--width", "8",
                        "--steps", "4", "--batch-size", "32", "--log-every", "2",
                        "--sample-every", "1000", "--no-progress", "--no-tensorboard", "--seed", "1"],
    "iris-table": ["--data", "iris", "--model", "wgan-gp", "--steps", "10", "--log-every", "5",
                   "--sample-every", "1000", "--no-progress", "--no-tensorboard", "--seed", "2"],
}


def runs() -> dict[str, list[str]]:
    out = {}
    for data in ("ring8", "blobs8"):
        for name, args in POINT_RUNS.items():
            out[f"{data}/{name}"] = ["--data", data, *args, *COMMON]
    for name, args in CONDITIONAL_RUNS.items():
        out[f"blobs8/{name}"] = ["--data", "blobs8", *args, *COMMON]
    out.update(OTHER_RUNS)
    return out


def cpu_signature() -> str:
    import torch
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") or line.startswith("model\t"):
                model += line.split(":", 1)[1].strip() + ";"
    except OSError:
        model = platform.processor()
    return f"{platform.machine()} {model} {torch.backends.cpu.get_cpu_capability()} torch {torch.__version__}"


def checkpoint_summary(run_dir: Path) -> dict:
    """sha256 over the newest checkpoint's tensors (by name) and a per-tensor (sum, sum sq)."""
    import torch
    from safetensors.torch import load_file
    newest = sorted((Path(run_dir) / "checkpoints").glob("step_*.safetensors"))[-1]
    tensors = load_file(str(newest))
    digest = hashlib.sha256()
    sums = {}
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        digest.update(name.encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        if t.dtype.is_floating_point:
            d = t.double()
            sums[name] = [float(d.sum()), float((d * d).sum())]
    return {"step": newest.name, "sha256": digest.hexdigest(), "sums": sums}


def mode_scores(run_dir: Path) -> dict | None:
    import torch
    from gankit.data.toy import is_toy_name, load_toy
    from gankit.metrics import mode_metrics
    from gankit.training import load_run
    module, config, _ = load_run(run_dir)
    if not is_toy_name(config.data) or config.net != "mlp":
        return None
    data = load_toy(config.data, n=config.n_samples, seed=config.seed)
    samples, _ = module.sample(2500, rng=torch.Generator().manual_seed(0))
    scores = mode_metrics(samples.numpy(), data.centers, data.mode_std)
    return {"modes": int(scores["modes"]), "hq": float(scores["hq"]),
            "reverse_kl": float(scores["reverse_kl"])}


def train_all(root: Path, names=None) -> dict:
    from gankit.cli import main
    results = {}
    for name, args in runs().items():
        if names is not None and name not in names:
            continue
        out = root / name.replace("/", "__")
        code = main(["train", *args, "--out", str(out)])
        assert code == 0, f"{name}: exit {code}"
        results[name] = {**checkpoint_summary(out), "modes": mode_scores(out)}
    return results


def ensemble_experiment() -> list[dict]:
    """The vectorised mode-collapse experiment: its per-run metrics, to full precision."""
    from gankit.experiments.mode_collapse import run_mode_collapse
    frame = run_mode_collapse(modes=[4], models=["gan", "wgan-gp", "cwgan-gp-material"], seeds=2,
                              steps=20, hidden=32, batch_size=64, report=False)
    keep = ["data", "model", "seed", "modes_captured", "hq", "reverse_kl", "material_coverage"]
    return [{k: (float(v) if isinstance(v, float) else (int(v) if k in ("seed",) else v))
             for k, v in row.items() if k in keep} for row in frame.to_dict(orient="records")]


def two_process_run(root: Path) -> dict:
    out = root / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "gankit", "train", "--data", "ring8", "--model", "wgan-gp", *COMMON[:-2],
               "--steps", "10", "--seed", "5", "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return checkpoint_summary(out)


def record_all() -> dict:
    import torch
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        return {"cpu_signature": cpu_signature(), "runs": train_all(root),
                "ensemble": ensemble_experiment(), "two_process": two_process_run(root)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write fixed_runs.json")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    result = record_all()
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.record:
        RECORD.write_text(text + "\n")
        print(f"wrote {RECORD}")
    else:
        print(text)
