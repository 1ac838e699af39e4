"""Evaluation pictures: class-distribution bars, t-SNE of real vs generated, 2-D scatter with KDE.

Each function writes one PNG (matplotlib's Agg backend, no display needed), gives it a title,
closes the figure (long evaluations would otherwise pile up open figures) and returns the path.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..errors import GankitError  # noqa: E402
from ..metrics._arrays import as_2d_float64, to_numpy  # noqa: E402


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def class_distribution_bars(dists: dict, path, class_names=None, title: str = "Class distribution") -> Path:
    """Grouped bars of class proportions, one group per class and one colour per entry of `dists`
    (e.g. {"real": [...], "conditional": [...], "unconditional": [...]}); a dashed line marks uniform."""
    if not dists:
        raise GankitError("class_distribution_bars needs at least one distribution")
    props = {}
    for name, p in dists.items():
        if isinstance(p, dict):  # accept class_distribution(...) results directly
            p = p["proportions"]
        props[str(name)] = np.asarray(to_numpy(p, f"proportions of {name!r}"), dtype=np.float64).reshape(-1)
    k = {len(p) for p in props.values()}
    if len(k) != 1:
        raise GankitError(f"class distributions have different numbers of classes {sorted(k)}; pass one per class each")
    k = k.pop()
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise GankitError(f"class_names has {len(names)} entries for {k} classes")
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * k * max(1, len(props) / 2)), 4))
    width = 0.8 / len(props)
    pos = np.arange(k)
    for i, (name, p) in enumerate(props.items()):
        ax.bar(pos + (i - (len(props) - 1) / 2) * width, p, width, label=name)
    ax.axhline(1.0 / k, color="black", linestyle="--", linewidth=1, label="uniform")
    ax.set_xticks(pos)
    ax.set_xticklabels(names, rotation=45 if max(len(n) for n in names) > 3 else 0)
    ax.set_xlabel("class")
    ax.set_ylabel("proportion")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


def _subsample(x: np.ndarray, n: int, rng) -> np.ndarray:
    return x if x.shape[0] <= n else x[np.sort(rng.choice(x.shape[0], n, replace=False))]


def tsne_picture(real, fakes: dict, path, n: int = 1000, random_state=0,
                 title: str = "t-SNE of real and generated samples") -> Path:
    """One t-SNE embedding of up to `n` real samples and up to `n` from each model in `fakes`
    (fitted jointly, so the panels share coordinates); one panel per model, real in grey behind."""
    from sklearn.manifold import TSNE

    if not fakes:
        raise GankitError("tsne_picture needs at least one generated set in `fakes`")
    rng = np.random.default_rng(random_state)
    r = _subsample(as_2d_float64(np.asarray(to_numpy(real, "real")).reshape(len(real), -1), "real"), n, rng)
    parts = {}
    for name, f in fakes.items():
        arr = np.asarray(to_numpy(f, f"fake {name!r}"))
        arr = as_2d_float64(arr.reshape(arr.shape[0], -1), f"fake {name!r}")
        if arr.shape[1] != r.shape[1]:
            raise GankitError(f"fake {name!r} has {arr.shape[1]} features but real has {r.shape[1]}")
        parts[str(name)] = _subsample(arr, n, rng)
    data = np.concatenate([r, *parts.values()])
    perplexity = float(min(30.0, max(2.0, (data.shape[0] - 1) / 3)))
    # PCA initialisation needs as many features as output dimensions; one feature starts random
    init = "pca" if data.shape[1] >= 2 else "random"
    emb = TSNE(n_components=2, perplexity=perplexity, init=init, random_state=random_state).fit_transform(data)
    fig, axes = plt.subplots(1, len(parts), figsize=(4.5 * len(parts), 4.5), squeeze=False)
    er = emb[:len(r)]
    start = len(r)
    for ax, (name, f) in zip(axes[0], parts.items()):
        ef = emb[start:start + len(f)]
        start += len(f)
        ax.scatter(er[:, 0], er[:, 1], s=4, c="0.6", alpha=0.5, label="real")
        ax.scatter(ef[:, 0], ef[:, 1], s=4, c="tab:red", alpha=0.6, label=name)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        # beside the points, never over them
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=3, frameon=False)
    fig.suptitle(title)
    return _save(fig, path)


def scatter_kde(real, fake, path, centers=None, title: str = "Real vs generated (2-D)") -> Path:
    """Two panels for 2-D data: a scatter of real and generated points (centres as crosses), and a
    Gaussian KDE of the generated points with the real points' KDE as contour lines."""
    from scipy.stats import gaussian_kde

    r = as_2d_float64(real, "real")
    f = as_2d_float64(fake, "fake")
    if r.shape[1] != 2 or f.shape[1] != 2:
        raise GankitError(f"scatter_kde draws 2-D data; got {r.shape[1]} and {f.shape[1]} features "
                          "(use tsne_picture for higher dimensions)")
    both = np.concatenate([r, f])
    lo, hi = both.min(axis=0), both.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-6)
    lo, hi = lo - pad, hi + pad
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.8))
    a1.scatter(r[:, 0], r[:, 1], s=3, alpha=0.4, label="real", c="0.5")
    a1.scatter(f[:, 0], f[:, 1], s=3, alpha=0.4, label="generated", c="tab:red")
    if centers is not None:
        c = as_2d_float64(centers, "centers")
        a1.scatter(c[:, 0], c[:, 1], marker="x", c="black", s=40, label="centres")
    a1.set_title("samples")
    a1.legend(loc="upper right", markerscale=3)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    grid = np.vstack([gx.ravel(), gy.ravel()])

    def density(points):
        # Cap the points: KDE evaluation costs points x grid, and 2,000 already shows the shape.
        pts = points if len(points) <= 2000 else points[np.random.default_rng(0).choice(len(points), 2000, False)]
        if len(pts) < 3 or np.linalg.matrix_rank(np.cov(pts.T)) < 2:
            return None  # a collapsed set has no 2-D density; the scatter shows it instead
        return gaussian_kde(pts.T)(grid).reshape(gx.shape)

    zf = density(f)
    if zf is not None:
        a2.contourf(gx, gy, zf, levels=20, cmap="Reds")
    zr = density(r)
    if zr is not None:
        a2.contour(gx, gy, zr, levels=8, colors="black", linewidths=0.6)
    a2.set_title("KDE: generated (filled), real (lines)")
    for ax in (a1, a2):
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal", adjustable="box")
    fig.suptitle(title)
    return _save(fig, path)
