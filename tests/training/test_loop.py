import math

import numpy as np
import pytest
import torch

from support import tiny
from gankit.errors import TrainingDiverged
from gankit.training import load_run, train_run
from gankit.training import loop as loop_module
from gankit.training.checkpoint import list_checkpoints
from gankit.run_directory import RunDir


def mean_distance_to_modes(samples, centres):
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=2)
    return float(d.min(axis=1).mean())


def untrained_distance(run):
    from gankit.training import build_module
    from gankit.models import DataSpec
    fresh = build_module(run.config, DataSpec.of(run.train))
    fresh.scaler.fit(run.train.x)
    samples, _ = fresh.sample(1000, rng=torch.Generator().manual_seed(0))
    return mean_distance_to_modes(samples.numpy(), run.train.centers)


@pytest.mark.parametrize("settings", [
    dict(model="wgan-gp", n_critic=2, steps=400, lr_g=1e-3, lr_d=1e-3, gp_lambda=1.0),
    dict(model="gan", generator_loss="non-saturating", steps=300, lr_g=1e-3, lr_d=1e-3),
    dict(model="gan", generator_loss="minimax", steps=300, lr_g=1e-3, lr_d=1e-3),
    dict(model="gan", unroll=3, steps=200, lr_g=1e-3, lr_d=1e-3),
    dict(model="gan", unroll=3, unroll_order="first", steps=200, lr_g=1e-3, lr_d=1e-3),
    dict(model="gan", remedy="pac", unroll=2, steps=500),
    dict(model="gan", generators=3, steps=600),
    dict(model="ebgan", steps=300),
    dict(model="ebgan", pull_away=0.1, steps=300),
    dict(model="began", steps=1500),      # BEGAN moves slowly at first (k_t starts at 0)
], ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items() if k not in ("steps", "lr_g", "lr_d")))
def test_each_objective_trains_toward_the_data(tmp_path, settings):
    run = train_run(tiny(**settings), tmp_path / "run")
    assert all(math.isfinite(v) for v in run.result.last_losses.values())
    samples, _ = run.module.sample(1000, rng=torch.Generator().manual_seed(0))
    before, after = untrained_distance(run), mean_distance_to_modes(samples.numpy(), run.train.centers)
    assert after < 0.6 * before, (before, after)


def test_conditional_samples_land_on_their_mode(tmp_path):
    run = train_run(tiny(data="blobs8", conditional=True, steps=300, n_critic=2, gp_lambda=1.0, lr_g=1e-3,
                         lr_d=1e-3), tmp_path / "run")
    labels = torch.arange(800) % 8
    samples, _ = run.module.sample(800, y=labels, rng=torch.Generator().manual_seed(0))
    nearest = np.argmin(((samples.numpy()[:, None] - run.train.centers[None]) ** 2).sum(2), axis=1)
    assert (nearest == labels.numpy()).mean() > 0.8


def test_run_resumed_halfway_equals_a_straight_run(tmp_path):
    # a linear decay's schedule depends on the total, so extending a run needs a constant rate
    straight = train_run(tiny(steps=40, checkpoint_every=20, lr_decay="none"), tmp_path / "straight")
    train_run(tiny(steps=20, checkpoint_every=20, lr_decay="none"), tmp_path / "halves")
    resumed = train_run(tiny(steps=40, checkpoint_every=20, lr_decay="none"), tmp_path / "halves",
                        resume=True)
    assert resumed.result.steps_done == 20
    a, b = straight.module.state_dict(), resumed.module.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [int(s) for s in np.loadtxt(tmp_path / "halves" / "losses.csv", delimiter=",",
                                        skiprows=1, usecols=0, ndmin=1)]
    assert steps == [10, 20, 30, 40]


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    one = train_run(tiny(steps=10, seed=3), tmp_path / "a").module.state_dict()
    two = train_run(tiny(steps=10, seed=3), tmp_path / "b").module.state_dict()
    three = train_run(tiny(steps=10, seed=4), tmp_path / "c").module.state_dict()
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert not all(torch.equal(one[k], three[k]) for k in one)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_make = loop_module.variant_for

    def poisoned(config):
        objective = real_make(config)
        calls = {"n": 0}
        original = objective.generator_loss

        def generator_loss(*args, **kwargs):
            calls["n"] += 1
            loss, logs = original(*args, **kwargs)
            if calls["n"] > 25:
                loss = loss * float("nan")
                logs = {**logs, "g_loss": loss.detach()}
            return loss, logs

        objective.generator_loss = generator_loss
        return objective

    monkeypatch.setattr(loop_module, "variant_for", poisoned)
    with pytest.raises(TrainingDiverged, match="diverged at step 30: .*g_loss became NaN"):
        train_run(tiny(steps=40, checkpoint_every=10), tmp_path / "run")
    assert [s for s, _ in list_checkpoints(tmp_path / "run")] == [10, 20]
    assert RunDir(tmp_path / "run").status()["state"] == "diverged"
    module, _, _ = load_run(tmp_path / "run")
    assert all(torch.isfinite(v).all() for v in module.state_dict().values())


