"""Pictures of a training run (gankit.plots.training): scatters and histograms of generated vs
real points with a legend beside them, and the loss chart shared by losses.png and the report."""
import io
import math

import numpy as np
import pytest
from matplotlib.colors import to_rgb, to_rgba
from PIL import Image

from gankit.cli import main
from gankit.errors import GankitError
from gankit.plots import training
from gankit.plots.training import (PALETTE, REAL_COLOUR, loss_chart, plot_limits,
                                   read_losses, save_loss_curves, save_scatter, scatter_figure)

PNG = b"\x89PNG\r\n\x1a\n"


def laid_out(fig):
    fig.savefig(io.BytesIO(), format="png")  # lays the figure out, as the saved file is
    return fig


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def assert_legend_beside(fig, ax):
    legend, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= box.x1          # right of the points, never over them
    assert legend.x1 <= fig.bbox.x1 + 1 and legend.y0 >= fig.bbox.y0 - 1  # inside the picture


def is_grey(colour) -> bool:
    """A grey that could pass for the real points' (near-black reads as ink, not as grey)."""
    r, g, b = to_rgb(colour)
    return max(r, g, b) - min(r, g, b) < 0.05 and max(r, g, b) > 0.3


def ring(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % k
    angle = 2 * np.pi * labels / k
    noise = np.random.default_rng(seed).normal(scale=0.05, size=(n, 2))
    return np.c_[np.cos(angle), np.sin(angle)] * 2 + noise, labels


def test_class_colours_exclude_grey_so_real_points_look_like_no_class():
    assert len({to_rgb(c) for c in PALETTE}) == len(PALETTE) == 18
    assert not any(is_grey(c) for c in PALETTE)      # tab10's grey was class 7's colour
    assert min(np.linalg.norm(np.subtract(to_rgb(c), to_rgb(REAL_COLOUR))) for c in PALETTE) > 0.3
    assert is_grey(REAL_COLOUR)


def test_scatter_names_real_data_and_each_class_beside_the_points(tmp_path):
    fake, labels = ring(400, 10)
    real, _ = ring(300, 10, seed=1)
    fig = laid_out(scatter_figure(fake, real, title="step 5", limits=plot_limits(real), labels=labels))
    ax = fig.axes[0]
    assert legend_texts(ax) == ["real data", "generated, by class:"] + [f"class {k}" for k in range(10)]
    handles = ax.get_legend().legend_handles
    assert to_rgb(handles[0].get_color()) == to_rgb(REAL_COLOUR)
    assert [to_rgb(h.get_color()) for h in handles[2:]] == [to_rgb(c) for c in PALETTE[:10]]
    # each generated point wears its class's colour (one collection: no class drawn over the rest)
    drawn = ax.collections[1].get_facecolors()
    np.testing.assert_allclose(drawn[:, :3], np.array(PALETTE[:10])[labels])
    assert_legend_beside(fig, ax)

    path = save_scatter(tmp_path / "s.png", fake, real, title="step 5", labels=labels)
    with Image.open(path) as im:
        assert im.size == (640, 480)


def test_generators_and_sparse_classes_keep_their_own_colour():
    fake, _ = ring(60, 3)
    made_by = np.arange(60) % 2
    ax = laid_out(scatter_figure(fake, labels=made_by, colour_by="generator")).axes[0]
    assert legend_texts(ax) == ["generated, by generator:", "generator 0", "generator 1"]
    # classes 0 and 3 only: class 3 keeps class 3's colour, as on a picture where all are drawn
    labels = np.where(np.arange(60) % 2, 3, 0)
    ax = scatter_figure(fake, labels=labels).axes[0]
    assert legend_texts(ax)[1:] == ["class 0", "class 3"]
    assert to_rgb(ax.get_legend().legend_handles[-1].get_color()) == to_rgb(PALETTE[3])


def test_more_classes_than_colours_are_not_named_alike():
    fake, labels = ring(320, 32)
    ax = scatter_figure(fake, labels=labels).axes[0]
    assert legend_texts(ax) == ["generated, by class:", "32 classes (colours repeat after 18)"]
    fake, labels = ring(160, 16)
    ax = scatter_figure(fake, labels=labels).axes[0]
    assert legend_texts(ax)[1:] == [f"class {k}" for k in range(16)]
    np.testing.assert_allclose(ax.collections[0].get_facecolors()[:, :3], np.array(PALETTE)[labels])


def test_one_feature_is_drawn_as_histograms(tmp_path):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(200, 1)), rng.normal(size=(100, 1)) + 1
    limits = plot_limits(real)
    assert len(limits) == 1 and limits[0][0] < real.min() and limits[0][1] > real.max()
    fig = laid_out(scatter_figure(fake, real, title="step 5", limits=limits))
    ax = fig.axes[0]
    assert ax.get_xlim() == pytest.approx(limits[0])
    assert legend_texts(ax) == ["real data", "generated"]
    assert ax.get_title() == "step 5" and not ax.collections  # no scatter
    assert_legend_beside(fig, ax)
    assert save_scatter(tmp_path / "h.png", fake, real, limits=limits).read_bytes()[:8] == PNG


