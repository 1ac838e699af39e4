"""The mode-collapse experiment's outputs from a hand-made frame: the summary over seeds,
results.md beside the material's claim, and the printed table."""
import math

import pandas as pd

from gankit.experiments.mode_collapse import COLUMNS
from gankit.experiments.mode_collapse_outputs import (budget_text, print_summary, results_markdown,
                                                       summarise)


def frame():
    names = ["data", "modes", "model", "remedy", "seed", "modes_captured", "hq", "reverse_kl",
             "material_coverage", "seconds", "steps", "status"]
    rows = [["blobs4", 4, "gan", "none", 0, 2, 0.5, 0.4, 0.75, 1.0, 10, "ok"],
            ["blobs4", 4, "gan", "none", 1, 4, 0.7, 0.2, 0.25, 3.0, 10, "ok"],
            ["blobs4", 4, "wgan-gp", "none", 0, math.nan, math.nan, math.nan, math.nan, 2.0, 10,
             "diverged at step 7"]]
    # the experiment's columns, the fit and refinement ones unmeasured here
    out = pd.DataFrame(rows, columns=names).assign(sampling="raw", acceptance=1.0)
    out = out.reindex(columns=COLUMNS)
    out.attrs.update(wall_seconds=12.0, cpu_seconds=20.0, train_seconds=9.0, files={})
    return out


def test_summary_is_mean_and_sample_std_over_seeds_with_diverged_runs_counted():
    summary = summarise(frame()).set_index("model")
    assert summary.loc["gan", "modes_captured_mean"] == 3.0
    assert summary.loc["gan", "modes_captured_std"] == math.sqrt(2.0)
    assert summary.loc["gan", "runs"] == 2 and summary.loc["gan", "diverged"] == 0
    assert summary.loc["wgan-gp", "runs"] == 1 and summary.loc["wgan-gp", "diverged"] == 1


def test_results_markdown_sets_the_material_claim_beside_the_measured_rows():
    text = results_markdown(frame())
    assert "| blobs4 | 4 | vanilla GAN | none | raw | 3.0 ± 1.4 / 4 (2) | 60.0 ± 14.1 (50.0) |" in text
    assert "2 (0 diverged)" not in text and "1 (1 diverged)" in text
    assert "## Against the material's claimed coverage table" in text
    assert "| vanilla GAN | 4 | 75 | 50 ± 35 | 75 ± 35 |" in text
    assert "Published figures" not in text          # no ring8 / grid25 rows


def test_printed_table_has_a_line_per_configuration_and_the_totals(capsys):
    print_summary(frame())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "modes 3.0 ± 1.4 / 4" in lines[0] and "modes n/a / 4" in lines[1]
    assert lines[2].startswith("3 runs in 12.0 s wall (20.0 s CPU); wrote")


def test_the_budget_names_each_models_steps_when_they_differ():
    one = frame()
    assert budget_text(one) == "10"
    assert "; 10 generator steps per run" in results_markdown(one)
    mixed = one.copy()
    mixed.loc[mixed["model"] == "wgan-gp", "steps"] = 30
    assert budget_text(mixed) == "10 (gan), 30 (wgan-gp)"
    assert "10 (gan), 30 (wgan-gp) generator steps per run" in results_markdown(mixed)