def test_run_directory_holds_its_provenance_and_pictures(tmp_path):
    run = train_run(tiny(steps=20, sample_every=10, tensorboard=True), tmp_path / "run")
    files = {p.name for p in run.run_dir.iterdir()}
    assert {"config.yaml", "losses.csv", "losses.png", "training.gif", "status.json"} <= files
    assert any(name.startswith("events.out.tfevents") for name in files)
    assert sorted(p.name for p in (run.run_dir / "samples").iterdir()) == [
        "step_00000010.png", "step_00000020.png"]
    _, config, record = load_run(run.run_dir)
    assert config.seed == 0 and record["versions"]["torch"] == torch.__version__
    assert record["data"]["fingerprint"] == run.train.fingerprint
    assert RunDir(run.run_dir).status()["state"] == "finished"


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    config = tiny(steps=40, checkpoint_every=20)          # linear decay: schedule fixed by total
    straight = train_run(config, tmp_path / "straight")

    def interrupt(run_dir, keep):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(loop_module, "prune_checkpoints", interrupt)
        with pytest.raises(KeyboardInterrupt):
            train_run(config, tmp_path / "stopped")
    assert RunDir(tmp_path / "stopped").status()["state"] == "stopped"
    assert [s for s, _ in list_checkpoints(tmp_path / "stopped")] == [20]
    resumed = train_run(config, tmp_path / "stopped", resume=True)
    assert resumed.result.steps_done == 20
    for key, value in straight.module.state_dict().items():
        assert torch.equal(value, resumed.module.state_dict()[key]), key


def test_began_keeps_k_in_the_unit_interval_logs_convergence_and_resumes_it(tmp_path):
    run = train_run(tiny(model="began", steps=200, lambda_k=0.05, log_every=10, checkpoint_every=100,
                         lr_decay="none"), tmp_path / "run")
    from gankit.plots.training import read_losses
    logged = read_losses(tmp_path / "run" / "losses.csv")
    assert np.all((logged["k"] >= 0) & (logged["k"] <= 1)) and logged["k"].max() > 0
    assert np.all(np.isfinite(logged["convergence"])) and len(logged["convergence"]) == 20
    # k_t is training state: a run resumed from step 100 ends where the straight run ended
    straight_k = run.module.discriminator.equilibrium_k.item()
    train_run(tiny(model="began", steps=100, lambda_k=0.05, log_every=10, checkpoint_every=100,
                   lr_decay="none"), tmp_path / "halves")
    resumed = train_run(tiny(model="began", steps=200, lambda_k=0.05, log_every=10,
                             checkpoint_every=100, lr_decay="none"), tmp_path / "halves", resume=True)
    assert resumed.module.discriminator.equilibrium_k.item() == straight_k


def test_three_generators_all_make_samples_and_the_run_shows_which(tmp_path):
    import pandas as pd

    from gankit.sampling import sample_to_file
    run = train_run(tiny(model="gan", generators=3, steps=30), tmp_path / "run")
    made_by = run.module.generator_of(300)
    assert sorted(set(made_by.tolist())) == [0, 1, 2] and np.bincount(made_by.numpy()).tolist() == [100] * 3
    samples, _ = run.module.sample(300, rng=torch.Generator().manual_seed(0))
    # three different networks: the groups of samples they make differ
    means = [samples[made_by == g].mean(0) for g in range(3)]
    assert min(float((means[i] - means[j]).norm()) for i in range(3) for j in range(i)) > 1e-4
    rows = pd.read_csv(sample_to_file(tmp_path / "run", 30, tmp_path / "s.csv"))
    assert rows["generator"].tolist() == [0, 1, 2] * 10


# ------------------------------------------------------------------ faults: nothing is lost
def test_a_picture_that_fails_never_costs_the_checkpoint(tmp_path, monkeypatch, capsys):
    import gankit.plots.training as plots

    def broken(*args, **kwargs):
        raise ValueError("cannot draw this")

    monkeypatch.setattr(plots, "save_scatter", broken)
    monkeypatch.setattr(plots, "save_loss_curves", broken)
    run = train_run(tiny(steps=20, sample_every=5), tmp_path / "run")
    assert [s for s, _ in list_checkpoints(run.run_dir)][-1] == 20
    assert RunDir(run.run_dir).status()["state"] == "finished"
    err = capsys.readouterr().err
    assert err.count("could not draw the sample picture") == 1          # once, not per snapshot
    assert "could not draw losses.png" in err


