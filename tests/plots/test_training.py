import numpy as np
import pytest
from matplotlib.colors import Normalize, to_rgba

from gankit.cli import main
from gankit.plots import training
from gankit.plots.training import plot_limits, save_scatter

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def figures(monkeypatch):
    """The axes of each saved figure, kept before the figure is closed."""
    seen = []
    real_close = training.plt.close

    def close(fig):
        seen.append(fig.axes[0])
        real_close(fig)

    monkeypatch.setattr(training.plt, "close", close)
    return seen


def test_one_feature_is_drawn_as_histograms(tmp_path, figures):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(200, 1)), rng.normal(size=(100, 1)) + 1
    limits = plot_limits(real)
    assert len(limits) == 1 and limits[0][0] < real.min() and limits[0][1] > real.max()
    path = save_scatter(tmp_path / "h.png", fake, real, title="step 5", limits=limits)
    assert path.read_bytes()[:8] == PNG
    ax = figures[-1]
    assert ax.get_xlim() == pytest.approx(limits[0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["real", "generated"]
    assert ax.get_title() == "step 5" and not ax.collections  # no scatter


def test_one_feature_labels_colour_like_the_scatter(tmp_path, figures):
    rng = np.random.default_rng(0)
    fake, labels = rng.normal(size=(90, 1)), np.arange(90) % 3
    save_scatter(tmp_path / "h.png", fake, labels=labels)  # no real points, as `gankit sample`
    legend = figures[-1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["generated 0", "generated 1", "generated 2"]
    tab10, norm = training.plt.get_cmap("tab10"), Normalize(0, 2)
    assert [to_rgba(h.get_edgecolor()) for h in legend.legend_handles] == \
        [tab10(norm(v)) for v in range(3)]


def test_more_than_two_features_scatter_the_first_two(tmp_path, figures):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(50, 5)), rng.normal(size=(40, 5))
    limits = plot_limits(real)
    assert len(limits) == 2 and limits[1][1] > real[:, 1].max()
    save_scatter(tmp_path / "s.png", fake, real, title="step 3", limits=limits)
    ax = figures[-1]
    assert ax.get_title() == "step 3 (features 1-2 of 5)"
    np.testing.assert_allclose(ax.collections[1].get_offsets(), fake[:, :2])


def test_one_column_csv_trains_and_samples_end_to_end(tmp_path):
    # today's failure was an IndexError in plot_limits at the first snapshot
    values = np.random.default_rng(0).normal(size=60)
    csv = tmp_path / "one.csv"
    csv.write_text("x\n" + "\n".join(f"{v:.4f}" for v in values) + "\n")
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--model", "gan", "--steps", "20", "--log-every", "10",
                 "--no-progress", "--no-tensorboard", "--out", str(run)]) == 0
    assert (run / "samples" / "step_00000020.png").read_bytes()[:8] == PNG  # the last snapshot
    png = tmp_path / "x.png"
    assert main(["sample", str(run), "-n", "50", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == PNG
