import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.plots import evaluation
from gankit.plots.evaluation import class_distribution_bars, scatter_kde, tsne_picture

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def titles(monkeypatch):
    """Record each saved figure's titles (suptitle and axes titles) before it is closed."""
    seen = []
    real_close = evaluation.plt.close

    def close(fig):
        found = [ax.get_title() for ax in fig.axes]
        if fig._suptitle is not None:
            found.append(fig._suptitle.get_text())
        seen.append([t for t in found if t])
        real_close(fig)

    monkeypatch.setattr(evaluation.plt, "close", close)
    return seen


def test_class_distribution_bars(tmp_path, titles):
    path = class_distribution_bars({"real": [0.1] * 10, "generated": {"proportions": [0.55] + [0.05] * 9}},
                                   tmp_path / "sub" / "classes.png", class_names=list("0123456789"))
    assert path.read_bytes()[:8] == PNG
    assert titles[-1] == ["Class distribution"]
    with pytest.raises(GankitError, match="different numbers of classes"):
        class_distribution_bars({"a": [0.5, 0.5], "b": [1.0]}, tmp_path / "x.png")


def test_tsne_picture_with_several_models(tmp_path, titles):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((80, 6))
    fakes = {"gan": rng.standard_normal((70, 6)) + 2, "wgan-gp": rng.standard_normal((60, 6))}
    path = tsne_picture(real, fakes, tmp_path / "tsne.png", n=50)
    assert path.read_bytes()[:8] == PNG
    assert "gan" in titles[-1] and "wgan-gp" in titles[-1] and titles[-1][-1].startswith("t-SNE")


def test_scatter_kde_including_a_collapsed_generator(tmp_path, titles):
    rng = np.random.default_rng(1)
    centers = np.array([[1.0, 0.0], [-1.0, 0.0]])
    real = centers[rng.integers(0, 2, 300)] + 0.05 * rng.standard_normal((300, 2))
    assert scatter_kde(real, real[::-1] + 0.01, tmp_path / "kde.png", centers=centers).read_bytes()[:8] == PNG
    collapsed = np.ones((200, 2))  # no 2-D density: must still draw
    assert scatter_kde(real, collapsed, tmp_path / "collapsed.png").exists()
    assert all(t for t in titles) and titles[-1][-1] == "Real vs generated (2-D)"
    with pytest.raises(GankitError, match="2-D data"):
        scatter_kde(rng.standard_normal((10, 3)), rng.standard_normal((10, 3)), tmp_path / "no.png")
