"""The one reader of a run directory, and what it says of a run whose process was killed."""
import os
import signal
import subprocess
import sys
import time

from gankit.cli import main
from gankit.run_directory import RunDir, RunLock


def test_a_killed_run_reads_as_interrupted_at_its_last_step(tmp_path, capsys):
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "gankit", "train", "--data", "ring8",
                                "--model", "gan", "--steps", "100000", "--hidden", "8",
                                "--checkpoint-every", "20", "--log-every", "10", "--no-progress",
                                "--no-tensorboard", "--out", str(run)])
    deadline = time.time() + 120
    while not RunDir(run).checkpoints():
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.2)
    assert RunDir(run).state() == "running" and RunLock(run).is_held()
    os.kill(process.pid, signal.SIGKILL)             # no chance to say anything
    process.wait(60)
    status = RunDir(run).status()
    assert status["state"] == "running"                # what the dead process last wrote
    assert RunDir(run).state() == "interrupted" and not RunLock(run).is_held()
    # the report says so, and the run resumes
    assert main(["report", str(run), "--out", str(tmp_path / "report.html")]) == 0
    assert f"interrupted at step {status['step']}" in (tmp_path / "report.html").read_text()
    steps = RunDir(run).checkpoints()[-1][0]
    assert main(["train", "--resume", str(run), "--steps", str(steps + 10), "--no-progress"]) == 0
    assert RunDir(run).state() == "finished"


def test_reading_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "config.yaml").write_text("train: {my: own}\n")
    assert not RunDir(tmp_path).is_run() and RunDir(tmp_path).status() == {}
    assert RunDir(tmp_path / "absent").state() == "unknown"
    assert RunDir(tmp_path).losses() == {} and RunDir(tmp_path).checkpoints() == []
