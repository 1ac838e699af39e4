"""What a page knows about a run (gankit.report.runs): a run that is not finished, or not even
started, still gets a page, which says what is missing and why."""
from __future__ import annotations

import shutil

import pytest
import yaml
from report.page_reading import assert_self_contained, check_images, notes_text, page_data, parse, table_rows

from gankit.report import write_report
from gankit.run_directory import RunLock


@pytest.mark.parametrize("state", ["running", "stopped", "diverged"])
def test_run_stopped_mid_training_gets_a_page_with_notes(run, state, set_status):
    set_status(run, state=state, step=10)
    (run / "training.gif").unlink()
    (run / "losses.png").unlink()
    with RunLock(run):  # the process that trains holds the lock for the run's whole life
        out = write_report(run)
    root = parse(out)
    assert_self_contained(root, out)
    notes = notes_text(root)
    expected = {"running": "still training", "stopped": "stopped early at step 10 of 20",
                "diverged": "diverged at step 10"}[state]
    assert expected in notes
    assert "no training.gif" in notes
    images = check_images(root)
    assert not any(img.attrs.get("data-source") == "training.gif" for img in images)
    # the loss curves are drawn from losses.csv, and linked to it
    losses = root.find("section", id="losses")
    drawn = list(losses.iter("img"))
    assert len(drawn) == 1 and drawn[0].parent.attrs["href"] == "losses.csv"
    assert page_data(root)["runs"][0]["status"]["state"] == state


def test_running_without_its_process_is_interrupted(run, set_status):
    set_status(run, state="running", step=10)  # status says running, but nobody holds the lock
    root = parse(write_report(run))
    notes = [n for n in root.iter() if "note" in n.attrs.get("class", "").split()]
    interrupted = [n for n in notes if "interrupted" in n.text]
    assert len(interrupted) == 1 and "still training" not in notes_text(root)
    assert interrupted[0].text.startswith("interrupted at step 10 (the process ended without a clean stop; "
                                          "resume with")
    assert interrupted[0].find("code").text == f"gankit train --resume {run}"
    status = {r.find("th").text: r.find("td").text for r in table_rows(root.find("table", id="status-table"))}
    assert status["state"] == "interrupted" and status["progress"] == "interrupted: step 10 of 20 (50%)"
    data = page_data(root)["runs"][0]
    assert data["state"] == "interrupted" and data["status"]["state"] == "running"


def test_bare_run_directory_gets_a_page_saying_what_is_missing(tmp_path, trained):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(trained / "config.yaml", bare / "config.yaml")
    out = write_report(bare, out=tmp_path / "pages")  # a folder: pages/report.html
    assert out == tmp_path / "pages" / "report.html"
    root = parse(out)
    notes = notes_text(root)
    for missing in ("status.json is missing", "no losses logged yet", "no sample pictures yet",
                    "no checkpoints yet", "metrics.json does not exist", "no training.gif"):
        assert missing in notes, missing
    assert list(root.iter("img")) == []


def test_a_resumed_run_says_when_and_over_which_steps(run):
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["resumes"] = [{"time": "2026-01-02T03:04:05+00:00", "from_step": 10, "to_step": 20}]
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    root = parse(write_report(run))
    facts = {r.find("th").text: r.find("td").text for r in table_rows(root.find("table", id="trained-table"))}
    assert facts["resumes"] == "2026-01-02T03:04:05+00:00: steps 10 to 20"
