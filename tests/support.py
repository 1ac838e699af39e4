"""Helpers the tests import (tests/ is on pytest's pythonpath)."""
from pathlib import Path

from gankit.config import TrainConfig

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def tiny(**settings) -> TrainConfig:
    """A config small enough for tests: narrow nets, small batches, no progress bar."""
    values = dict(data="ring8", hidden=64, batch_size=64, steps=40, log_every=10,
                  sample_every=1000, progress=False, tensorboard=False, n_samples=2000)
    values.update(settings)
    return TrainConfig(**values)
