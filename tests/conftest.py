"""Shared test settings: tiny, quiet, single-threaded runs."""
import pytest
import torch

from support import SHARED_DATA

torch.set_num_threads(1)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared data folder sits beside the repository)")
    return SHARED_DATA
