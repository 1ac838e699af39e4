"""Perceptual path length (Karras et al. 2019, StyleGAN): how smoothly a generator's output moves
as its latent moves.

Owns spherical interpolation of latent batches (`slerp`), the PPL protocol itself on any
`generate(z, y)` callable (`perceptual_path_length`), and its application to a `GANModule`
in data units or a feature space (`ppl_of_module`). Unlike the other metrics it reads no real
data: it differentiates the generator along random great-circle paths in latent space.
StyleGAN measured in LPIPS (VGG) space; here the space is the caller's (a gankit judge's
features, Inception, or the samples themselves), so values compare only within one space.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import GankitError, check_finite
from ._arrays import check_positive_int

# Below this sin(angle) the great circle through a and b is undefined or ill-conditioned
# (parallel or anti-parallel rows, and always in one dimension), so those rows are lerped.
_DEGENERATE_SIN = 1e-6


def slerp(a, b, t) -> torch.Tensor:
    """Spherical interpolation between the rows of a and b (shape (n, d)) at t (scalar or (n,)).

    sin((1 - t) W) / sin W * a + sin(t W) / sin W * b, with W the angle between a_i and b_i
    (Shoemake's formula on the latents themselves). Endpoints are returned exactly at t = 0 and
    t = 1; between equal-norm endpoints the norm is kept (unit rows stay unit) and the path has
    constant speed; other norms are blended smoothly. StyleGAN normalises its slerp onto the unit
    sphere because its mapping network normalises z anyway; gankit generators read z directly,
    where N(0, I) latents have norm about sqrt(d), so the norms are kept here.

    The angle is computed as 2 atan2(|a^ - b^|, |a^ + b^|) (a^ = a/|a|), accurate for tiny and
    near-pi angles where arccos of the dot product is not. Rows that are (anti)parallel or zero
    are linearly interpolated instead: there the great circle is undefined (in one dimension there
    is none), and for nearly parallel rows lerp and slerp agree to O(W^2). Computed in float64;
    the result has the dtype of a and b.
    """
    a = torch.as_tensor(a)
    b = torch.as_tensor(b, device=a.device)
    if a.ndim != 2 or a.shape != b.shape:
        raise GankitError(f"slerp takes two batches of latents of one shape (n, d); got "
                          f"{tuple(a.shape)} and {tuple(b.shape)}")
    out_dtype = torch.promote_types(a.dtype, b.dtype)
    if not out_dtype.is_floating_point:
        out_dtype = torch.get_default_dtype()
    a64, b64 = a.double(), b.double()
    t64 = torch.as_tensor(t, dtype=torch.float64, device=a.device).reshape(-1, 1)
    if t64.shape[0] not in (1, a.shape[0]):
        raise GankitError(f"slerp got {t64.shape[0]} values of t for {a.shape[0]} rows; pass one "
                          "t or one per row")
    norm_a = a64.norm(dim=1, keepdim=True)
    norm_b = b64.norm(dim=1, keepdim=True)
    unit_a = a64 / norm_a.clamp_min(torch.finfo(torch.float64).tiny)
    unit_b = b64 / norm_b.clamp_min(torch.finfo(torch.float64).tiny)
    angle = 2 * torch.atan2((unit_a - unit_b).norm(dim=1, keepdim=True),
                            (unit_a + unit_b).norm(dim=1, keepdim=True))
    sin_angle = torch.sin(angle)
    degenerate = (sin_angle < _DEGENERATE_SIN) | (norm_a == 0) | (norm_b == 0)
    safe_sin = torch.where(degenerate, torch.ones_like(sin_angle), sin_angle)
    weight_a = torch.where(degenerate, 1 - t64, torch.sin((1 - t64) * angle) / safe_sin)
    weight_b = torch.where(degenerate, t64, torch.sin(t64 * angle) / safe_sin)
    return (weight_a * a64 + weight_b * b64).to(out_dtype)


def _as_generator(rng) -> torch.Generator:
    """rng as a torch.Generator: None is seed 0 (a metric should repeat itself), an int a seed."""
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return torch.Generator().manual_seed(int(rng or 0))
    if isinstance(rng, torch.Generator):
        return rng
    raise GankitError(f"rng must be a torch.Generator, an int seed or None, got {type(rng).__name__}")


def _check_epsilon(epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)):
        raise GankitError(f"epsilon must be a number in (0, 1), got {epsilon!r}")
    epsilon = float(epsilon)
    if not (0 < epsilon < 1):  # also refuses NaN
        raise GankitError(f"epsilon must be in (0, 1), got {epsilon}; the published step is 1e-4")
    return epsilon


def _check_percentiles(percentiles) -> tuple[float, float]:
    try:
        low, high = (float(p) for p in percentiles)
    except (TypeError, ValueError):
        raise GankitError(f"percentiles must be two numbers (low, high), got {percentiles!r}") from None
    if not (0 <= low < high <= 100):
        raise GankitError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}; "
                          "the published band is (1, 99), (0, 100) keeps every path")
    return low, high


def _check_labels(labels, n: int, device) -> torch.Tensor | None:
    if labels is None:
        return None
    labels = torch.as_tensor(labels, device=device).reshape(-1)
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise GankitError(f"labels have dtype {labels.dtype}; pass integer class indices")
    if labels.numel() != n:
        raise GankitError(f"got {labels.numel()} labels for {n} paths; pass one label per path")
    return labels.long()


def _checked_output(x, rows: int, what: str) -> torch.Tensor:
    """x as a finite tensor with one row per latent (its own shape kept, for a feature extractor)."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim == 0 or x.shape[0] != rows:
        raise GankitError(f"{what} returned shape {tuple(x.shape)} for {rows} latents; expected "
                          f"one output per latent, shape ({rows}, ...)")
    check_finite(x, what, fix="the generator has diverged or overflows along latent paths; "
                 "measure a checkpoint whose samples are finite")
    return x


def perceptual_path_length(generate: Callable, latent_dim: int, n_samples: int = 10_000,
                           epsilon: float = 1e-4, features: Callable | None = None, labels=None,
                           rng=None, batch_size: int = 500,
                           percentiles: Sequence[float] = (1, 99), space: str | None = None,
                           device=None, dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """Mean squared speed of the generator's output along random latent great circles.

    For each of `n_samples` paths: z0, z1 ~ N(0, I) and t ~ U(0, 1), drawn in float64 from `rng`
    (a torch.Generator, an int seed, or None for seed 0) in that order, all at once, so the
    result depends on the seed and n_samples but not on batch_size (unless the generator treats
    rows by their position in a batch, as a multi-generator model does). Then
    d = ||f(G(slerp(z0, z1, t))) - f(G(slerp(z0, z1, t + epsilon)))||^2 / epsilon^2, where f is
    `features` (batch -> (n, d)) or flattening (raw space) when None. Values outside the
    `percentiles` band (np.percentile, linear interpolation; (1, 99) as published) are dropped.

    generate(z, y) is called twice per batch of paths, first on z_t then on z_t+eps, with the same
    rows and labels in the same order: a multi-generator model that assigns rows to generators by
    position sees the same layout in both calls. It must be deterministic given (z, y) -- noise it
    draws itself must repeat in the second call of each pair -- and is called under
    torch.no_grad() (an nn.Module is put in eval mode for the duration). `labels` (one per path)
    are shared by both endpoints of a path; `latent_dim` is the width of z. Latents reach
    generate as `dtype` tensors on `device` (default: where rng draws, normally the CPU).

    Precision: the slerp is computed in float64 and cast once per endpoint, and distances are
    taken in float64, but a float32 generator still rounds its latents and outputs to about 6e-8
    relative, which epsilon = 1e-4 magnifies to up to ~1e-3 relative in each path's difference.
    Against float64 copies of the same generators (a small MLP, a DCGAN after 3 steps) the mean
    moved by ~1e-5 relative; it matters for nearly constant generators, where rounding rather
    than the path can dominate. A float64 generator (dtype=torch.float64) removes it.

    Returns {"ppl": mean of the kept values, "ppl_std": their std (ddof 0), "n_kept",
    "n_samples", "epsilon", "space" (`space`, or "raw"/"features" by default), "percentiles",
    "sampling": "z-slerp"}. Values compare only at the same epsilon, space and sampling.
    """
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    n = check_positive_int(n_samples, "n_samples", minimum=2)
    epsilon = _check_epsilon(epsilon)
    batch_size = check_positive_int(batch_size, "batch_size")
    low, high = _check_percentiles(percentiles)
    if not callable(generate):
        raise GankitError(f"generate must be a callable generate(z, y) -> samples, "
                          f"got {type(generate).__name__}")
    if features is not None and not callable(features):
        raise GankitError(f"features must be a callable batch -> (n, d) features, "
                          f"got {type(features).__name__}")
    rng = _as_generator(rng)
    device = torch.device(device) if device is not None else rng.device
    labels = _check_labels(labels, n, device)

    z0 = torch.randn(n, latent_dim, generator=rng, dtype=torch.float64, device=rng.device)
    z1 = torch.randn(n, latent_dim, generator=rng, dtype=torch.float64, device=rng.device)
    t = torch.rand(n, generator=rng, dtype=torch.float64, device=rng.device)

    def embed(x: torch.Tensor, what: str) -> torch.Tensor:
        if features is not None:
            x = _checked_output(features(x), len(x), f"the features of {what}")
        return x.reshape(len(x), -1).double()

    distances = np.empty(n)
    module = generate if isinstance(generate, torch.nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                a, b, tt = z0[start:stop], z1[start:stop], t[start:stop]
                y = None if labels is None else labels[start:stop]
                z_t = slerp(a, b, tt).to(device=device, dtype=dtype)
                z_te = slerp(a, b, tt + epsilon).to(device=device, dtype=dtype)
                x_t = _checked_output(generate(z_t, y), stop - start, "the generator")
                x_te = _checked_output(generate(z_te, y), stop - start, "the generator")
                diff = embed(x_t, "z_t") - embed(x_te, "z_t+eps")
                distances[start:stop] = (diff.square().sum(dim=1) / epsilon**2).cpu().numpy()
    finally:
        if module is not None:
            module.train(was_training)

    lo, hi = np.percentile(distances, [low, high])
    kept = distances[(distances >= lo) & (distances <= hi)]
    if kept.size == 0:  # only possible for 2 distinct paths and a band narrower than (0, 100)
        raise GankitError(f"no path length lies within the {low:g}th-{high:g}th percentiles of "
                          f"{n} paths; pass at least 3 samples")
    return {"ppl": float(kept.mean()), "ppl_std": float(kept.std()), "n_kept": int(kept.size),
            "n_samples": n, "epsilon": epsilon,
            "space": space if space is not None else ("raw" if features is None else "features"),
            "percentiles": [low, high], "sampling": "z-slerp"}


def _feature_space(extractor) -> tuple[Callable, str, int | None]:
    """(features callable, the space's name for the protocol, its preferred batch size)."""
    from ..classifier import Judge

    if isinstance(extractor, (str, Path)):
        extractor = Judge.load(extractor)
    if isinstance(extractor, Judge):
        acc = extractor.held_out_accuracy
        name = (f"gankit judge {extractor.arch.get('type', '')}"
                + (f" (held-out accuracy {acc:.4f})" if acc is not None else ""))
        return extractor.features, name, None
    method = getattr(extractor, "features", None)
    if callable(method):  # e.g. gankit.evaluate.FeatureExtractor
        batch = getattr(extractor, "batch", None)
        return method, str(getattr(extractor, "name", type(extractor).__name__)), batch
    if callable(extractor):
        name = getattr(extractor, "name", None) or getattr(extractor, "__name__", None)
        return extractor, str(name or type(extractor).__name__), None
    raise GankitError(f"extractor must be a gankit Judge, the path of a saved judge, an object with "
                      f"a features method, or a callable batch -> features; "
                      f"got {type(extractor).__name__}")


def ppl_of_module(module, n_samples: int = 10_000, epsilon: float = 1e-4, space: str = "auto",
                  extractor=None, rng=None, batch_size: int = 500,
                  percentiles: Sequence[float] = (1, 99)) -> dict[str, Any]:
    """Perceptual path length of a GANModule's generator, with the space chosen from its samples.

    space "raw": the generator's output in data units (the module's scaler undone), flattened;
    "features": `extractor`'s features of those samples; "auto": features when an extractor is
    given or the samples are images, raw otherwise (2-D points and tables are measured in their
    own units, images in a feature space as published). The extractor is a gankit Judge (e.g.
    `gankit.classifier.get_judge(train, held_out)`, the offline extractor of `gankit eval`), the
    path of a saved judge (`Judge.save`'s stem), a `gankit.evaluate.FeatureExtractor`, or any
    callable batch -> (n, d).

    Conditional models are measured on every class equally (balanced labels, both endpoints of a
    path sharing one); cluster-conditioned ones on clusters drawn by their share. The Gumbel
    noise of a table generator is drawn afresh for each pair of calls but identically within
    it, so the distance measures the path and not the noise.
    """
    if space not in ("auto", "raw", "features"):
        raise GankitError(f"space must be 'auto', 'raw' or 'features', got {space!r}")
    generator = getattr(module, "sampler", module.generator)
    images = len(tuple(generator.sample_shape)) == 3
    if space == "raw" and extractor is not None:
        raise GankitError("an extractor was given with space='raw'; pass space='features' to use it, "
                          "or drop the extractor")
    use_features = space == "features" or (space == "auto" and (images or extractor is not None))
    if use_features and extractor is None:
        raise GankitError(
            "perceptual path length in a feature space needs a feature extractor; pass extractor= "
            "(a gankit Judge such as gankit.classifier.get_judge(train, held_out), the path of a "
            "saved judge, or a callable batch -> features), or space='raw' to measure "
            + ("raw pixels" if images else "in data units"))
    features, name = None, ("raw pixels" if images else "raw (data units)")
    if use_features:
        features, name, preferred_batch = _feature_space(extractor)
        batch_size = min(batch_size, preferred_batch or batch_size)

    parameter = next(generator.parameters())
    rng = _as_generator(rng)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    labels = module.generator_labels(n_samples, None, parameter.device, rng)
    noisy = hasattr(generator, "noise_generator")
    original_noise = generator.noise_generator if noisy else None
    # drawn only for generators with noise, so other results equal perceptual_path_length's
    noise_seed = int(torch.randint(0, 2**62, (), generator=rng)) if noisy else 0
    calls = itertools.count()

    def generate(z, y):
        if noisy:
            # generate is called twice per batch (z_t, then z_t+eps, same rows): reseeding per
            # pair gives both calls the same Gumbel noise, as for a deterministic generator
            generator.noise_generator = torch.Generator().manual_seed(noise_seed + next(calls) // 2)
        return module.decode(generator(z, y), y)

    was_training = generator.training
    generator.eval()
    try:
        return perceptual_path_length(generate, generator.latent_dim, n_samples, epsilon,
                                      features=features, labels=labels, rng=rng,
                                      batch_size=batch_size, percentiles=percentiles, space=name,
                                      device=parameter.device, dtype=parameter.dtype)
    finally:
        generator.train(was_training)
        if noisy:
            generator.noise_generator = original_noise
