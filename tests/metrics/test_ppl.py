"""Perceptual path length: slerp, the protocol against an independent numpy computation, its
scaling law, reproducibility, bad input, and ppl_of_module on points, images and tables."""
import numpy as np
import pytest
import torch
from torch import nn

from gankit.classifier import Judge, _build
from gankit.errors import GankitError
from gankit.metrics import perceptual_path_length, ppl_of_module, slerp
from gankit.models import DataSpec, GANModule
from gankit.nets.tabular import build_tabular_generator
from gankit.training import build_module
from support import tiny


def _draws(seed, n, d):
    """The protocol's draws, in its documented order: z0, z1, then t, float64."""
    rng = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n, d, generator=rng, dtype=torch.float64).numpy()
    z1 = torch.randn(n, d, generator=rng, dtype=torch.float64).numpy()
    t = torch.rand(n, generator=rng, dtype=torch.float64).numpy()
    return z0, z1, t


def _numpy_slerp(a, b, t):
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    omega = np.arccos(np.clip(cos, -1, 1))
    return ((np.sin((1 - t) * omega) / np.sin(omega))[:, None] * a
            + (np.sin(t * omega) / np.sin(omega))[:, None] * b)


def _trimmed_mean(d, low=1, high=99):
    lo, hi = np.percentile(d, [low, high])
    return d[(d >= lo) & (d <= hi)].mean()


class LinearGenerator(nn.Linear):
    """G(z) = A z with the generator signature."""

    def forward(self, z, y=None):
        return super().forward(z)


def _mlp(seed=0, d_in=4, d_out=3, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 16), nn.Tanh(), nn.Linear(16, d_out)).to(dtype)


# ------------------------------------------------------------------------------------ slerp
def test_slerp_hits_its_endpoints_and_keeps_unit_norm_at_constant_speed():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 8, generator=g, dtype=torch.float64)
    b = torch.randn(50, 8, generator=g, dtype=torch.float64)
    assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)
    ua, ub = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.arccos((ua * ub).sum(1))
    for t in (0.1, 0.5, 0.9, 1.3):
        mid = slerp(ua, ub, t)
        assert torch.allclose(mid.norm(dim=1), torch.ones(50, dtype=torch.float64), atol=1e-12)
        # on the great circle through a and b, at the fraction t of the angle from a (beyond b
        # for t > 1; arccos reads angles past pi from the other side)
        travelled = t * omega
        expected = torch.where(travelled > np.pi, 2 * np.pi - travelled, travelled)
        assert torch.allclose(torch.arccos((mid * ua).sum(1).clamp(-1, 1)), expected, atol=1e-6)
    # one t per row, and the same result as row by row
    t = torch.rand(50, generator=g, dtype=torch.float64)
    rows = torch.stack([slerp(a[i:i + 1], b[i:i + 1], t[i])[0] for i in range(50)])
    assert torch.allclose(slerp(a, b, t), rows, atol=1e-14)
    assert torch.allclose(slerp(a, b, t), torch.as_tensor(_numpy_slerp(a.numpy(), b.numpy(), t.numpy())),
                          atol=1e-12)


