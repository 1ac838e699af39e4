import numpy as np
import pytest
import yaml

from gankit.cli import main

QUIET = ["--no-progress", "--no-tensorboard", "--hidden", "32", "--batch-size", "32",
         "--log-every", "5"]


def train(tmp_path, *extra, name="run"):
    return main(["train", "--out", str(tmp_path / name), *QUIET, *extra])


def error_of(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err          # one line, naming the problem
    return err[0]


def test_train_then_sample_every_format(tmp_path):
    assert train(tmp_path, "--data", "blobs4", "--conditional", "--steps", "10") == 0
    run = tmp_path / "run"
    assert main(["sample", str(run), "-n", "12", "--label", "2", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (12, 2)
    assert main(["sample", str(run), "-n", "8", "--out", str(tmp_path / "s.csv")]) == 0
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[0] == "x0,x1,label" and len(rows) == 9
    assert main(["sample", str(run), "-n", "100", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_config_file_and_flags(tmp_path):
    (tmp_path / "c.yaml").write_text("data: ring8\nmodel: gan\nsteps: 5\nlabel-smoothing: 0.9\n")
    assert train(tmp_path, "--config", str(tmp_path / "c.yaml"), "--steps", "6") == 0
    recorded = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]
    assert recorded["model"] == "gan" and recorded["steps"] == 6
    assert recorded["label_smoothing"] == 0.9


def test_resume_continues_and_refuses_other_settings(tmp_path, capsys):
    assert train(tmp_path, "--data", "ring8", "--steps", "5", "--checkpoint-every", "5") == 0
    run = str(tmp_path / "run")
    assert main(["train", "--resume", run, "--steps", "10", "--no-progress"]) == 0
    assert yaml.safe_load((tmp_path / "run" / "status.json").read_text())["step"] == 10
    capsys.readouterr()
    assert main(["train", "--resume", run, "--model", "gan"]) == 2
    assert "cannot change model" in error_of(capsys)
    assert train(tmp_path, "--data", "ring8", "--steps", "5") == 2
    assert "already holds a run; continue it with --resume" in error_of(capsys)


@pytest.mark.parametrize("args, message", [
    (["--data", "ring9"], "unknown data name 'ring9'"),
    (["--data", "nowhere/x.csv"], "does not exist"),
    (["--data", "ring8", "--model", "gam"], "unknown model 'gam'"),
    (["--data", "ring8", "--remedy", "unroll"], "unknown remedy 'unroll'"),
    (["--data", "ring8", "--remedy", "pac", "--pac", "5"], "not a multiple of pac=5"),
    (["--data", "ring8", "--batch-size", "0"], "batch-size must be at least 1"),
    (["--data", "ring8", "--model", "gan", "--unroll", "-1"], "--unroll is a number of look-ahead"),
    (["--data", "ring8", "--model", "ebgan", "--unroll", "2"], "--unroll works with a single scoring discriminator"),
    (["--data", "ring8", "--model", "gan", "--generators", "0"], "--generators is the number of generators"),
    (["--data", "ring8", "--model", "wgan-gp", "--generators", "3"], "needs --model gan"),
    (["--data", "ring8", "--model", "gan", "--generators", "2", "--remedy", "pac"], "drop --remedy pac"),
    (["--data", "ring8", "--model", "ebgan", "--margin", "0"], "EBGAN margin must be positive"),
    (["--data", "ring8", "--model", "ebgan", "--margin", "-2"], "EBGAN margin must be positive"),
    (["--data", "ring8", "--model", "ebgan", "--pull-away", "-0.1"], "pull-away weight must be >= 0"),
    (["--data", "ring8", "--model", "began", "--gamma", "1.5"], "gamma must be in (0, 1]"),
    (["--data", "ring8", "--model", "began", "--remedy", "minibatch"], "drop --remedy"),
])
def test_bad_settings_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert main(["train", "--out", str(tmp_path / "r"), "--no-progress", "--steps", "1", *args]) == 2
    assert message in error_of(capsys)


def test_bad_data_files_exit_2(tmp_path, capsys):
    nan = tmp_path / "nan.csv"
    nan.write_text("a,b\n1,2\nnan,3\n")
    assert train(tmp_path, "--data", str(nan), "--steps", "1") == 2
    assert "NaN or infinite" in error_of(capsys)
    flat = tmp_path / "flat.npy"
    np.save(flat, np.zeros(7))
    assert train(tmp_path, "--data", str(flat), "--steps", "1") == 2
    assert "expected (N, features)" in error_of(capsys)
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("a,b\n1,2\n3,4\n5,6\n")
    assert train(tmp_path, "--data", str(unlabelled), "--conditional", "--steps", "1") == 2
    assert "--conditional needs labels" in error_of(capsys)
    badlabels = tmp_path / "l.csv"
    badlabels.write_text("a,b,label\n1,2,3\n3,4,5\n")
    assert train(tmp_path, "--data", str(badlabels), "--steps", "1") == 2
    assert "0..K-1" in error_of(capsys)


def test_bad_checkpoints_exit_2(tmp_path, capsys):
    assert train(tmp_path, "--data", "ring8", "--steps", "5") == 0
    run = tmp_path / "run"
    checkpoint = sorted((run / "checkpoints").iterdir())[-1]
    original = checkpoint.read_bytes()
    checkpoint.write_bytes(original[: len(original) // 2])
    capsys.readouterr()
    assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.npy")]) == 2
    assert "corrupt" in error_of(capsys)
    checkpoint.write_bytes(original)
    config = (run / "config.yaml").read_text().replace("hidden: 32", "hidden: 48")
    (run / "config.yaml").write_text(config)
    assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.npy")]) == 2
    assert "belongs to another model or other data" in error_of(capsys)
    assert main(["sample", str(tmp_path), "-n", "4", "--out", str(tmp_path / "s.npy")]) == 2
    assert "not a gankit run directory" in error_of(capsys)


def test_sampling_by_label_of_unconditional_model_is_refused(tmp_path, capsys):
    assert train(tmp_path, "--data", "ring8", "--steps", "3") == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run"), "-n", "4", "--label", "1",
                 "--out", str(tmp_path / "s.npy")]) == 2
    assert "unconditional" in error_of(capsys)


def test_demo_quick(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "ring8-wgan-gp" in out and "blobs8-cwgan-gp" in out
    assert f"report: {tmp_path / 'demo' / 'report.html'}" in out
    # every run's verdict on the console says how each mode is fitted, not only "high quality"
    for line in [line for line in out.splitlines() if line.startswith(("ring8-", "blobs8-"))]:
        assert " modes, " in line and "within each mode: spread ratio" in line and "C2ST" in line
    # the report opens with each run's headline metrics, and no "no metrics yet" warning
    html = (tmp_path / "demo" / "report.html").read_text()
    top = html[html.index('id="verdict"'):html.index('id="verdict"') + 5000]
    for name in ("ring8-wgan-gp", "blobs8-cwgan-gp"):
        assert name in top
    assert top.count("of 8 modes") == 2 and "C2ST accuracy" in top
    assert "no metrics yet" not in html and "not comparable" not in top
    for name in ("ring8-wgan-gp", "blobs8-cwgan-gp"):
        assert (tmp_path / "demo" / name / "training.gif").exists()
        assert (tmp_path / "demo" / name / "losses.png").exists()


def test_malformed_yaml_config_is_one_line_with_line_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: ring8\nsteps: [1, 2\nmodel: gan\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"config file {bad} is not valid YAML at line" in err
    assert "column" in err


def test_class_scaling_is_on_for_conditional_points_and_can_be_turned_off(tmp_path):
    assert train(tmp_path, "--data", "blobs4", "--conditional", "--steps", "4", name="on") == 0
    assert train(tmp_path, "--data", "blobs4", "--conditional", "--steps", "4",
                 "--no-class-scaling", name="off") == 0
    recorded = {name: yaml.safe_load((tmp_path / name / "config.yaml").read_text())["train"]
                for name in ("on", "off")}
    assert (recorded["on"]["class_scaling"], recorded["off"]["class_scaling"]) == (True, False)
    # a run recorded before the setting existed trained without it, and resumes so
    config = tmp_path / "off" / "config.yaml"
    values = yaml.safe_load(config.read_text())
    del values["train"]["class_scaling"]
    config.write_text(yaml.safe_dump(values))
    assert main(["train", "--resume", str(tmp_path / "off"), "--steps", "6", "--no-progress"]) == 0
    resumed = yaml.safe_load(config.read_text())["train"]
    assert resumed["steps"] == 6 and resumed["class_scaling"] is False
