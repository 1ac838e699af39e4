"""Settings are declared once: every TrainConfig field has its help text and default, and is
reachable from the command line, the config file and gankit.GAN."""
import dataclasses
import os
import pty
import subprocess
import sys

import pytest

import gankit
from gankit.cli import build_parser
from gankit.config import TrainConfig, default_text, load_config_file
from gankit.errors import GankitError

FIELDS = dataclasses.fields(TrainConfig)


def test_every_setting_has_help_and_a_default():
    for f in FIELDS:
        assert len(f.metadata.get("help", "")) >= 8, f.name
        assert default_text(f) not in ("", "None"), f.name


def test_train_help_shows_every_flag_with_its_default():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    by_dest = {a.dest: a for a in train._actions}
    for f in FIELDS:
        if f.metadata["flag"]:
            action = by_dest[f.name]
            flag = "--" + f.name.replace("_", "-")
            # a switch whose default depends on the run can be turned off too
            off = ["--no-" + flag[2:]] if f.default is None and str(f.type).startswith("bool") else []
            assert action.option_strings == [flag, *off]
            assert f.metadata["help"] in action.help and f"(default: {default_text(f)})" in action.help
    for name in ("progress", "tensorboard"):               # switched off by --no-...
        assert by_dest[name].option_strings == [f"--no-{name}"]
    assert "(default: 8000; images 500 (WGAN-GP) or 1000" in by_dest["steps"].help
    assert "(default: 0.5)" in by_dest["margin"].help            # the value the code uses


def test_every_setting_is_a_config_file_key(tmp_path):
    values = {f.name: f.default for f in FIELDS}
    values.update(betas_g=[0.1, 0.2], model="gan")
    path = tmp_path / "settings.yaml"
    import yaml
    path.write_text(yaml.safe_dump({k.replace("_", "-"): v for k, v in values.items()}))
    config = TrainConfig.from_dict(load_config_file(path))
    assert config.betas_g == (0.1, 0.2) and config.model == "gan"


def test_the_estimator_takes_every_training_setting():
    gan = gankit.GAN(spectral_norm=True, keep_checkpoints=5, margin=0.7)
    params = gan.get_params()
    assert params["spectral_norm"] is True and params["keep_checkpoints"] == 5
    assert set(params) >= {f.name for f in FIELDS} - {"data", "seed", "tensorboard"}
    assert gankit.GAN(**{**params, "out": None}).get_params() == params    # scikit-learn's clone
    with pytest.raises(GankitError, match="unknown setting"):
        gankit.GAN(learning_rate=1e-3)
    assert "spectral_norm: spectral normalisation" in gankit.GAN.__doc__


def _train_output(tmp_path, through_pty: bool) -> str:
    args = [sys.executable, "-m", "gankit", "train", "--data", "ring8", "--steps", "30",
            "--hidden", "8", "--no-tensorboard", "--out", str(tmp_path / ("tty" if through_pty else "pipe"))]
    env = {**os.environ, "COLUMNS": "100"}
    if not through_pty:
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300).stderr
    leader, follower = pty.openpty()
    import fcntl
    import struct
    import termios
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(args, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(300)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_training_shows_a_bar_on_a_terminal_and_not_in_a_pipe(tmp_path):
    assert "train WGAN-GP" in _train_output(tmp_path, through_pty=True)
    assert "train WGAN-GP" not in _train_output(tmp_path, through_pty=False)


def test_threads_default_by_network_and_the_user_wins(monkeypatch):
    from gankit.threads import threads_for
    import torch
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    points = TrainConfig(data="ring8").resolve("points")
    images = TrainConfig(data="digits", model="dcgan").resolve("images")
    assert threads_for(points) == 1
    import gankit.threads as threads
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert threads_for(images) == (os.cpu_count() or 1)        # an idle machine: every core
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (float(os.cpu_count()), 0.0, 0.0))
    assert threads_for(images) == 1                             # a busy one: one thread
    assert threads_for(TrainConfig(data="ring8", threads=2).resolve("points")) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads_for(points) is None                  # the environment's choice stands
    assert threads_for(TrainConfig(data="ring8", threads=2).resolve("points")) == 2


def test_training_applies_the_thread_default_and_restores_it(tmp_path, monkeypatch):
    import torch
    from gankit.training import train_run
    from gankit.training import loop as loop_module
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    seen = []
    real = loop_module.training_loop

    def probe(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    import gankit.training as training
    monkeypatch.setattr(training, "training_loop", probe)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train_run(TrainConfig(data="ring8", steps=2, hidden=8, progress=False, tensorboard=False),
                  tmp_path / "a")
        train_run(TrainConfig(data="ring8", steps=2, hidden=8, progress=False, tensorboard=False,
                              threads=2), tmp_path / "b")
        assert seen == [1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