def test_huge_finite_values_are_refused_before_training(tmp_path):
    from gankit.errors import GankitError
    data = np.random.default_rng(0).normal(size=(300, 2))
    data[5, 1] = 3e38
    np.savetxt(tmp_path / "big.csv", data, delimiter=",", header="a,b", comments="")
    with pytest.raises(GankitError, match="column 'b' holds values as large as 3e\\+38"):
        train_run(tiny(data=str(tmp_path / "big.csv")), tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists() or not list_checkpoints(tmp_path / "run")


def test_divergence_keeps_a_finite_checkpoint_and_resume_may_lower_the_rate(tmp_path):
    import yaml
    from gankit.training.checkpoint import load_checkpoint
    config = tiny(model="gan", steps=200, log_every=5, checkpoint_every=5, lr_g=1e6, lr_d=1e6,
                  lr_decay="none")
    with pytest.raises(TrainingDiverged, match="lower learning rate"):
        train_run(config, tmp_path / "run")
    run = RunDir(tmp_path / "run")
    assert run.status()["state"] == "diverged"
    if run.checkpoints():          # whatever was kept holds finite weights and Adam moments
        kept = load_checkpoint(run.checkpoint())
        assert all(bool(torch.isfinite(t).all()) for t in kept.tensors.values() if t.is_floating_point())
        resumed = train_run(tiny(model="gan", steps=kept.step + 10, log_every=5, lr_g=1e-3, lr_d=1e-3,
                                 lr_decay="none"), tmp_path / "run", resume=True)
        assert resumed.config.lr_g == 1e-3
        record = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
        assert record["train"]["lr_g"] == 1e-3
        assert record["resumes"][-1]["changed"]["lr_g"] == [1e6, 1e-3]


def test_a_resume_that_would_train_nothing_is_refused_and_rewrites_nothing(tmp_path):
    from gankit.errors import GankitError
    train_run(tiny(steps=20, checkpoint_every=10), tmp_path / "run")
    config_before = (tmp_path / "run" / "config.yaml").read_bytes()
    with pytest.raises(GankitError, match="already at step 20.*pass --steps above 20"):
        train_run(tiny(steps=10, checkpoint_every=10), tmp_path / "run", resume=True)
    assert (tmp_path / "run" / "config.yaml").read_bytes() == config_before


def test_resume_keeps_the_first_provenance_and_adds_a_history(tmp_path):
    import yaml
    train_run(tiny(steps=10, checkpoint_every=10), tmp_path / "run", command=["first"])
    first = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    train_run(tiny(steps=20, checkpoint_every=10), tmp_path / "run", resume=True, command=["second"])
    record = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert record["created"] == first["created"] and record["command"] == ["first"]
    assert [(r["command"], r["from_step"], r["to_step"]) for r in record["resumes"]] == [(["second"], 10, 20)]
    assert record["resumes"][0]["changed"] == {"steps": [10, 20]}
    status = RunDir(tmp_path / "run").status()
    assert status["total_seconds"] >= status["seconds"] > 0


def test_disk_full_is_one_clear_error_and_the_run_is_not_left_running(tmp_path, monkeypatch):
    import errno
    from gankit.errors import GankitError
    from gankit.training import checkpoint as checkpoint_module
    real = checkpoint_module.atomic_write
    calls = {"n": 0}

    def fills_up(path, payload):
        calls["n"] += 1
        if calls["n"] >= 2:                       # the second checkpoint finds the disk full
            from gankit.files import _explain
            raise _explain(OSError(errno.ENOSPC, "No space left on device"), path)
        return real(path, payload)

    monkeypatch.setattr(checkpoint_module, "atomic_write", fills_up)
    with pytest.raises(GankitError, match="the disk is full: could not write .*step_00000020"):
        train_run(tiny(steps=40, checkpoint_every=10), tmp_path / "run")
    run = RunDir(tmp_path / "run")
    assert run.state() == "failed" and [s for s, _ in run.checkpoints()] == [10]


@pytest.mark.parametrize("settings, message", [
    (dict(steps=0), "at least 1; got 0"),
    (dict(epochs=0), "epochs must be positive"),
    (dict(seed=-5), "seed must be a whole number"),
    (dict(device="foo"), "unknown device 'foo'"),
    (dict(device="cuda"), "no CUDA GPU"),
])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, settings, message):
    from gankit.errors import GankitError
    if settings.get("device") == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(GankitError, match=message):
        train_run(tiny(**settings), tmp_path / "run")
    assert not RunDir(tmp_path / "run").is_run()
