"""Screenshots of what a person sees first: one run's report, two runs compared, and an
experiment's report, rendered by headless Chromium into docs/screenshots/*.png.

    .venv/bin/python docs/screenshots.py                      # trains, reports, renders
    .venv/bin/python docs/screenshots.py --keep runs/shots    # and keeps the runs it trained
    .venv/bin/python docs/screenshots.py --keep runs/shots --render-only   # pages again, no training

Everything is made the way a user makes it, through the command line (`gankit train`, `gankit
eval`, `gankit report`, `gankit experiment mode-collapse`), in a scratch folder. Needs Chromium
(Debian: `apt-get install chromium`); the pictures are cropped to the page's column and reduced to
256 colours, so each stays under a few hundred kB. A full run took 3 minutes (2 CPU-minutes) on
a 2-core CPU shared with other jobs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageChops

HERE = Path(__file__).resolve().parent
OUT = HERE / "screenshots"
WINDOW = (1400, 2400)        # CSS pixels: the page's column and the first screens below it
MAX_WIDTH = 1200             # the saved picture's width at most (the column fits unscaled)
PAIR = {"wgan-gp": [], "cwgan-gp": ["--conditional"]}   # run name: its flags beside the shared ones
CHROMIUM_FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def gankit(*args: str, cwd: Path) -> None:
    """One gankit command, as a user would type it; its output goes to ours."""
    # the venv's console script, so the pages' provenance says "gankit", not a __main__.py path
    script = Path(sys.executable).with_name("gankit")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "gankit"]
    print("$ gankit " + " ".join(args), flush=True)
    subprocess.run([*command, *args], cwd=cwd, check=True)


def train_runs(work: Path, steps: int) -> None:
    """The runs the pages show. The pair differs in one setting (conditioning), so the
    comparison's settings table is short and its samples show both kinds of scatter: generated
    points in one colour, and coloured by class."""
    for name, extra in PAIR.items():
        gankit("train", "--data", "ring8", "--model", "wgan-gp", *extra, "--steps", str(steps),
               "--seed", "0", "--log-every", str(max(1, steps // 50)), "--no-progress",
               "--no-tensorboard", "--overwrite", "--out", f"runs/{name}", cwd=work)
        gankit("eval", f"runs/{name}", cwd=work)
    # the experiment writes its own report.html
    gankit("experiment", "mode-collapse", "--modes", "4", "--models", "gan", "wgan-gp", "--seeds", "1",
           "--steps", "200", "--no-progress", "--out", "runs/mode-collapse", cwd=work)


def write_reports(work: Path) -> dict[str, Path]:
    """The pages to photograph, {screenshot name: report.html}, the run pages written afresh."""
    gankit("report", "runs/cwgan-gp", cwd=work)
    gankit("report", *(f"runs/{name}" for name in PAIR), "--out", "compare.html", cwd=work)
    return {"run-report": work / "runs" / "cwgan-gp" / "report.html",
            "compare-report": work / "compare.html",
            "experiment-report": work / "runs" / "mode-collapse" / "report.html"}


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("no Chromium found; on Debian: apt-get install -y chromium")


def render(browser: str, page: Path, png: Path) -> None:
    flags = list(CHROMIUM_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")   # Chromium refuses to start as root with its sandbox
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *flags, f"--user-data-dir={profile}", f"--screenshot={png}",
                        f"--window-size={WINDOW[0]},{WINDOW[1]}", page.resolve().as_uri()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def shrink(raw: Path, out: Path) -> None:
    """Crop to what the page drew (plus a margin), at most MAX_WIDTH wide, 256 colours."""
    with Image.open(raw) as im:
        im = im.convert("RGB")
    background = Image.new("RGB", im.size, im.getpixel((0, 0)))
    box = ImageChops.difference(im, background).getbbox() or (0, 0, *im.size)
    margin = 16
    im = im.crop((max(0, box[0] - margin), 0, min(im.width, box[2] + margin),
                  min(im.height, box[3] + margin)))
    if im.width > MAX_WIDTH:
        im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.LANCZOS)
    # max coverage keeps the charts' faint grid lines (octree dropped them into the background,
    # median cut turned tab10's green teal) and k-means moves each palette colour to the mean
    # of its pixels (without it the page's grey-blue table headers came out green)
    im.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE, kmeans=3).save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--keep", type=Path, help="train in this folder and keep it")
    parser.add_argument("--steps", type=int, default=1000, help="generator steps of the run pair")
    parser.add_argument("--render-only", action="store_true",
                        help="photograph the pages already in --keep (after a change to the report)")
    args = parser.parse_args(argv)
    if args.render_only and args.keep is None:
        parser.error("--render-only needs --keep DIR, the folder of an earlier run of this script")
    browser = find_chromium()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        if not args.render_only:
            train_runs(work, args.steps)
        pages = write_reports(work)
        args.out.mkdir(parents=True, exist_ok=True)
        for name, page in pages.items():
            raw = Path(scratch) / f"{name}-raw.png"
            render(browser, page, raw)
            shrink(raw, args.out / f"{name}.png")
            size = (args.out / f"{name}.png").stat().st_size
            print(f"wrote {args.out / name}.png ({size / 1024:.0f} kB)")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
