import math

import pytest
import torch

from gankit.gans.lsgan import LSGAN
from gankit.training import train_run

from gans.critics import Linear
from support import tiny


def test_least_squares_losses_match_their_definitions():
    critic = Linear([1.0, 0.0])              # D(x) = x_0
    real, fake = torch.full((4, 2), 3.0), torch.full((4, 2), -2.0)
    d_loss, logs = LSGAN().discriminator_loss(critic, real, fake)
    # 1/2 (3 - 1)^2 + 1/2 (-2 - 0)^2
    assert d_loss.item() == pytest.approx(0.5 * 4 + 0.5 * 4)
    assert logs["d_real"].item() == pytest.approx(3.0) and logs["d_fake"].item() == pytest.approx(-2.0)
    g_loss, _ = LSGAN().generator_loss(critic, fake)
    assert g_loss.item() == pytest.approx(0.5 * 9)        # 1/2 (-2 - 1)^2
    perfect, _ = LSGAN().discriminator_loss(critic, torch.ones(4, 2), torch.zeros(4, 2))
    assert perfect.item() == 0.0


@pytest.mark.parametrize("settings", [dict(), dict(spectral_norm=True), dict(conditional=True, data="blobs8"),
                                      dict(remedy="pac")], ids=["plain", "sn", "conditional", "pac"])
def test_lsgan_trains_toward_the_data(tmp_path, settings):
    run = train_run(tiny(model="lsgan", steps=300, **settings), tmp_path / "run")
    assert all(math.isfinite(v) for v in run.result.last_losses.values())
    samples, _ = run.module.sample(1000, rng=torch.Generator().manual_seed(0))
    centres = torch.as_tensor(run.train.centers, dtype=torch.float32)
    distance = torch.cdist(samples, centres).min(dim=1).values.mean().item()
    assert distance < 1.0          # ring8 radius 2, mode std 0.02: untrained samples sit ~1.5 away


def test_lsgan_on_images_and_tables(tmp_path):
    images = train_run(tiny(model="lsgan", data="digits", conditional=True, steps=3, width=8,
                            batch_size=16), tmp_path / "digits")
    assert images.module.sample(4)[0].shape == (4, 1, 32, 32)
    import gankit
    from sklearn.datasets import load_iris
    frame = load_iris(as_frame=True).frame
    table = gankit.TabularGAN(model="lsgan", steps=5, random_state=0).fit(frame, y="target")
    assert list(table.sample(7).columns) == list(frame.columns)