def test_slerp_lerps_parallel_antiparallel_zero_and_one_dimensional_rows():
    a = torch.tensor([[1.0, 2.0, 2.0], [1.0, 2.0, 2.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
                     dtype=torch.float64)
    b = torch.tensor([[2.0, 4.0, 4.0], [-1.0, -2.0, -2.0], [1.0, 1.0, 1.0], [1.0, 1e-9, 0.0]],
                     dtype=torch.float64)
    for t in (0.0, 0.25, 1.0):
        out = slerp(a, b, t)
        assert torch.isfinite(out).all()
        assert torch.allclose(out, a + t * (b - a), atol=1e-12)
    z = torch.tensor([[2.0], [-1.0]])
    assert torch.allclose(slerp(z, -z, 0.5), torch.zeros(2, 1))   # one dimension: no circle at all
    # float32 in, float32 out (computed in float64 inside)
    assert slerp(torch.ones(2, 3), torch.eye(3)[:2], 0.5).dtype == torch.float32
    with pytest.raises(GankitError, match="one shape"):
        slerp(torch.ones(2, 3), torch.ones(3, 3), 0.5)
    with pytest.raises(GankitError, match="one t or one per row"):
        slerp(torch.ones(2, 3), torch.ones(2, 3), torch.rand(3))


# --------------------------------------------------------------------------------- protocol
def test_a_generator_that_ignores_its_input_has_zero_ppl():
    result = perceptual_path_length(lambda z, y: torch.full((len(z), 5), 3.0), 4, n_samples=300, rng=0)
    assert result["ppl"] == 0.0 and result["ppl_std"] == 0.0 and result["n_kept"] == 300
    assert result == {"ppl": 0.0, "ppl_std": 0.0, "n_kept": 300, "n_samples": 300, "epsilon": 1e-4,
                      "space": "raw", "percentiles": [1.0, 99.0], "sampling": "z-slerp"}


def test_linear_generator_matches_a_numpy_computation_and_the_analytic_derivative():
    n, d, eps = 400, 4, 1e-4
    a_matrix = np.random.default_rng(0).normal(size=(5, d))
    linear = LinearGenerator(d, 5, bias=False).double()
    linear.weight.data = torch.as_tensor(a_matrix)
    got = perceptual_path_length(linear, d, n_samples=n, epsilon=eps, rng=7, batch_size=128,
                                 dtype=torch.float64)

    z0, z1, t = _draws(7, n, d)
    step = _numpy_slerp(z0, z1, t + eps) - _numpy_slerp(z0, z1, t)
    finite_difference = ((step @ a_matrix.T) ** 2).sum(1) / eps**2
    assert got["ppl"] == pytest.approx(_trimmed_mean(finite_difference), rel=1e-8)
    # d/dt slerp = omega / sin(omega) (-cos((1 - t) omega) z0 + cos(t omega) z1), exactly
    cos = (z0 * z1).sum(1) / (np.linalg.norm(z0, axis=1) * np.linalg.norm(z1, axis=1))
    omega = np.arccos(cos)
    velocity = ((omega / np.sin(omega))[:, None]
                * (-np.cos((1 - t) * omega)[:, None] * z0 + np.cos(t * omega)[:, None] * z1))
    assert got["ppl"] == pytest.approx(_trimmed_mean(((velocity @ a_matrix.T) ** 2).sum(1)), rel=1e-3)

    # the same generator in float32 (as gankit's are): rounding through eps costs ~1e-5 here
    got32 = perceptual_path_length(linear.float(), d, n_samples=n, epsilon=eps, rng=7)
    assert got32["ppl"] == pytest.approx(got["ppl"], rel=1e-3)


def test_scaling_the_output_by_s_multiplies_raw_ppl_by_s_squared():
    net = _mlp()
    base = perceptual_path_length(lambda z, y: net(z), 4, n_samples=500, rng=3)
    for s in (3.0, 0.1):
        scaled = perceptual_path_length(lambda z, y: s * net(z), 4, n_samples=500, rng=3)
        assert scaled["ppl"] / base["ppl"] == pytest.approx(s**2, rel=1e-4)
    assert base["ppl"] > 0


def test_features_define_the_space():
    net = _mlp(d_out=6)
    raw = perceptual_path_length(lambda z, y: net(z), 4, n_samples=200, rng=1)
    doubled = perceptual_path_length(lambda z, y: net(z), 4, n_samples=200, rng=1,
                                     features=lambda x: 2 * x[:, :3], space="first half, doubled")
    half = perceptual_path_length(lambda z, y: net(z)[:, :3], 4, n_samples=200, rng=1)
    assert doubled["ppl"] == pytest.approx(4 * half["ppl"], rel=1e-6)
    assert doubled["space"] == "first half, doubled" and raw["space"] == "raw"
    unnamed = perceptual_path_length(lambda z, y: net(z), 4, n_samples=10, features=lambda x: x)
    assert unnamed["space"] == "features"


def test_reproducible_with_a_seed_and_independent_of_batch_size():
    net = _mlp(dtype=torch.float64)
    run = lambda rng, batch: perceptual_path_length(  # noqa: E731
        lambda z, y: net(z), 4, n_samples=300, rng=rng, batch_size=batch, dtype=torch.float64)
    first = run(torch.Generator().manual_seed(5), 64)
    assert run(torch.Generator().manual_seed(5), 64) == first
    assert run(5, 1000)["ppl"] == pytest.approx(first["ppl"], rel=1e-12)
    assert run(6, 64)["ppl"] != first["ppl"]
    assert run(None, 64) == run(0, 64)


def test_both_endpoints_share_rows_and_labels_in_the_same_order():
    calls = []
    weights = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))

    def by_position(z, y):
        # a two-generator stand-in: row i goes to generator i % 2; labels shift the output a lot
        calls.append((z.clone(), y.clone()))
        out = torch.stack([z[i] @ weights[i % 2] for i in range(len(z))])
        return out + 100.0 * y[:, None]

    labels = torch.arange(10) % 3
    result = perceptual_path_length(by_position, 4, n_samples=10, labels=labels, rng=2, batch_size=4)
    assert len(calls) == 6                       # batches of 4, 4, 2; two calls each
    for (z_t, y_t), (z_te, y_te) in zip(calls[::2], calls[1::2]):
        assert torch.equal(y_t, y_te) and z_t.shape == z_te.shape
        assert (z_t - z_te).norm(dim=1).max() < 1e-2      # the same paths, row for row
    assert torch.equal(torch.cat([y for _, y in calls[::2]]), labels)
    # shared labels cancel: only the latent step is measured
    assert result["ppl"] < 1e3


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_samples=1), "n_samples must be an integer >= 2"),
    (dict(epsilon=0.0), "epsilon must be in"),
    (dict(epsilon=-1e-4), "epsilon must be in"),
    (dict(epsilon=1.0), "epsilon must be in"),
    (dict(epsilon=float("nan")), "epsilon must be in"),
    (dict(percentiles=(99, 1)), "0 <= low < high <= 100"),
    (dict(labels=torch.zeros(3, dtype=torch.long)), "3 labels for 10 paths"),
    (dict(rng="seed"), "rng must be"),
    (dict(features=lambda x: x[:2]), "features of z_t returned shape"),
    (dict(features=lambda x: x * float("nan")), "features of z_t contains"),
])
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(GankitError, match=message.replace("(", r"\(")):
        perceptual_path_length(lambda z, y: z * 2, 4, **{"n_samples": 10, **kwargs})


