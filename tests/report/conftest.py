"""One tiny run, trained once for every report test; each test works on a copy of it, changed to
the case it checks (still running, no metrics, another seed...)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import tiny

from gankit.training import train_run


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "tiny"
    train_run(tiny(steps=20, log_every=5, sample_every=10, checkpoint_every=10, n_samples=1000), out,
              command=["gankit", "train", "--data", "ring8"])
    return out


@pytest.fixture
def run(trained, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


@pytest.fixture
def set_status():
    """status.json of a run directory, with some fields changed."""
    def change(run_dir: Path, **values) -> None:
        path = run_dir / "status.json"
        status = json.loads(path.read_text())
        status.update(values)
        path.write_text(json.dumps(status))
    return change
