import numpy as np
"""`gankit experiment mode-collapse` end to end on a tiny budget, and its input checks.

Under torchrun: one `torchrun --standalone --nproc_per_node=2` launch runs this file as a worker
script (`--worker`, CPU, gloo), once through `run_mode_collapse` and once through the command
line; the tests compare with the same experiment on one process (exactly: each process trains
whole ensembles, see `plan_shards`) and check, with an audit hook on rank 1, that only rank 0
writes.
"""
import contextlib
import io
import json
import math
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from gankit.errors import GankitError
import torch

from gankit.cli import main
from gankit.experiments.mode_collapse import COLUMNS, DEFAULT_STEPS, plan_runs, run_mode_collapse

HERE = Path(__file__).resolve()
# 2 models x 1 mixture x 3 seeds, ensembles of at most 2: units gan[0,1], gan[2], wgan-gp[0,1],
# wgan-gp[2], so each process trains a 2-member and a 1-member ensemble of different models
SHARDED = dict(modes=[4], models=["gan", "wgan-gp"], seeds=3, steps=20, max_members=2, hidden=32,
               batch_size=32, n_samples=400, report=False)
SHARDED_CLI = ["experiment", "mode-collapse", "--modes", "4", "--models", "gan", "wgan-gp",
               "--seeds", "3", "--steps", "3", "--max-members", "2", "--no-progress", "--no-report"]

EXPECTED = ["data", "modes", "model", "remedy", "sampling", "seed", "modes_captured", "hq",
            "reverse_kl", "spread_mean", "spread_worst", "offset_mean", "offset_worst", "c2st",
            "c2st_floor", "spread_floor", "offset_floor", "material_coverage"]


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
    # the fit's floors are real points' own: spread near 1 whatever the 2-step models did
    assert ok["spread_floor"].between(0.85, 1.15).all() and (ok["offset_floor"] < 0.25).all()
    assert ok["hq"].between(0, 1).all() and ok["material_coverage"].between(0, 1).all()
    assert set(frame["sampling"]) == {"raw"} and ok["c2st"].between(0, 1).all()
    assert ok["c2st_floor"].between(0.4, 0.6).all()        # two real samples: near chance
    assert (ok["modes_captured"] <= ok["modes"]).all() and (frame["steps"] == 2).all()
    text = (out / "results.md").read_text()
    assert "mean" in text.lower() and "PacGAN" in text and "| blobs8 | 8 |" in text
    assert "spread mean / worst" in text and "C2ST (floor)" in text
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


def test_every_remedy_model_runs_in_one_table(tmp_path):
    models = ["gan", "unrolled-gan", "mad-gan", "ebgan", "ebgan-pt", "began"]
    frame = run_mode_collapse(data="ring8", models=models, seeds=1, steps=3, hidden=16,
                              batch_size=32, n_samples=400, out=tmp_path / "mc", report=False)
    assert frame["model"].tolist() == models and (frame["status"] == "ok").all()
    assert frame["modes_captured"].notna().all()
    text = (tmp_path / "mc" / "results.md").read_text()
    for label in ("Unrolled GAN", "MAD-GAN", "EBGAN-PT", "BEGAN"):
        assert label in text


def test_family_flags_on_the_command_line(tmp_path):
    out = tmp_path / "mc"
    assert main(["experiment", "mode-collapse", "--data", "ring8", "--models", "gan", "unrolled-gan",
                 "--unroll", "2", "--unroll-order", "first", "--seeds", "1", "--steps", "2",
                 "--no-progress", "--no-report", "--out", str(out)]) == 0
    configs = json.loads((out / "experiment.json").read_text())["configs"]
    assert configs["unrolled-gan/none"]["unroll"] == 2 and configs["gan/none"]["unroll"] == 0
    assert configs["unrolled-gan/none"]["unroll_order"] == "first"
    assert main(["experiment", "mode-collapse", "--data", "ring8", "--models", "unrolled-gan",
                 "--unroll", "-1", "--out", str(out)]) == 2


