"""Shared test settings: tiny, quiet, single-threaded runs."""
import os

# tiny tensors gain nothing from threads, and on a busy machine extra threads cost 10x
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from support import SHARED_DATA  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared data folder sits beside the repository)")
    return SHARED_DATA
