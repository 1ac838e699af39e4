"""Cluster conditioning (`--clusters`) and class scaling (`--class-scaling`): the clusters and
their scales on data with a known answer, the shares samples are drawn by, the settings they
refuse, and runs trained, resumed, sampled and refined."""
import numpy as np
import pytest
import torch

import gankit
from gankit.config import TrainConfig
from gankit.data.toy import load_toy
from gankit.errors import GankitError
from gankit.gans.wgan_gp import SCALED_POINTS_STEPS, POINTS_RECIPE
from gankit.metrics import mode_metrics
from gankit.nets.clusters import ClassScaling, ClusterCode, check_clusters
from gankit.training import train_run
from support import assert_resume_is_exact, tiny

CENTRES = np.array([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
SCALES = np.array([[1.0, 0.5], [0.2, 2.0], [0.1, 0.1]])
SIZES = (6000, 3000, 1000)


def _three_clusters(seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + s * rng.standard_normal((n, 2)) for c, s, n in zip(CENTRES, SCALES, SIZES)])
    return torch.as_tensor(x, dtype=torch.float32)


def _by_centre(code):
    order = np.argsort(code.centres[:, 0].numpy())
    return (code.centres.numpy()[order], code.scales.numpy()[order], code.shares.numpy()[order])


def test_fit_finds_each_clusters_mean_scale_and_share():
    code = ClusterCode(3, 2).fit(_three_clusters(), seed=0)
    centres, scales, shares = _by_centre(code)
    assert np.allclose(centres, CENTRES, atol=0.05)
    assert np.allclose(scales, SCALES, rtol=0.05)
    assert np.allclose(shares, np.array(SIZES) / sum(SIZES), atol=1e-6)


def test_offsets_are_unit_scale_per_cluster_and_inverse_restores_the_points():
    x = _three_clusters()
    code = ClusterCode(3, 2).fit(x, seed=0)
    offsets, labels = code.encode(x)
    for k in range(3):
        part = offsets[labels == k]
        assert torch.allclose(part.mean(0), torch.zeros(2), atol=1e-3)
        assert torch.allclose(part.std(0), torch.ones(2), atol=1e-3)
    assert torch.allclose(code.inverse(offsets, labels), x, atol=1e-4)


def test_on_touching_clusters_the_scales_and_shares_are_those_of_the_points_encode_labels():
    # a uniform square has no gaps: points near a boundary decide which cluster they train in
    x = torch.rand(5000, 2, generator=torch.Generator().manual_seed(0))
    code = ClusterCode(20, 2).fit(x, seed=0)
    offsets, labels = code.encode(x)
    counts = np.bincount(labels.numpy(), minlength=20)
    assert np.allclose(code.shares.numpy(), counts / len(x), atol=1e-7)
    for k in range(20):
        part = offsets[labels == k].double()
        assert torch.allclose(part.mean(0), torch.zeros(2, dtype=torch.double), atol=1e-5), k
        assert torch.allclose(part.std(0), torch.ones(2, dtype=torch.double), atol=1e-5), k


def test_draws_follow_the_shares_and_reproduce_with_the_seed():
    code = ClusterCode(3, 2).fit(_three_clusters(), seed=0)
    labels = code.draw(60_000, torch.Generator().manual_seed(1))
    shares = np.bincount(labels.numpy(), minlength=3) / 60_000
    assert np.allclose(shares, code.shares.numpy(), atol=0.01)
    assert torch.equal(labels, code.draw(60_000, torch.Generator().manual_seed(1)))


def test_identical_points_keep_a_finite_scale():
    x = torch.cat([torch.zeros(50, 2), torch.ones(50, 2) * 3])
    code = ClusterCode(2, 2).fit(x, seed=0)
    offsets, labels = code.encode(x)
    assert torch.isfinite(offsets).all() and torch.allclose(code.inverse(offsets, labels), x)


@pytest.mark.parametrize("bad", [1, -2, 2.5, True])
def test_a_cluster_count_that_cannot_train_is_refused_with_the_fix(bad):
    with pytest.raises(GankitError, match="whole number >= 2"):
        check_clusters(bad)


def test_too_few_points_per_cluster_name_the_count_that_fits():
    with pytest.raises(GankitError, match="lower --clusters to 40"):
        ClusterCode(100, 2).fit(torch.randn(200, 2))


def test_settings_it_cannot_train_with_are_refused():
    with pytest.raises(GankitError, match="drop one of them"):
        TrainConfig(data="blobs4", clusters=10, conditional=True).resolve("points")
    with pytest.raises(GankitError, match="for points"):
        TrainConfig(data="digits", clusters=10).resolve("images")


def test_clustered_runs_take_the_recipe_at_its_own_budget_and_user_settings_win():
    c = TrainConfig(data="ring8", clusters=50).resolve("points")
    assert {k: getattr(c, k) for k in POINTS_RECIPE} == POINTS_RECIPE
    assert c.steps == SCALED_POINTS_STEPS and not c.conditional and c.class_scaling is False
    c = TrainConfig(data="ring8", clusters=50, steps=77, ema=0.0, lr_g=1e-3).resolve("points")
    assert (c.steps, c.ema, c.lr_g) == (77, 0.0, 1e-3)


def test_a_short_clustered_run_puts_its_samples_on_every_mode():
    # ring8's modes (std 0.01 on a circle of radius 1) are 1% of the data's range; at each
    # cluster's own scale, 150 steps already place the samples inside them
    run = train_run(tiny(data="ring8", clusters=16, steps=150), None)
    module = run.module
    assert module.num_classes == 0 and module.generator.num_classes == 16
    samples, labels = module.sample(2000, rng=torch.Generator().manual_seed(0))
    assert labels is None
    data = load_toy("ring8")
    scores = mode_metrics(samples.numpy(), data.centers, data.mode_std)
    assert scores["modes"] == 8 and scores["hq"] > 0.9, scores


def test_a_clustered_run_resumes_exactly(tmp_path):
    # a 2-step run would decay its learning rate to 0
    assert_resume_is_exact(tmp_path, "clusters.", data="blobs4", clusters=8, lr_decay="none")


def test_the_estimator_samples_and_refines_a_clustered_model():
    data = load_toy("blobs4", n=2000, seed=0)
    gan = gankit.GAN(clusters=8, steps=30, hidden=32, batch_size=64, random_state=0)
    gan.fit(data.x.numpy())
    assert gan.num_classes_ == 0
    samples = gan.sample(300, refine="drs", real=load_toy("blobs4", n=500, seed=1).x.numpy())
    assert samples.shape == (300, 2) and np.all(np.isfinite(samples))
    assert gan.refinement_.kept == 300
    with pytest.raises(GankitError, match="cannot sample by label"):
        gan.sample(5, y=1)


def test_class_scaling_fits_each_labelled_class_and_round_trips():
    x = _three_clusters()
    labels = torch.repeat_interleave(torch.arange(3), torch.tensor(SIZES))
    scaling = ClassScaling(3, 2).fit_classes(x, labels)
    assert np.allclose(scaling.centres.numpy(), CENTRES, atol=0.05)
    assert np.allclose(scaling.scales.numpy(), SCALES, rtol=0.05)
    offsets = scaling(x, labels)
    assert torch.allclose(offsets[labels == 2].std(0), torch.ones(2), atol=1e-3)
    assert torch.allclose(scaling.inverse(offsets, labels), x, atol=1e-4)


def test_class_scaling_needs_a_conditional_points_run_and_takes_the_scaled_budget():
    with pytest.raises(GankitError, match="add --conditional"):
        TrainConfig(data="blobs4", class_scaling=True).resolve("points")
    c = TrainConfig(data="blobs4", conditional=True, class_scaling=True).resolve("points")
    assert c.steps == SCALED_POINTS_STEPS and c.label_input == "onehot"
    # on by default there, off elsewhere; resolving again keeps what was chosen
    assert TrainConfig(data="blobs4", conditional=True).resolve("points").class_scaling is True
    assert TrainConfig(data="blobs4").resolve("points").class_scaling is False
    assert TrainConfig(data="blobs4", model="gan", conditional=True).resolve("points").class_scaling \
        is False
    assert TrainConfig(data="digits", conditional=True).resolve("images").class_scaling is False
    off = TrainConfig(data="blobs4", conditional=True, class_scaling=False).resolve("points")
    assert off.resolve("points").class_scaling is False


def test_a_class_scaled_run_samples_each_class_on_its_own_centre():
    run = train_run(tiny(data="blobs4", conditional=True, class_scaling=True, steps=100), None)
    module = run.module
    assert module.num_classes == 4
    samples, labels = module.sample(2000, rng=torch.Generator().manual_seed(0))
    data = load_toy("blobs4")
    # each class's samples sit around its own centre (within the blobs' 3-std discs)
    for k in range(4):
        mine = samples[labels == k].numpy()
        assert np.linalg.norm(mine.mean(0) - data.centers[k]) < 0.5, k
    assert mode_metrics(samples.numpy(), data.centers, data.mode_std)["hq"] > 0.9
