"""`gankit demo`: the built-in showcase, small enough for a 2-core CPU in a few minutes.

Trains WGAN-GP on ring8 and a conditional WGAN-GP on blobs8 (its defaults: the conditional
points recipe of docs/mode_collapse_recipe.md, which fits each mode rather than a thin segment of
it), evaluates both with `gankit eval`'s metrics for toy mixtures (modes captured and
high-quality share, and beside them how well each mode is fitted: spread ratio, mean offset,
C2ST against its real-vs-real floor), writes a report whose top holds that verdict, and prints
where everything is.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from .config import TrainConfig
from .run_directory import RunDir
from .training import train_run

# ring8 at half the default budget, blobs8 with conditional WGAN-GP's defaults (the points
# recipe with class scaling, and its budget)
DEMO_RUNS = {
    "ring8-wgan-gp": dict(data="ring8", model="wgan-gp", steps=4000),
    "blobs8-cwgan-gp": dict(data="blobs8", model="wgan-gp", conditional=True),
}


def run_demo(out: Path, quick: bool = False) -> dict[str, Path]:
    from .evaluate import run_evaluation
    from .report import write_report

    out = Path(out)
    made = {}
    start = time.perf_counter()
    for name, settings in DEMO_RUNS.items():
        config = TrainConfig(**{**settings, "steps": 30 if quick else settings.get("steps")},
                             seed=0, progress=not quick)
        run_dir = out / name
        # a previous demo's run is replaced; anything else in its place is refused, not lost
        run = train_run(config, run_dir, command=["gankit", "demo"],
                        overwrite=RunDir(run_dir).is_run())
        made[name] = run.run_dir
        scores = run_evaluation(run.run_dir, n=2500 if quick else None)
        print(verdict_line(name, scores, len(run.train.centers)))
    page = write_report(list(made.values()), out=out / "report.html", title="gankit demo")
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    for name, path in made.items():
        print(f"  {name}: {path}  (samples/, training.gif, losses.png, metrics.json)")
    print(f"report: {page}")
    return made


def verdict_line(name: str, scores: dict, n_modes: int) -> str:
    """One line per run: modes and the high-quality share, never without the fit within each
    mode beside them (a point mass on every centre is "100% high quality")."""
    def number(value, spec=".2f", scale=1.0):
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        return format(value * scale, spec) if ok else "n/a"

    modes = scores.get("modes", {})
    text = (f"{name}: {modes.get('modes', '?')}/{n_modes} modes, "
            f"{number(modes.get('hq'), '.1f', 100)}% within 3 std")
    fit = scores.get("mode_fit") or {}
    spread, offset = fit.get("spread") or {}, fit.get("offset") or {}
    text += (f"; within each mode: spread ratio {number(spread.get('mean'))} (worst "
             f"{number(spread.get('worst'))}; 1 is right), mean offset {number(offset.get('mean'))} "
             f"std (worst {number(offset.get('worst'))})")
    c2st = scores.get("c2st")
    if c2st:
        floor = (c2st.get("floor") or {}).get("accuracy")
        text += f"; C2ST {number(c2st.get('accuracy'), '.3f')}"
        if floor is not None:
            text += f" (real vs real {number(floor, '.3f')}; 0.5 is indistinguishable)"
    return text
