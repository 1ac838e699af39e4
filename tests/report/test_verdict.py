"""The verdict at the top of a page (gankit.report.verdict): one line per run with its state and
headline metrics, each beside the protocol it was measured under."""
from __future__ import annotations

import json
import shutil

from report.page_reading import notes_text, parse

from gankit.metrics.registry import make_protocol, record
from gankit.report import write_report
from gankit.report.verdict import headline

POINTS = make_protocol(2500, 2500, "raw", "held-out", None, seed=0, n_modes=8)


def verdict_lines(root) -> dict:
    """{run: {(metric, field): (text, exact value)}} from the page's verdict."""
    block = root.find("section", id="verdict")
    assert block is not None
    lines = {}
    for li in block.iter("li"):
        found = {}
        for group in li.iter("span"):
            if "group" not in group.attrs.get("class", "").split():
                continue
            for m in group.iter("span"):
                if "metric" in m.attrs.get("class", "").split():
                    key = (group.attrs["data-metric"], m.attrs["data-field"])
                    found[key] = (m.text, json.loads(m.attrs["data-value"]))
        lines[li.attrs["data-run"]] = found
    return lines


def test_run_page_opens_with_its_headline_metrics(run):
    record(run, "modes", {"modes": 7, "hq": 0.98213, "reverse_kl": 0.1234567}, POINTS)
    record(run, "mode_fit", {"spread": {"mean": 0.93, "worst": 0.41, "worst_mode": 3},
                             "offset": {"mean": 0.12, "worst": 0.5, "worst_mode": 2}, "measured": 7,
                             "per_mode": {"n": [9] * 8, "spread": [[1.0, 0.9]] * 8, "offset": [0.1] * 8}}, POINTS)
    record(run, "prdc", {"precision": 0.81, "recall": 0.6, "density": 0.9, "coverage": 0.7}, POINTS)
    record(run, "c2st", {"accuracy": 0.55, "ci_low": 0.52, "ci_high": 0.58, "n_test": 2500}, POINTS)
    record(run, "fid", 11.0, make_protocol(2000, 2000, "inception-v3 pool3", "test", "bilinear 299"))
    root = parse(write_report(run))

    block = root.find("section", id="verdict")
    header = root.find("header")
    assert block.ancestor("header") is header  # before any section of the page
    line = verdict_lines(root)["run"]
    assert line[("modes", "modes")] == ("7 of 8 modes", 7)
    assert line[("modes", "hq")] == ("98.2% high quality", 0.98213)
    assert line[("modes", "reverse_kl")] == ("reverse KL 0.1235 nats", 0.1234567)
    assert line[("mode_fit", "spread.mean")] == ("spread ratio 0.93 (worst 0.41)", 0.93)
    assert line[("mode_fit", "offset.mean")] == ("mean offset 0.12 std (worst 0.5 std)", 0.12)
    assert line[("prdc", "precision")][0] == "precision 81.0%"
    assert line[("prdc", "recall")][0] == "recall 60.0%"
    assert line[("c2st", "accuracy")][0] == "C2ST accuracy 55.0%"
    assert line[("fid", "")] == ("FID 11", 11.0)
    # bookkeeping (sample counts, the interval, per-mode lists) stays in the metrics table
    assert ("c2st", "n_test") not in line and ("prdc", "density") not in line
    # the metrics were measured two ways: each group names its own protocol
    li = block.find("li")
    assert "2500 generated vs 2500 real samples, raw features" in li.text
    assert "2000 generated vs 2000 real samples, inception-v3 pool3 features" in li.text
    assert "finished: step 20 of 20" in li.text
    assert "no metrics yet" not in notes_text(root) and "no metrics yet" not in block.text


def test_run_without_metrics_says_how_to_measure_it(run):
    root = parse(write_report(run))
    li = root.find("section", id="verdict").find("li")
    assert verdict_lines(root) == {"run": {}}
    assert "no metrics yet" in li.text and li.find("code").text == f"gankit eval {run}"


def test_comparison_page_opens_with_one_line_per_run(trained, tmp_path):
    runs = [tmp_path / name for name in ("b-run", "a-run")]
    for path, captured in zip(runs, (5, 8)):
        shutil.copytree(trained, path)
        record(path, "modes", {"modes": captured, "hq": 0.9, "reverse_kl": 0.2}, POINTS)
    record(runs[0], "kid", {"mean": 0.0123, "std": 0.0031, "subsets": 100, "subset_size": 1000}, POINTS)
    record(runs[1], "kid", {"mean": 0.02, "std": 0.001, "subsets": 100, "subset_size": 500},
           make_protocol(500, 500, "raw", "held-out", None))
    root = parse(write_report(runs, out=tmp_path / "both.html"))

    lines = verdict_lines(root)
    assert list(lines) == ["b-run", "a-run"]  # in the order given
    assert lines["b-run"][("modes", "modes")] == ("5 of 8 modes", 5)
    assert lines["a-run"][("modes", "modes")] == ("8 of 8 modes", 8)
    assert lines["b-run"][("kid", "mean")] == ("KID 0.0123 ± 0.0031", 0.0123)
    lines_of_page = root.find("section", id="verdict").iter("li")
    groups = {(li.attrs["data-run"], g.attrs["data-metric"]): g for li in lines_of_page
              for g in li.iter("span") if "group" in g.attrs.get("class", "").split()}
    # KID was measured under different protocols: flagged; the mode metrics were not
    assert "differs" in groups[("a-run", "kid")].attrs["class"].split()
    assert "not comparable" in groups[("a-run", "kid")].text and "not comparable" in groups[("b-run", "kid")].text
    assert "differs" not in groups[("a-run", "modes")].attrs["class"].split()
    assert "not comparable" not in groups[("a-run", "modes")].text


def test_metric_without_a_rule_shows_its_numbers():
    assert [i["text"] for i in headline("sharpness", 0.25, None)] == ["sharpness 0.25"]
    shown = headline("gap", {"n": 100, "left": 0.5, "right": {"mean": 2.0, "std": 0.1}, "tags": ["x"]}, None)
    assert [(i["field"], i["text"]) for i in shown] == [("left", "gap left 0.5"), ("right.mean", "gap right 2")]
