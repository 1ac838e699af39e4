"""`gankit demo`: the built-in showcase, small enough for a 2-core CPU in a few minutes.

Trains WGAN-GP on ring8 and a conditional WGAN-GP on blobs8, evaluates both with the mode
metrics, and prints where the run directories are.
"""
from __future__ import annotations

import time
from pathlib import Path

from .config import TrainConfig
from .training import train_run

DEMO_STEPS = 4000   # half the default budget: both runs fit in about two CPU-minutes
DEMO_RUNS = {
    "ring8-wgan-gp": dict(data="ring8", model="wgan-gp"),
    "blobs8-cwgan-gp": dict(data="blobs8", model="wgan-gp", conditional=True),
}


def run_demo(out: Path, quick: bool = False) -> dict[str, Path]:
    out = Path(out)
    made = {}
    start = time.perf_counter()
    for name, settings in DEMO_RUNS.items():
        steps = 30 if quick else DEMO_STEPS
        config = TrainConfig(**settings, steps=steps, seed=0, progress=not quick)
        run_dir = out / name
        if (run_dir / "checkpoints").exists():
            import shutil
            shutil.rmtree(run_dir)
        run = train_run(config, run_dir, command=["gankit", "demo"])
        made[name] = run.run_dir
        _report_modes(run)
    from .report import write_report

    page = write_report(list(made.values()), out=out / "report.html", title="gankit demo")
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    for name, path in made.items():
        print(f"  {name}: {path}  (samples/, training.gif, losses.png, losses.csv)")
    print(f"report: {page}")
    return made


def _report_modes(run) -> None:
    try:
        from .metrics import mode_metrics
    except ImportError:
        return
    import torch
    samples, _ = run.module.sample(2500, rng=torch.Generator().manual_seed(0))
    scores = mode_metrics(samples.numpy(), run.train.centers, run.train.mode_std)
    print(f"{run.run_dir.name}: {scores['modes']}/{len(run.train.centers)} modes, "
          f"{100 * scores['hq']:.1f}% high-quality, reverse KL {scores['reverse_kl']:.3f}")
