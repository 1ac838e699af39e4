import math

import pytest
import torch

from gankit.gans.hinge import Hinge
from gankit.training import train_run

from gans.critics import Linear
from support import tiny


def test_hinge_losses_match_their_definitions():
    critic = Linear([1.0, 0.0])              # D(x) = x_0
    real = torch.tensor([[2.0, 0.0], [0.5, 0.0]])
    fake = torch.tensor([[-3.0, 0.0], [0.0, 0.0]])
    d_loss, _ = Hinge().discriminator_loss(critic, real, fake)
    # real: max(0, 1 - 2) = 0, max(0, 1 - 0.5) = 0.5 -> 0.25; fake: 0, max(0, 1 + 0) = 1 -> 0.5
    assert d_loss.item() == pytest.approx(0.25 + 0.5)
    g_loss, _ = Hinge().generator_loss(critic, fake)
    assert g_loss.item() == pytest.approx(1.5)           # -mean(-3, 0)


@pytest.mark.parametrize("settings", [dict(), dict(spectral_norm=True), dict(conditional=True, data="blobs8")],
                         ids=["plain", "sn", "conditional"])
def test_hinge_trains_toward_the_data(tmp_path, settings):
    run = train_run(tiny(model="hinge", steps=300, **settings), tmp_path / "run")
    assert all(math.isfinite(v) for v in run.result.last_losses.values())
    samples, _ = run.module.sample(1000, rng=torch.Generator().manual_seed(0))
    centres = torch.as_tensor(run.train.centers, dtype=torch.float32)
    assert torch.cdist(samples, centres).min(dim=1).values.mean().item() < 1.0


def test_hinge_in_the_mode_collapse_experiment():
    from gankit.experiments.mode_collapse import run_mode_collapse
    frame = run_mode_collapse(modes=[4], models=["hinge", "lsgan"], seeds=1, steps=20, hidden=16,
                              batch_size=32, report=False)
    assert list(frame["model"]) == ["hinge", "lsgan"] and set(frame["status"]) == {"ok"}
