"""`gankit experiment stacked-mnist` end to end on a tiny budget (a few steps, narrow networks,
the fewest samples the metric reads), its rows and its input checks."""
import json

import pandas as pd
import pytest

from gankit.cli import main
from gankit.errors import GankitError
from gankit.experiments.stacked_mnist import COLUMNS, model_row, plan_runs, run_stacked_mnist
from support import SHARED_DATA

MNIST = SHARED_DATA / "mnist"
TINY = ["--steps", "2", "--seeds", "2", "--samples", "1000", "--stacks", "400", "--width", "8",
        "--batch-size", "16", "--latent-dim", "8", "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def judge_cache(tmp_path_factory):
    """The folder of the 32x32 digit judge, trained once per session: shared with
    tests/metrics/test_stacked_mnist.py and tests/data/test_stacked_mnist.py."""
    if not MNIST.is_dir():
        pytest.skip(f"{MNIST} is absent (the shared data folder sits beside the repository)")
    cache = tmp_path_factory.getbasetemp() / "stacked-mnist-judges"
    cache.mkdir(exist_ok=True)
    return cache


def test_rows_are_conv_variants_by_name_or_with_packing():
    assert model_row("dcgan").label == "DCGAN"
    pac = model_row("dcgan-pac2")
    assert pac.label == "PacDCGAN2" and pac.settings == {"model": "dcgan", "remedy": "pac", "pac": 2}
    assert model_row("WGAN-GP").settings == {"model": "wgan-gp"}
    assert model_row("hinge-pac4").settings["pac"] == 4
    for name, message in (("gan-pac1", "2 or more"), ("ebgan-pac2", "cannot pack"),
                          ("vae", "unknown model 'vae'")):
        with pytest.raises(GankitError, match=message):
            model_row(name)


def test_the_plan_sets_the_discriminator_width_and_the_published_data_size():
    runs = plan_runs(["dcgan", "dcgan-pac2"], ["full", "quarter"], seeds=2, steps=5, width=32)
    assert len(runs) == 8
    assert {(r.model, r.d_width, r.seed) for r in runs} == {
        (m, w, s) for m in ("dcgan", "dcgan-pac2") for w in ("full", "quarter") for s in (0, 1)}
    quarter = [r for r in runs if r.d_width == "quarter"]
    assert all(r.config.d_width == 8 and r.config.width == 32 for r in quarter)
    assert all(r.config.d_width is None for r in runs if r.d_width == "full")
    first = runs[0].config
    assert first.data == "stacked-mnist" and not first.conditional and first.steps == 5
    assert first.n_samples * (1 - first.held_out) == pytest.approx(25_600)   # as published
    packed = [r for r in runs if r.model == "dcgan-pac2"]
    assert all(r.config.remedy == "pac" and r.config.pac == 2 for r in packed)


@pytest.mark.parametrize("kwargs, message", [
    (dict(d_widths=["tenth"]), "unknown discriminator width"),
    (dict(seeds=0), "at least 1"),
    (dict(steps=0), "at least 1"),
    (dict(model="gan"), "sets model itself"),
    (dict(models=["began"]), "run it with --d-width full"),
    (dict(models=[]), "at least one model"),
    (dict(learning_rate=0.1), "unknown training setting"),
])
def test_bad_plans_are_refused_in_one_line(kwargs, message):
    with pytest.raises(GankitError, match=message):
        plan_runs(**kwargs)


def test_fewer_samples_than_triples_are_refused(tmp_path):
    with pytest.raises(GankitError, match="at least 1,000"):
        run_stacked_mnist(samples=999, out=tmp_path)


def test_command_end_to_end(tmp_path, judge_cache, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", str(judge_cache))
    out = tmp_path / "stacked"
    rc = main(["experiment", "stacked-mnist", "--models", "dcgan", "dcgan-pac2", "wgan-gp",
               "--d-width", "full", "quarter", *TINY, "--out", str(out)])
    assert rc == 0
    frame = pd.read_csv(out / "results.csv")
    assert list(frame.columns) == COLUMNS and len(frame) == 3 * 2 * 2
    assert set(frame["label"]) == {"DCGAN", "PacDCGAN2", "WGAN-GP"}
    assert (frame["status"] == "ok").all() and (frame["samples"] == 1000).all()
    assert frame["modes"].between(1, 1000).all() and (frame["kl"] >= 0).all()
    assert set(frame.loc[frame["d_width"] == "quarter", "d_width_channels"]) == {2}
    assert (frame["train_cpu_seconds"] > 0).all() and (frame["steps"] == 2).all()
    text = (out / "results.md").read_text()
    assert "| PacDCGAN2 | 1000.0 | 0.06 |" in text and "| DCGAN | 99 | 3.40 |" in text
    assert "32x32" in text and "60,000" in text and "not comparable" in text
    assert "| PacDCGAN2 | quarter (2 of 8) |" in text
    for name in ("dcgan", "dcgan-pac2", "wgan-gp"):
        for width in ("full", "quarter"):
            assert (out / "samples" / f"{name}-{width}.png").stat().st_size > 500
    assert "PacGAN" in (out / "report.html").read_text()
    record = json.loads((out / "experiment.json").read_text())
    assert len(record["runs"]) == 12 and sum(record["runs"][0]["counts"]) == 1000
    assert record["judge"]["judge_accuracy"] > 0.9
    # every run is a run directory that gankit's other commands read
    assert (out / "runs" / "dcgan-pac2-quarter-seed1" / "config.yaml").is_file()
    printed = capsys.readouterr().out
    assert "PacDCGAN2" in printed and "12 runs in" in printed
    # a second experiment into the same folder would mix runs: refused
    assert main(["experiment", "stacked-mnist", *TINY, "--out", str(out)]) == 2
    assert "already holds the runs" in capsys.readouterr().err
