"""What a page knows about a run: one snapshot read through `gankit.run_directory.RunDir`, the
notes that say what is missing or unusual, and the facts of what was trained."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..run_directory import GIF_FILE, RunDir
from .values import command_text, href


@dataclass
class ReportedRun:
    """A run as of the moment the page was made (the disk is read once, so the page is coherent)."""
    dir: RunDir
    name: str
    record: dict
    status: dict
    state: str
    losses: dict[str, list[float]]
    metrics: dict | None
    metrics_note: str
    history: int
    checkpoints: list[tuple[int, Path]]
    samples: list[Path]
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.dir.path

    @property
    def train(self) -> dict:
        return self.record.get("train") or {}

    @property
    def data(self) -> dict:
        return self.record.get("data") or {}

    @property
    def results(self) -> dict:
        """metrics.json's results ({} when there are none)."""
        return (self.metrics or {}).get("results") or {}

    def final_losses(self) -> dict[str, float]:
        if not self.losses.get("step"):
            return {}
        return {k: v[-1] for k, v in self.losses.items() if k != "step" and v}


def load_run(path: str | Path) -> ReportedRun:
    """Read a run directory; GankitError when it is not one (missing, a file, no config.yaml)."""
    run_dir = RunDir(path)
    record = run_dir.record()
    metrics, metrics_note, history = run_dir.metrics()
    run = ReportedRun(dir=run_dir, name=run_dir.name, record=record, status=run_dir.status(),
                      state=run_dir.state(), losses=run_dir.losses(), metrics=metrics,
                      metrics_note=metrics_note, history=history, checkpoints=run_dir.checkpoints(),
                      samples=run_dir.samples())
    run.notes = _notes(run)
    return run


def _notes(run: ReportedRun) -> list[str]:
    """What is missing or unusual about the run, one short sentence each."""
    notes = []
    status, state = run.status, run.state
    step, total = status.get("step"), status.get("total_steps")
    where = f"step {step} of {total}" if step is not None else "an unknown step"
    reason = status.get("reason") or status.get("message")
    if not status:
        notes.append("status.json is missing or unreadable: the run may have crashed before its "
                     "first log, or was written by an older gankit")
    elif state == "running":
        notes.append(f"still training: at {where} (last update {status.get('updated', 'unknown')}); "
                     "pictures, losses and checkpoints are as of then")
    elif state == "interrupted":
        notes.append(f"interrupted at step {step if step is not None else 'unknown'} (the process ended "
                     "without a clean stop; resume with "
                     f"`gankit train --resume {shlex.quote(str(run.path))}`)")
    elif state == "stopped":
        notes.append(f"stopped early at {where}")
    elif state == "diverged":
        notes.append(f"diverged at {where}: {reason or 'a loss became NaN or infinite'}; "
                     "the last good checkpoint is kept")
    elif state == "failed":
        notes.append(f"failed at {where}: {reason or 'no reason recorded'}")
    elif state != "finished":
        notes.append(f"unrecognised state {state!r} in status.json")
    if run.metrics_note:
        notes.append(run.metrics_note)
    if not run.losses:
        notes.append("no losses logged yet (losses.csv is missing or empty)")
    if not run.samples:
        notes.append("no sample pictures yet (samples/ is empty)")
    if not run.dir.file(GIF_FILE).is_file():
        notes.append("no training.gif (it is written when training ends)")
    if not run.checkpoints:
        notes.append("no checkpoints yet (checkpoints/ is empty)")
    return notes


def unique_names(runs: list[ReportedRun]) -> None:
    """Runs whose folders share a name are told apart by their parent folder too."""
    names = [r.name for r in runs]
    if len(set(names)) < len(names):
        for r in runs:
            parts = r.path.resolve().parts
            r.name = "/".join(parts[-2:])


def status_text(run: ReportedRun) -> str:
    s = run.status
    if not s:
        return "unknown (no status.json)"
    step, total = s.get("step"), s.get("total_steps")
    text = run.state
    if step is not None:
        text += f": step {step}"
        if total:
            text += f" of {total} ({100 * step / total:.0f}%)"
    return text


def trained_facts(run: ReportedRun) -> list[tuple[str, Any]]:
    """(label, value) pairs saying what was trained on what, and how to repeat it."""
    t, d, h = run.train, run.data, run.record.get("held_out") or {}
    remedy = t.get("remedy")
    if remedy == "pac":
        remedy = f"pac (PacGAN, {t.get('pac')} samples packed)"
    elif remedy == "minibatch":
        remedy = (f"minibatch discrimination ({t.get('minibatch_features')} kernels of dimension "
                  f"{t.get('minibatch_kernel_dim')})")
    shape = "×".join(str(s) for s in d.get("sample_shape") or [])
    versions = run.record.get("versions") or {}
    facts = [
        ("model", t.get("model")),
        ("network", t.get("net")),
        ("conditional", bool(t.get("conditional"))),
        ("remedy", remedy or "none"),
        ("data", d.get("name")),
        ("data source", d.get("source")),
        ("data kind", f"{d.get('kind')} of shape {shape}" if d.get("kind") else None),
        ("data fingerprint (sha256)", d.get("fingerprint")),
        ("training samples", d.get("n")),
        ("classes", d.get("num_classes")),
        ("held-out samples", h.get("n")),
        ("held-out fingerprint (sha256)", h.get("fingerprint")),
        ("seed", t.get("seed")),
        ("generator steps", t.get("steps") if t.get("steps") is not None else f"{t.get('epochs')} epochs"),
        ("batch size", t.get("batch_size")),
        ("device", t.get("device")),
        ("processes", (run.record.get("distributed") or {}).get("world_size")),
        ("gankit / torch", f"{versions.get('gankit', '?')} / {versions.get('torch', '?')}"),
        ("git revision", run.record.get("git_revision") or "not recorded (not run from a git checkout)"),
        ("command", command_text(run.record.get("command"))),
        ("created", run.record.get("created")),
    ]
    if run.record.get("resumed"):  # the times alone, as runs written before resume entries keep them
        facts.append(("resumed", ", ".join(map(str, run.record["resumed"]))))
    resumes = [e for e in run.record.get("resumes") or () if isinstance(e, dict)]
    if resumes:
        facts.append(("resumes", "; ".join(f"{e.get('time', '?')}: steps {e.get('from_step', '?')} to "
                                           f"{e.get('to_step', '?')}" for e in resumes)))
    return [(k, v) for k, v in facts if v is not None]


def run_data(run: ReportedRun, base: Path) -> dict:
    """The run as the page's JSON block holds it."""
    return {"name": run.name, "path": href(run.path, base), "status": run.status, "state": run.state,
            "config": run.record, "final_losses": run.final_losses(),
            "metrics": run.metrics, "notes": run.notes,
            "checkpoints": [{"step": s, "file": href(p, base), "bytes": p.stat().st_size}
                            for s, p in run.checkpoints]}