def test_one_feature_groups_colour_like_the_scatter():
    rng = np.random.default_rng(0)
    fake, labels = rng.normal(size=(90, 1)), np.arange(90) % 3
    ax = scatter_figure(fake, labels=labels).axes[0]  # no real points, as `gankit sample`
    assert legend_texts(ax) == ["generated, by class:", "class 0", "class 1", "class 2"]
    assert [to_rgba(h.get_color()) for h in ax.get_legend().legend_handles[1:]] == \
        [to_rgba(c) for c in PALETTE[:3]]
    assert [to_rgba(p.get_edgecolor()) for p in ax.patches] == [to_rgba(c) for c in PALETTE[:3]]


def test_more_than_two_features_scatter_the_first_two():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(50, 5)), rng.normal(size=(40, 5))
    limits = plot_limits(real)
    assert len(limits) == 2 and limits[1][1] > real[:, 1].max()
    ax = scatter_figure(fake, real, title="step 3", limits=limits).axes[0]
    assert ax.get_title() == "step 3 (features 1-2 of 5)"
    np.testing.assert_allclose(ax.collections[1].get_offsets(), fake[:, :2])
    with pytest.raises(GankitError, match="39 labels for 40 points"):
        scatter_figure(fake, labels=np.zeros(39))


# ------------------------------------------------------------------------------ losses
def write_losses(run, rows: int = 30) -> None:
    run.mkdir(parents=True, exist_ok=True)
    lines = ["step,d_loss,wasserstein,gradient_penalty,g_loss,seconds"]
    lines += [f"{5 * (i + 1)},{-0.1 - 0.01 * math.sin(i)},{0.1 + 0.02 * math.sin(i)},0.01,"
              f"{15 + math.cos(i)},{i}" for i in range(rows)]
    (run / "losses.csv").write_text("\n".join(lines) + "\n")


def test_losses_png_gives_each_side_its_own_axes(tmp_path, monkeypatch):
    run = tmp_path / "wgan"
    write_losses(run)
    drawn = []
    monkeypatch.setattr(training, "_save", lambda fig, path: drawn.append(laid_out(fig)) or path)
    save_loss_curves(run / "losses.csv", tmp_path / "losses.png")  # as finish_pictures calls it
    fig = drawn[-1]
    d_axes, g_axes = fig.axes
    assert [line.get_label() for line in d_axes.get_lines()] == ["d_loss", "wasserstein", "gradient_penalty"]
    assert [line.get_label() for line in g_axes.get_lines()] == ["g_loss"]
    assert d_axes.get_ylim()[1] - d_axes.get_ylim()[0] < 1.0  # g_loss of 15 does not flatten it
    assert fig._suptitle.get_text() == "losses of wgan"
    for ax in fig.axes:
        assert_legend_beside(fig, ax)


def test_losses_png_is_written_and_reads_through_the_run_directory(tmp_path):
    run = tmp_path / "run"
    write_losses(run)
    out = save_loss_curves(run, tmp_path / "pics" / "losses.png", title="t")
    assert out.read_bytes()[:8] == PNG
    logged = read_losses(run / "losses.csv")
    assert logged["step"][-1] == 150 and logged["g_loss"].max() > 15
    assert set(read_losses(run)) == set(logged)
    with pytest.raises(GankitError, match="run folder or its losses.csv"):
        read_losses(run / "other.csv")
    # nothing logged: no picture
    (run / "losses.csv").write_text("step,seconds\n5,1\n")
    assert save_loss_curves(run, tmp_path / "empty.png") is None
    assert not (tmp_path / "empty.png").exists()


def test_the_report_draws_losses_with_the_same_chart():
    from gankit.report import losses as report_losses
    assert report_losses.loss_chart is loss_chart  # one drawing, two places that show it


def test_one_column_csv_trains_and_samples_end_to_end(tmp_path):
    # today's failure was an IndexError in plot_limits at the first snapshot
    values = np.random.default_rng(0).normal(size=60)
    csv = tmp_path / "one.csv"
    csv.write_text("x\n" + "\n".join(f"{v:.4f}" for v in values) + "\n")
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--model", "gan", "--steps", "20", "--log-every", "10",
                 "--no-progress", "--no-tensorboard", "--out", str(run)]) == 0
    assert (run / "samples" / "step_00000020.png").read_bytes()[:8] == PNG  # the last snapshot
    assert (run / "losses.png").read_bytes()[:8] == PNG
    png = tmp_path / "x.png"
    assert main(["sample", str(run), "-n", "50", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == PNG
