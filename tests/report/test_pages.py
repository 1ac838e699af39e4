"""The pages of runs (gankit.report.pages): one run's page, and several runs side by side."""
from __future__ import annotations

import csv
import json
import re
import shutil
import time

import pytest
import yaml
from report.page_reading import (assert_self_contained, cells_of, check_images, notes_text, page_data, parse,
                                 table_rows)

from gankit.cli import main
from gankit.metrics.registry import make_protocol, record
from gankit.report import write_report
from gankit.training.checkpoint import list_checkpoints


def test_run_page_parses_is_self_contained_and_complete(run):
    started = time.perf_counter()
    out = write_report(run)
    seconds = time.perf_counter() - started
    assert out == run / "report.html" and seconds < 5
    root = parse(out)
    assert_self_contained(root, out)
    for section in ("what-was-trained", "losses", "samples", "metrics", "checkpoints", "configuration"):
        assert root.find("section", id=section) is not None, section

    images = check_images(root)
    sources = sorted(img.attrs["data-source"] for img in images if "data-source" in img.attrs)
    assert sources == ["samples/step_00000020.png", "training.gif"]
    # the loss curves are drawn for the page (so no source file) and link to their log
    drawn = [img for img in images if "data-source" not in img.attrs]
    assert len(drawn) == 1 and drawn[0].ancestor("section").attrs["id"] == "losses"
    assert drawn[0].parent.attrs["href"] == "losses.csv"
    assert "losses.png" in [a.attrs["href"] for a in drawn[0].ancestor("figure").find("figcaption").iter("a")]
    gif = next(img for img in images if img.attrs.get("data-source") == "training.gif")
    assert int(gif.attrs["data-frames"]) == 2  # snapshots at steps 10 and 20

    config = json.loads(json.dumps(yaml.safe_load((run / "config.yaml").read_text())))
    facts = {r.find("th").text: r.find("td").text for r in table_rows(root.find("table", id="trained-table"))}
    assert facts["data fingerprint (sha256)"] == config["data"]["fingerprint"]
    assert facts["held-out fingerprint (sha256)"] == config["held_out"]["fingerprint"]
    assert facts["model"] == "wgan-gp" and facts["seed"] == "0"
    assert facts["command"] == "gankit train --data ring8"
    status = {r.find("th").text: r.find("td").text for r in table_rows(root.find("table", id="status-table"))}
    assert status["progress"] == "finished: step 20 of 20 (100%)"

    # every config entry is in the configuration table, with its exact value
    config_rows = {r.attrs["data-key"]: r.find("td") for r in table_rows(root.find("table", id="config-table"))}
    assert json.loads(config_rows["train.lr_g"].attrs["data-value"]) == config["train"]["lr_g"]
    assert config_rows["versions.torch"].text == config["versions"]["torch"]
    assert all(th.tag == "th" for th in root.find("table", id="config-table").find("thead").iter("th"))

    # checkpoints: steps and exact sizes
    rows = table_rows(root.find("table", id="checkpoints-table"))
    found = list_checkpoints(run)
    assert [int(r.attrs["data-step"]) for r in rows] == [s for s, _ in found]
    sizes = [json.loads(cells_of(r)[2].attrs["data-value"]) for r in rows]
    assert sizes == [p.stat().st_size for _, p in found]

    # final losses are the last row of losses.csv
    with open(run / "losses.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    losses = {r.attrs["data-key"]: r for r in table_rows(root.find("table", id="final-losses-table"))}
    assert json.loads(list(losses["d_loss"].iter("td"))[0].attrs["data-value"]) == float(last["d_loss"])
    assert "±" in list(losses["d_loss"].iter("td"))[1].text

    # no metrics yet: said, not failed; programs get the same facts from the JSON block
    assert "metrics.json does not exist" in notes_text(root)
    data = page_data(root)
    assert data["kind"] == "run" and data["runs"][0]["status"]["state"] == "finished"
    assert data["runs"][0]["config"]["data"]["fingerprint"] == config["data"]["fingerprint"]


def test_two_runs_side_by_side(trained, tmp_path, capsys):
    a, b = tmp_path / "runs" / "seed0", tmp_path / "runs" / "seed5"
    shutil.copytree(trained, a)
    shutil.copytree(trained, b)
    text = (b / "config.yaml").read_text()
    (b / "config.yaml").write_text(text.replace("  seed: 0\n", "  seed: 5\n"))
    with open(b / "losses.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[-1]["d_loss"] = "1.2345"
    with open(b / "losses.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    record(a, "fid", 3.25, make_protocol(1000, 1000, "raw", "held-out", None))

    assert main(["report", str(a), str(b)]) == 0
    out = tmp_path / "runs" / "report.html"  # the runs' common folder
    assert str(out) in capsys.readouterr().out
    root = parse(out)
    assert_self_contained(root, out)
    runs = table_rows(root.find("table", id="runs-table"))
    assert [r.attrs["data-run"] for r in runs] == ["seed0", "seed5"]
    heads = [th.attrs["data-column"] for th in root.find("table", id="runs-table").find("thead").iter("th")]
    d_loss = heads.index("d_loss")
    finals = [json.loads(cells_of(r)[d_loss].attrs["data-value"]) for r in runs]
    with open(a / "losses.csv", newline="") as handle:
        assert finals == [float(list(csv.DictReader(handle))[-1]["d_loss"]), 1.2345]

    settings = {r.attrs["data-key"]: r for table_id in ("settings-table", "settings-same-table")
                for r in table_rows(root.find("table", id=table_id))}
    assert settings["train.seed"].attrs["data-differs"] == "true"
    assert [td.text for td in settings["train.seed"].iter("td")] == ["0", "5"]
    assert settings["train.model"].attrs["data-differs"] == "false"

    images = check_images(root)
    losses = list(root.find("section", id="losses").iter("img"))  # each run on its own axes
    assert [img.parent.attrs["href"] for img in losses] == ["seed0/losses.csv", "seed5/losses.csv"]
    assert "run seed0" in losses[0].attrs["alt"] and "run seed5" in losses[1].attrs["alt"]
    samples = list(root.find("section", id="samples").iter("img"))
    assert [i.attrs["data-source"] for i in samples] == ["seed0/samples/step_00000020.png",
                                                         "seed5/samples/step_00000020.png"]
    assert len(images) == 4

    metric = table_rows(root.find("table", id="metrics-table"))
    assert len(metric) == 1 and metric[0].attrs["data-metric"] == "fid"
    cells = [c for c in cells_of(metric[0]) if c.tag == "td"]
    assert json.loads(cells[1].attrs["data-fields"]) == {"": 3.25} and cells[2].text == "n/a"
    assert "seed5: no metrics yet" in notes_text(root)


def test_several_runs_in_different_folders_need_out(trained, tmp_path):
    a, b = tmp_path / "x" / "run", tmp_path / "y" / "run"
    shutil.copytree(trained, a)
    shutil.copytree(trained, b)
    with pytest.raises(ValueError, match="--out"):
        write_report([a, b])
    out = write_report([a, b], out=tmp_path / "both.html")
    root = parse(out)
    # same folder names: the page tells them apart by their parent folder
    assert [r.attrs["data-run"] for r in table_rows(root.find("table", id="runs-table"))] == ["x/run", "y/run"]


def test_settings_that_differ_come_first_and_the_rest_fold_away(trained, tmp_path):
    a, b = tmp_path / "runs" / "a", tmp_path / "runs" / "b"
    shutil.copytree(trained, a)
    shutil.copytree(trained, b)
    config = yaml.safe_load((b / "config.yaml").read_text())
    lr_g = config["train"]["lr_g"]
    config["train"]["seed"], config["train"]["lr_g"] = 5, 0.5
    (b / "config.yaml").write_text(yaml.safe_dump(config))
    root = parse(write_report([a, b]))

    order = [s.attrs["id"] for s in root.find("main").children if s.tag == "section"]
    assert order.index("settings") < order.index("losses")
    section = root.find("section", id="settings")
    differing, shared = section.iter("table")
    assert (differing.attrs["id"], shared.attrs["id"]) == ("settings-table", "settings-same-table")
    assert [r.attrs["data-key"] for r in table_rows(differing)] == ["train.lr_g", "train.seed"]
    assert [[json.loads(td.attrs["data-value"]) for td in r.iter("td")]
            for r in table_rows(differing)] == [[lr_g, 0.5], [0, 5]]
    same = table_rows(shared)
    assert len(same) > 30 and all(r.attrs["data-differs"] == "false" for r in same)
    # the shared settings are folded away (closed), the differing ones are not
    assert differing.ancestor("details") is None
    folded = shared.ancestor("details")
    assert folded is not None and "open" not in folded.attrs
    assert folded.find("summary").text == f"{len(same)} settings the runs share"
    assert section.find("p").text.startswith(f"2 of {len(same) + 2} settings differ")
    assert page_data(root)["settings"]["differ"] == ["train.lr_g", "train.seed"]


def test_samples_are_shown_large_enough_to_judge(trained, tmp_path):
    css_of = lambda root: " ".join(s.text for s in root.iter("style"))  # noqa: E731
    run = tmp_path / "one"
    shutil.copytree(trained, run)
    root = parse(write_report(run))
    block = next(root.find("section", id="samples").iter("div"))
    assert "large" in block.attrs["class"].split() and len(list(block.iter("img"))) == 2
    found = re.search(r"\.figs\.large figure\.fig img \{ min-width: min\((\d+)px, 100%\); \}", css_of(root))
    assert found and int(found.group(1)) >= 500
    for img in block.iter("img"):  # embedded whole, not as a thumbnail that CSS would blow up
        assert img.attrs["data-width"] == img.attrs["data-original-width"]

    other = tmp_path / "two"
    shutil.copytree(trained, other)
    root = parse(write_report([run, other]))
    block = next(root.find("section", id="samples").iter("div"))
    assert block.attrs["class"].split() == ["figs", "row", "large"]
    found = re.search(r"\.figs\.row\.large figure\.fig img \{ min-width: (\d+)px;", css_of(root))
    assert found and int(found.group(1)) >= 500