def test_non_finite_generator_output_is_refused():
    with pytest.raises(GankitError, match="the generator contains .* NaN or infinite"):
        perceptual_path_length(lambda z, y: z / 0.0, 4, n_samples=10)
    with pytest.raises(GankitError, match="for 10 latents"):
        perceptual_path_length(lambda z, y: z[:3], 4, n_samples=10)
    with pytest.raises(GankitError, match="pass at least 3 samples"):
        perceptual_path_length(lambda z, y: z, 4, n_samples=2)
    assert perceptual_path_length(lambda z, y: z, 4, n_samples=2, percentiles=(0, 100))["n_kept"] == 2


# ---------------------------------------------------------------------------- ppl_of_module
def _points_module(**settings):
    classes = 3 if settings.get("conditional") else 0
    return build_module(tiny(**settings).resolve("points"), DataSpec("points", (2,), classes))


def test_points_are_measured_in_data_units():
    module = _points_module()
    module.scaler.std.fill_(5.0)
    module.scaler.mean.fill_(-2.0)       # a shift does not change distances
    module.train()
    result = ppl_of_module(module, 300, rng=0)
    unscaled = perceptual_path_length(module.generator, module.generator.latent_dim, 300, rng=0)
    # float32 finite differences at epsilon 1e-4: about 1e-4 relative rounding either way
    assert result["ppl"] == pytest.approx(25 * unscaled["ppl"], rel=1e-3)
    assert result["space"] == "raw (data units)" and result["n_samples"] == 300
    assert module.generator.training            # the caller's mode is restored
    with pytest.raises(GankitError, match="space must be"):
        ppl_of_module(module, 10, space="pixels")


