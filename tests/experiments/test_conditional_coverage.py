"""`gankit experiment conditional-coverage` end to end on digits with a tiny budget."""
import json

import pytest

from gankit.cli import main
from gankit.errors import GankitError
from gankit.experiments.conditional_coverage import MODELS, run_conditional_coverage

TINY = ["--steps", "3", "--samples", "200", "--judge-epochs", "1", "--tsne-points", "60",
        "--width", "8", "--batch-size", "16", "--no-progress"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    from threadpoolctl import threadpool_limits

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    with threadpool_limits(1):    # one BLAS thread: the machine's two cores are shared
        yield


def test_end_to_end_on_digits(tmp_path, capsys):
    out = tmp_path / "cc"
    assert main(["experiment", "conditional-coverage", "--data", "digits", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "judge held-out accuracy" in printed and "conditional accuracy" in printed
    for name in ("results.json", "results.md", "class_distribution.png", "tsne.png", "report.html"):
        assert (out / name).stat().st_size > 500, name
    for name in MODELS:
        assert (out / name / "config.yaml").is_file()

    written = json.loads((out / "results.json").read_text())
    assert written["samples"] == 200 and written["num_classes"] == 10
    assert written["settings_differing"] == ["conditional"]       # same settings otherwise
    settings = written["settings"]
    assert settings["model"] == "wgan-gp" and settings["steps"] == 3 and settings["width"] == 8
    judge = written["judge"]
    assert 0 <= judge["held_out_accuracy"] <= 1 and judge["epochs"] == 1
    assert len(judge["per_class_accuracy"]) == 10
    for name in MODELS:
        m = written["models"][name]
        assert sum(m["counts"]) == 200 and len(m["proportions"]) == 10
        assert 0 <= m["normalised_entropy"] <= 1 and 0 <= m["tv_to_real"] <= 1
        assert 0 <= m["dropped_classes"] <= 10 and m["fid_judge"] >= 0
    assert "per_class_accuracy" not in written["models"]["unconditional"]
    pca = written["models"]["conditional"]["per_class_accuracy"]
    assert len(pca["per_class"]) == 10 and pca["counts"] == [20] * 10
    assert sum(written["real"]["counts"]) == written["held_out"]["n"]

    md = (out / "results.md").read_text()
    assert "normalised entropy" in md and "conditional accuracy" in md and "| real (held out) |" in md
    html = (out / "report.html").read_text()
    assert "Conditional coverage on digits" in html and "data:image/png;base64" in html

    # the Python API refuses to train into a folder that already holds the runs
    with pytest.raises(GankitError, match="already holds a trained run"):
        run_conditional_coverage("digits", steps=3, samples=200, out=out, width=8)


def test_command_line_errors_are_one_line(tmp_path, capsys):
    def error(*args):
        assert main(["experiment", "conditional-coverage", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        return err[0]

    (tmp_path / "plain.csv").write_text("a,b\n1,2\n3,4\n5,6\n7,8\n9,1\n")
    assert "pass --out DIR" in error(*TINY)
    assert "--steps must be at least 1" in error("--steps", "0", "--out", str(tmp_path / "a"))
    assert "at least the number of classes (10)" in error(
        "--samples", "5", "--steps", "1", "--out", str(tmp_path / "b"))
    assert "does not exist" in error("--data", str(tmp_path / "no-mnist"), "--out", str(tmp_path / "c"))
    assert "needs labelled data" in error("--data", str(tmp_path / "plain.csv"), "--out", str(tmp_path / "d"))
    assert "--judge-epochs must be at least 1" in error("--judge-epochs", "0", "--out", str(tmp_path / "e"))
    assert not (tmp_path / "b").exists()          # nothing written before the input is checked
