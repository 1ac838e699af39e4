"""Run-directory ownership: nothing a user owns is overwritten, one process per run."""
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from support import tiny
from gankit.cli import main
from gankit.errors import GankitError
from gankit.run_directory import RunDir, RunLock
from gankit.training import train_run
from gankit.training.run_writer import (FRESH, OVERWRITE, RESUME, claim_run_directory,
                                        copy_model)

TRAIN = ["train", "--data", "ring8", "--model", "gan", "--steps", "4", "--log-every", "2",
         "--hidden", "16", "--no-progress", "--no-tensorboard"]


def _user_folder(path):
    path.mkdir()
    (path / "config.yaml").write_text("train: {my: own}\n")   # not a run: no spec, no data
    (path / "losses.csv").write_text("step,x\n1,2\n")
    (path / "notes.txt").write_text("mine")
    return {p.name: p.read_bytes() for p in path.iterdir()}


def test_a_folder_that_is_not_a_run_is_refused_and_left_untouched(tmp_path, capsys):
    folder = tmp_path / "ex"
    before = _user_folder(folder)
    assert main(TRAIN + ["--out", str(folder)]) == 2
    assert "is not empty and is not a gankit run" in capsys.readouterr().err
    # not one byte changed, and no lock file was left in the user's folder
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_overwrite_replaces_what_the_folder_holds(tmp_path):
    folder = tmp_path / "ex"
    _user_folder(folder)
    assert main(TRAIN + ["--out", str(folder), "--overwrite"]) == 0
    assert not (folder / "notes.txt").exists()
    assert RunDir(folder).is_run() and RunDir(folder).status()["state"] == "finished"


def test_an_existing_run_is_only_continued_with_resume(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(TRAIN + ["--out", str(run)]) == 0
    checkpoints = RunDir(run).checkpoints()
    capsys.readouterr()
    assert main(TRAIN + ["--out", str(run)]) == 2
    assert "already holds a run; continue it with --resume" in capsys.readouterr().err
    assert RunDir(run).checkpoints() == checkpoints
    assert main(["train", "--resume", str(run), "--overwrite"]) == 2


def test_out_that_is_a_file_or_unwritable_is_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(TRAIN + ["--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(TRAIN + ["--out", str(locked / "run")]) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_unwritable_out_is_one_line_even_for_root(tmp_path, capsys, monkeypatch):
    from pathlib import Path
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if "readonly" in str(self):
            raise PermissionError(13, "Read-only file system")
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(TRAIN + ["--out", str(tmp_path / "readonly" / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def _hold_lock(path, ready, release):
    lock = RunLock(path).acquire()
    ready.set()
    release.wait(30)
    lock.release()


def test_a_run_directory_belongs_to_one_process(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(tmp_path / "run", ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        assert RunLock(tmp_path / "run").is_held()
        with pytest.raises(GankitError, match=rf"in use by process {holder.pid}"):
            claim_run_directory(tmp_path / "run", FRESH)
        with pytest.raises(GankitError, match="in use by"):
            claim_run_directory(tmp_path / "run", OVERWRITE)
    finally:
        release.set()
        holder.join(30)
    # the holder is gone: its lock went with it, and the folder can be claimed
    assert not RunLock(tmp_path / "run").is_held()
    claim_run_directory(tmp_path / "run", FRESH).release()


def test_a_dead_holder_leaves_no_stale_lock(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(tmp_path / "run", ready, release))
    holder.start()
    assert ready.wait(60)
    holder.kill()                                   # SIGKILL: no chance to clean up
    holder.join(30)
    assert (tmp_path / "run" / ".gankit.lock").exists()
    assert not RunLock(tmp_path / "run").is_held()
    claim_run_directory(tmp_path / "run", FRESH).release()


def test_a_second_training_on_the_same_out_is_refused_while_the_first_runs(tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "gankit", *TRAIN[:5], "--steps", "100000", "--log-every", "2",
                              "--hidden", "16", "--no-progress", "--no-tensorboard",
                              "--out", str(run)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (RunLock(run).is_held() and RunDir(run).checkpoints() == [] and
                   RunDir(run).status().get("state") == "running"):
            assert time.time() < deadline and first.poll() is None, first.stderr.read()
            time.sleep(0.2)
        assert main(TRAIN + ["--out", str(run)]) == 2
        assert f"in use by process {first.pid}" in capsys.readouterr().err
        assert main(["train", "--resume", str(run)]) == 2
        assert RunDir(run).state() == "running"
    finally:
        first.terminate()                         # SIGTERM: a clean stop
        first.wait(60)
    assert first.returncode == 143
    assert RunDir(run).state() == "stopped"


def test_resume_mode_needs_a_run_with_checkpoints(tmp_path):
    with pytest.raises(GankitError, match="not a gankit run directory"):
        claim_run_directory(tmp_path, RESUME)
    assert not RunLock(tmp_path).is_held()


def test_copy_model_follows_the_same_rules(tmp_path):
    run = train_run(tiny(steps=4, log_every=2), tmp_path / "run")
    target = tmp_path / "model"
    _user_folder(target)
    with pytest.raises(GankitError, match="not empty and is not a gankit run"):
        copy_model(run.run_dir, target)
    copy_model(run.run_dir, target, overwrite=True)
    assert RunDir(target).is_run() and len(RunDir(target).checkpoints()) == 1
    with pytest.raises(GankitError, match="already holds a run"):
        copy_model(run.run_dir, target)