def test_conditional_points_use_balanced_labels():
    module = _points_module(conditional=True)
    latent = module.generator.latent_dim
    result = ppl_of_module(module, 60, rng=1)
    balanced = perceptual_path_length(module.generator, latent, 60, labels=torch.arange(60) % 3, rng=1)
    one_class = perceptual_path_length(module.generator, latent, 60, labels=torch.zeros(60, dtype=torch.long),
                                       rng=1)
    assert result["ppl"] == pytest.approx(balanced["ppl"], rel=1e-9)
    assert result["ppl"] != pytest.approx(one_class["ppl"], rel=1e-6)


@pytest.fixture(scope="module")
def image_module():
    config = tiny(data="digits", width=8, latent_dim=16).resolve("images")
    return build_module(config, DataSpec("images", (1, 32, 32), 10))


def _judge(accuracy=0.5):
    arch = {"type": "cnn", "channels": 1, "image_size": [32, 32], "width": 4, "num_classes": 10,
            "feature_dim": 128}
    torch.manual_seed(0)
    return Judge(_build(arch), arch, {"held_out_accuracy": accuracy})


def test_images_need_an_extractor_or_raw_pixels(image_module, tmp_path):
    with pytest.raises(GankitError, match="needs a feature extractor; pass extractor=.*space='raw'"):
        ppl_of_module(image_module, 8)
    with pytest.raises(GankitError, match="drop the extractor"):
        ppl_of_module(image_module, 8, space="raw", extractor=_judge())

    image_module.train()                         # BatchNorm: measured with running statistics
    raw = ppl_of_module(image_module, 8, space="raw", rng=0)
    assert raw["space"] == "raw pixels" and 0 < raw["ppl"] < np.inf
    assert image_module.generator.training
    image_module.generator.eval()
    expected = perceptual_path_length(image_module.generator, 16, 8, labels=torch.arange(8) % 10, rng=0)
    assert raw["ppl"] == pytest.approx(expected["ppl"], rel=1e-9)

    judge = _judge()
    in_features = ppl_of_module(image_module, 8, extractor=judge, rng=0)
    assert in_features["space"] == "gankit judge cnn (held-out accuracy 0.5000)"
    assert 0 < in_features["ppl"] != raw["ppl"]
    judge.save(tmp_path / "judge")                # a saved extractor file works the same way
    assert ppl_of_module(image_module, 8, extractor=tmp_path / "judge", rng=0) == in_features
    with pytest.raises(GankitError, match="no judge saved"):
        ppl_of_module(image_module, 8, extractor=tmp_path / "nothing")


def test_table_gumbel_noise_is_shared_within_each_pair():
    torch.manual_seed(0)
    generator = build_tabular_generator(4, [(0, 1, "tanh"), (1, 3, "softmax")], hidden=(16, 16))
    module = GANModule(generator, nn.Identity(), None)
    paired = ppl_of_module(module, 200, rng=0)
    assert paired == ppl_of_module(module, 200, rng=0)
    assert generator.noise_generator is None      # restored
    # fresh noise in each call measures the noise, not the path
    unpaired = perceptual_path_length(generator, 4, 200, rng=0)
    assert paired["ppl"] * 1e3 < unpaired["ppl"]
