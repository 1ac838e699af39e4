"""Losses on a page (gankit.report.losses): each run on axes of its own, the discriminator's side
apart from the generator's, legends beside the curves, and the recent-losses table."""
from __future__ import annotations

import io
import math

from gankit.report.losses import loss_chart, loss_sides


def wgan_log(n: int = 40) -> dict[str, list[float]]:
    steps = [float(5 * (i + 1)) for i in range(n)]
    return {"step": steps,
            "d_loss": [-0.1 - 0.01 * math.sin(i) for i in range(n)],
            "wasserstein": [0.1 + 0.02 * math.sin(i) for i in range(n)],
            "gradient_penalty": [0.01] * n,
            "g_loss": [15.0 + math.cos(i) for i in range(n)],
            "seconds": [float(i) for i in range(n)],
            "d_real": [math.nan] * n}  # never measured: not drawn


def test_sides_split_what_each_network_logs():
    assert loss_sides(wgan_log()) == {"discriminator": ["d_loss", "wasserstein", "gradient_penalty"],
                                      "generator": ["g_loss"]}
    began = {"step": [1.0], "d_loss": [0.2], "k": [0.01], "convergence": [0.3], "g_loss": [0.1],
             "pull_away": [0.5]}
    assert loss_sides(began) == {"discriminator": ["d_loss", "k", "convergence"],
                                 "generator": ["g_loss", "pull_away"]}
    assert loss_sides({"step": [1.0], "seconds": [2.0]}) == {}


def test_a_large_generator_loss_does_not_flatten_the_wasserstein_estimate():
    fig = loss_chart(wgan_log(), title="run")
    d_axes, g_axes = fig.axes
    assert [line.get_label() for line in d_axes.get_lines()] == ["d_loss", "wasserstein", "gradient_penalty"]
    assert [line.get_label() for line in g_axes.get_lines()] == ["g_loss"]
    low, high = d_axes.get_ylim()
    assert high - low < 1.0  # the discriminator's axes span its own values (about 0.3), not 0 to 16
    assert g_axes.get_ylim()[0] > 10

    fig.savefig(io.BytesIO(), format="png")  # lays the figure out, as the page's picture is
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent()
        box = ax.get_window_extent()
        assert legend.x0 >= box.x1  # right of the curves, never over them
        assert legend.x1 <= fig.bbox.x1 + 1  # and inside the picture


def test_nothing_logged_draws_nothing():
    assert loss_chart({}) is None
    assert loss_chart({"step": [5.0], "seconds": [1.0]}) is None
