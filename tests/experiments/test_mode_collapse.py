"""`gankit experiment mode-collapse` end to end on a tiny budget, and its input checks."""
import math

import pandas as pd
import pytest

from gankit.cli import main
from gankit.experiments.mode_collapse import COLUMNS, plan_runs, run_mode_collapse

EXPECTED = ["data", "modes", "model", "remedy", "seed", "modes_captured", "hq", "reverse_kl",
            "material_coverage", "seconds"]


def test_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "mc"
    rc = main(["experiment", "mode-collapse", "--modes", "4", "8", "--models", "gan", "wgan-gp",
               "cwgan-gp", "--seeds", "2", "--steps", "2", "--no-progress", "--out", str(out)])
    assert rc == 0
    frame = pd.read_csv(out / "results.csv")
    assert list(frame.columns[:len(EXPECTED)]) == EXPECTED and list(frame.columns) == COLUMNS
    assert len(frame) == 2 * 3 * 2
    assert set(frame["model"]) == {"gan", "wgan-gp", "cwgan-gp"} and set(frame["modes"]) == {4, 8}
    assert set(frame["data"]) == {"blobs4", "blobs8"} and set(frame["seed"]) == {0, 1}
    ok = frame[frame["status"] == "ok"]
    assert ok["hq"].between(0, 1).all() and ok["material_coverage"].between(0, 1).all()
    assert (ok["modes_captured"] <= ok["modes"]).all() and (frame["steps"] == 2).all()
    text = (out / "results.md").read_text()
    assert "mean" in text.lower() and "PacGAN" in text and "| blobs8 | 8 |" in text
    assert (out / "samples.png").stat().st_size > 1000
    assert "runs in" in capsys.readouterr().out


def test_ring8_ignores_modes_and_cites_published_rows(tmp_path):
    runs = plan_runs(modes=[4, 8, 16], models=["gan"], data="ring8", seeds=2, steps=1)
    assert [(r.data, r.modes) for r in runs] == [("ring8", 8), ("ring8", 8)]
    frame = run_mode_collapse(models=["wgan-gp"], data="grid25", seeds=1, steps=1, out=tmp_path,
                              report=False, hidden=16, batch_size=32, n_samples=500)
    assert frame["modes"].tolist() == [25]
    text = (tmp_path / "results.md").read_text()
    assert "24.8" in text and "Lin et al. 2018" in text and "VEEGAN" in text


def test_vectorised_and_one_by_one_agree():
    settings = dict(modes=[4, 8], models=["gan", "cwgan-gp"], remedies=["none", "pac"], seeds=1,
                    steps=10, hidden=32, batch_size=32, n_samples=400)
    a = run_mode_collapse(one_by_one=True, **settings)
    b = run_mode_collapse(one_by_one=False, **settings)
    assert a.attrs["vectorised"] is False and b.attrs["vectorised"] is True
    keys = ["data", "model", "remedy", "seed"]
    assert a[keys].equals(b[keys])
    assert a["modes_captured"].tolist() == b["modes_captured"].tolist()
    for column in ("hq", "reverse_kl", "material_coverage"):
        for x, y in zip(a[column], b[column]):
            assert (math.isnan(x) and math.isnan(y)) or abs(x - y) < 1e-3, column


@pytest.mark.parametrize("args, word", [
    (["--models", "gan", "dcgan"], "model"),
    (["--data", "moons"], "data"),
    (["--modes", "1", "8"], "2 modes"),
    (["--modes", "four"], "whole numbers"),
    (["--remedies", "unrolled"], "remedy"),
    (["--seeds", "0"], "seeds"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, word):
    rc = main(["experiment", "mode-collapse", *args, "--steps", "1", "--no-progress",
               "--out", str(tmp_path / "x")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("gankit: error:") and word in err


def test_missing_out_is_one_line(capsys):
    assert main(["experiment", "mode-collapse", "--steps", "1"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