def test_family_settings_change_only_their_family():
    runs = plan_runs(data="ring8", models=["gan", "unrolled-gan", "mad-gan", "began"], seeds=1,
                     steps=2, unroll=2, generators=3, gamma=0.7, hidden=16)
    by_model = {r.model: r.config for r in runs}
    assert (by_model["gan"].unroll, by_model["gan"].generators) == (0, 1)
    assert by_model["unrolled-gan"].unroll == 2 and by_model["mad-gan"].generators == 3
    assert by_model["began"].gamma == 0.7 and all(c.hidden == 16 for c in by_model.values())
    # the autoencoder models take no remedy: they are left out of the remedy rows
    runs = plan_runs(data="ring8", models=["gan", "ebgan"], remedies=["none", "pac"], seeds=1, steps=2)
    assert [(r.model, r.remedy) for r in runs] == [("gan", "none"), ("gan", "pac"), ("ebgan", "none")]


def test_missing_out_is_one_line(capsys):
    assert main(["experiment", "mode-collapse", "--steps", "1"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_shards_are_whole_units_that_train_many_regroups_alike():
    """Every run on exactly one rank, each training unit whole on one rank, and a rank's runs
    regroup (as train_many groups them) into exactly the units it was given."""
    from gankit.experiments.mode_collapse import plan_shards
    from gankit.training import prepare_data
    from gankit.training.ensemble import training_units
    # the loop-trained models (unrolled, autoencoder) are single units between the ensembles
    runs = plan_runs([4, 8], ["gan", "unrolled-gan", "wgan-gp", "began", "cwgan-gp"], ["none", "pac"],
                     seeds=5, steps=3, n_samples=400)
    trains = [prepare_data(r.config)[0] for r in runs]
    for vectorised in (True, False):
        for max_members in (None, 1, 2, 3, 4, 7):
            units = training_units([r.config for r in runs], trains, vectorised=vectorised,
                                   max_members=max_members)
            for world in (1, 2, 3, 5):
                shards = plan_shards(runs, trains, world, vectorised=vectorised,
                                     max_members=max_members)
                assert len(shards) == world and sorted(sum(shards, [])) == list(range(len(runs)))
                owner = {i: r for r, shard in enumerate(shards) for i in shard}
                for rank, shard in enumerate(shards):
                    assert shard == sorted(shard)
                    given = [u for u in units if owner[u[0]] == rank]
                    assert all(owner[i] == rank for u in given for i in u)
                    regrouped = training_units([runs[i].config for i in shard],
                                               [trains[i] for i in shard],
                                               vectorised=vectorised, max_members=max_members)
                    assert sorted([shard[j] for j in u] for u in regrouped) == sorted(given)
    # longest first to the least loaded: the SHARDED units split 1 + 1 each (wgan-gp costs more)
    runs = plan_runs(**{k: v for k, v in SHARDED.items() if k not in ("max_members", "report")})
    trains = [prepare_data(r.config)[0] for r in runs]
    assert plan_shards(runs, trains, 2, max_members=2) == [[2, 3, 4], [0, 1, 5]]
    assert plan_shards(runs, trains, 1, max_members=2) == [list(range(6))]


# ------------------------------------------------------------------------ two processes
def _worker(out: Path) -> None:
    """Run by torchrun on each of 2 ranks: the experiment through Python and the command line."""
    import faulthandler

    from gankit import distributed
    from support import LAUNCH_TIMEOUT, install_write_audit

    faulthandler.dump_traceback_later(LAUNCH_TIMEOUT - 20, exit=True)   # a hang shows where it is
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    writes: list[str] = []
    if rank != 0:
        install_write_audit([out / "api", out / "cli", out / "probe"], writes)
        (out / "probe").mkdir()                          # proves the audit sees writes
    with distributed.distributed_session("cpu") as ctx:
        frame = run_mode_collapse(out=out / "api", **SHARDED)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main([*SHARDED_CLI, "--out", str(out / "cli")])
        record = {"rank": ctx.rank, "backend": ctx.backend, "cli_exit": code,
                  "cli_stdout": printed.getvalue(), "writes": writes}
    frame.to_pickle(out / f"frame.rank{rank}.pkl")
    (out / f"worker.rank{rank}.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    from support import torchrun_two
    out = tmp_path_factory.mktemp("mode_collapse_two_ranks")
    torchrun_two([str(HERE), "--worker", str(out)], cwd=HERE.parent)
    return out


def test_two_processes_give_the_one_process_table(two_ranks, tmp_path):
    one = run_mode_collapse(out=tmp_path / "one", **SHARDED)
    two = pd.read_pickle(two_ranks / "frame.rank0.pkl")
    compared = [c for c in COLUMNS if c != "seconds"]           # seconds: timing
    # exactly equal: each rank trains whole ensembles, as one process does
    pd.testing.assert_frame_equal(two[compared], one[compared], check_exact=True)
    # ... and every rank returns the same frame
    other = pd.read_pickle(two_ranks / "frame.rank1.pkl")
    pd.testing.assert_frame_equal(other[compared], two[compared], check_exact=True)
    written = pd.read_csv(two_ranks / "api" / "results.csv")
    pd.testing.assert_frame_equal(written[compared], pd.read_csv(tmp_path / "one" / "results.csv")[compared],
                                  check_exact=True)
    assert one.attrs["world_size"] == 1 and two.attrs["world_size"] == 2
    assert [r["runs"] for r in two.attrs["ranks"]] == [3, 3]
    assert two.attrs["cpu_seconds"] >= sum(r["cpu_seconds"] for r in two.attrs["ranks"])
    record = json.loads((two_ranks / "api" / "experiment.json").read_text())
    assert record["world_size"] == 2 and [r["runs"] for r in record["ranks"]] == [3, 3]
    assert "2 torchrun processes" in (two_ranks / "api" / "results.md").read_text()
    assert (two_ranks / "api" / "samples.png").stat().st_size > 1000


def test_only_rank_zero_writes_and_prints(two_ranks):
    records = [json.loads((two_ranks / f"worker.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in records] == [0, 1] and records[0]["backend"] == "gloo"
    probe = [w for w in records[1]["writes"] if "probe" in w]
    assert probe and all(w.startswith(("os.mkdir", "open")) for w in probe)   # the audit works
    assert [w for w in records[1]["writes"] if w not in probe] == []        # rank 1 wrote nothing
    assert {"results.csv", "results.md", "samples.png", "experiment.json"} <= \
        {p.name for p in (two_ranks / "api").iterdir()}
    # the command line under torchrun: both ranks succeed, rank 0 alone prints the table
    assert [r["cli_exit"] for r in records] == [0, 0]
    assert "runs in" in records[0]["cli_stdout"] and "over 2 processes" in records[0]["cli_stdout"]
    assert "wgan-gp" in records[0]["cli_stdout"] and records[1]["cli_stdout"] == ""
    cli = pd.read_csv(two_ranks / "cli" / "results.csv")
    assert len(cli) == 6 and (cli["steps"] == 3).all()
    assert json.loads((two_ranks / "cli" / "experiment.json").read_text())["world_size"] == 2


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.path.insert(0, str(HERE.parent.parent))          # tests/, for `support`
    _worker(Path(sys.argv[sys.argv.index("--worker") + 1]))


def test_refined_rows_beside_the_raw_ones(tmp_path):
    frame = run_mode_collapse(modes=[4], models=["gan", "cwgan-gp"], seeds=1, steps=60, hidden=32,
                              batch_size=64, n_samples=1000, report=False, refine=["drs", "mh"])
    assert list(frame["sampling"]) == ["raw", "raw", "drs", "drs", "mh", "mh"]
    assert (frame[frame["sampling"] == "raw"]["acceptance"] == 1.0).all()
    refined = frame[frame["sampling"] != "raw"]
    assert refined["acceptance"].between(0, 1).all() and (refined["acceptance"] < 1).any()
    assert refined["hq"].between(0, 1).all()
    with pytest.raises(GankitError, match="unknown refinement"):
        run_mode_collapse(modes=[4], models=["gan"], seeds=1, steps=1, refine=["best"], report=False)


def test_cwgan_gp_trains_the_recipe_for_its_own_budget_and_the_material_row_the_old_default(
        tmp_path):
    from gankit.gans.wgan_gp import (MATERIAL_POINTS, POINTS_RECIPE, POINTS_RECIPE_STEPS,
                                     SCALED_POINTS_STEPS)
    from gankit.training import prepare_data
    from gankit.training.ensemble import ensemble_key, vectorisable

    recipe, unscaled, material, plain = (r.config for r in plan_runs(
        modes=[8], models=["cwgan-gp", "cwgan-gp-unscaled", "cwgan-gp-material", "wgan-gp"], seeds=1))
    assert recipe.conditional and material.conditional and recipe.model == material.model == "wgan-gp"
    assert {k: getattr(recipe, k) for k in POINTS_RECIPE} == POINTS_RECIPE
    assert {k: getattr(unscaled, k) for k in POINTS_RECIPE} == POINTS_RECIPE
    assert {k: getattr(material, k) for k in MATERIAL_POINTS} == MATERIAL_POINTS
    assert (recipe.class_scaling, unscaled.class_scaling, material.class_scaling) == (True, False, False)
    # with no --steps, the recipe rows keep their own budgets and the others the experiment's
    assert (recipe.steps, unscaled.steps, material.steps, plain.steps) == (
        SCALED_POINTS_STEPS, POINTS_RECIPE_STEPS, DEFAULT_STEPS, DEFAULT_STEPS)
    given = plan_runs(modes=[8], models=["cwgan-gp", "wgan-gp"], seeds=1, steps=7)
    assert [r.config.steps for r in given] == [7, 7]
    # both train as vectorised ensembles, never the same one (their settings differ)
    assert vectorisable(recipe) and vectorisable(material)
    data = prepare_data(recipe)[0]
    assert ensemble_key(recipe, data) != ensemble_key(material, data)
    frame = run_mode_collapse(modes=[8], models=["cwgan-gp-material"], seeds=1, steps=3, hidden=16,
                              out=tmp_path, report=False, progress=False)
    assert (frame["status"] == "ok").all() and frame["model"].tolist() == ["cwgan-gp-material"]


def test_each_configuration_trains_as_an_ensemble_of_its_own_by_default(monkeypatch):
    """The seeds of a model on one mixture are one unit: units that balance over workers and
    processes, whatever the grid's size."""
    from gankit.experiments import mode_collapse
    from gankit.training.ensemble import training_units

    seen = {}
    share = mode_collapse._train_share

    def spy(runs, trains, mine, **options):
        seen["units"] = training_units([r.config for r in runs], trains,
                                       max_members=options["max_members"])
        seen["data"] = [r.data for r in runs]
        return share(runs, trains, mine, **options)

    monkeypatch.setattr(mode_collapse, "_train_share", spy)
    frame = run_mode_collapse(modes=[4, 8], models=["gan", "cwgan-gp"], seeds=2, steps=2, hidden=16,
                              report=False)
    assert (frame["status"] == "ok").all()
    assert seen["units"] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert all(len({seen["data"][i] for i in unit}) == 1 for unit in seen["units"])


def test_the_clustered_row_owns_its_cluster_count_and_keeps_the_others_unconditional():
    from gankit.gans.wgan_gp import SCALED_POINTS_STEPS

    clustered, plain = (r.config for r in plan_runs(modes=[8], models=["wgan-gp-clusters", "wgan-gp"],
                                                    seeds=1))
    assert (clustered.clusters, clustered.steps, clustered.conditional) == (100, SCALED_POINTS_STEPS, False)
    assert (plain.clusters, plain.steps) == (0, DEFAULT_STEPS)
    clustered, plain = (r.config for r in plan_runs(modes=[8], models=["wgan-gp-clusters", "wgan-gp"],
                                                    seeds=1, clusters=50))
    assert (clustered.clusters, plain.clusters) == (50, 0)
