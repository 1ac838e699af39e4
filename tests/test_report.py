"""`gankit report`: the HTML page of a run, of runs side by side, and of an experiment.

One tiny run is trained once per module; each test works on a copy of it, changed to the case
it checks (still running, no metrics, another seed...). Pages are parsed with the standard
library's HTML parser into a small tree, so the checks read the page as a program would.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import tiny

from gankit.cli import main
from gankit.metrics.registry import make_protocol, record
from gankit.report import Figure, Section, Table, render_markdown, write_experiment_report, write_report
from gankit.training import train_run
from gankit.training.checkpoint import list_checkpoints

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRS = {"src", "href", "action", "formaction", "poster", "data", "srcset", "background", "cite",
             "xlink:href", "ping", "manifest"}


# ---------------------------------------------------------------------------------------------
# A small DOM from html.parser
# ---------------------------------------------------------------------------------------------
class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        parts = list(self.text_parts)
        for child in self.children:
            parts.append(child.text)
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def iter(self, tag=None):
        for child in self.children:
            if tag is None or child.tag == tag:
                yield child
            yield from child.iter(tag)

    def find(self, tag=None, **attrs):
        for node in self.iter(tag):
            if all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                return node
        return None

    def ancestor(self, tag):
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class TreeBuilder(HTMLParser):
    """Builds a tree, and records any end tag that does not close the open element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.errors: list[str] = []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.current.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.current.tag}>")
            return
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.text_parts.append(data)


def parse(path: Path) -> Node:
    builder = TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    assert builder.doctype and builder.doctype.lower() == "doctype html"
    assert builder.errors == []
    assert builder.current is builder.root, f"<{builder.current.tag}> left open"
    return builder.root


def page_data(root: Node) -> dict:
    block = root.find("script", id="gankit-report-data")
    assert block is not None and block.attrs.get("type") == "application/json"
    return json.loads(block.text)


def table_rows(table: Node) -> list[Node]:
    return list(table.find("tbody").iter("tr"))


def cells_of(row: Node) -> list[Node]:
    return [c for c in row.children if c.tag in ("th", "td")]


def notes_text(root: Node) -> str:
    return " | ".join(n.text for n in root.iter() if "note" in n.attrs.get("class", "").split())


def assert_self_contained(root: Node, html_path: Path) -> None:
    """Nothing refers to an outside address; every relative link names a file beside the page."""
    ids = {n.attrs["id"] for n in root.iter() if "id" in n.attrs}
    for node in root.iter():
        assert node.tag not in ("link", "iframe", "object", "embed", "base", "frame"), node.tag
        if node.tag == "script":
            assert "src" not in node.attrs
        for name, value in node.attrs.items():
            if name == "style" or name.startswith("on"):
                raise AssertionError(f"inline {name} attribute on <{node.tag}>")
            if name not in URL_ATTRS:
                continue
            value = value or ""
            if name == "src":
                assert node.tag == "img" and value.startswith("data:image/"), value[:40]
                continue
            assert not value.startswith("//") and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value), value
            if value.startswith("#"):
                assert value[1:] in ids, f"anchor {value} has no target"
            else:
                target = (html_path.parent / value.split("#")[0]).resolve()
                assert target.exists(), f"link {value} names no file"
    for style in root.iter("style"):
        css = style.text.lower()
        assert "url(" not in css and "@import" not in css and "http" not in css


def check_images(root: Node) -> list[Node]:
    """Every embedded picture decodes to the size its attributes state; returns the <img>s."""
    images = list(root.iter("img"))
    for img in images:
        header, _, payload = img.attrs["src"].partition(",")
        assert header.startswith("data:image/") and header.endswith(";base64")
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as picture:
            picture.load()
            size = picture.size
            frames = getattr(picture, "n_frames", 1)
        assert size == (int(img.attrs["data-width"]), int(img.attrs["data-height"]))
        assert size == (int(img.attrs["width"]), int(img.attrs["height"]))
        assert frames == int(img.attrs["data-frames"])
        assert img.attrs.get("alt", "").strip(), "picture without alt text"
        figure = img.ancestor("figure")
        assert figure is not None and figure.find("figcaption") is not None
        assert img.parent.tag == "a" and img.parent.attrs["href"]  # linked to its file
    return images


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "tiny"
    train_run(tiny(steps=20, log_every=5, sample_every=10, checkpoint_every=10, n_samples=1000), out,
              command=["gankit", "train", "--data", "ring8"])
    return out


@pytest.fixture
def run(trained, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def set_status(run_dir: Path, **values) -> None:
    path = run_dir / "status.json"
    status = json.loads(path.read_text())
    status.update(values)
    path.write_text(json.dumps(status))


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------
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
    sources = sorted(img.attrs["data-source"] for img in images)
    assert sources == ["losses.png", "samples/step_00000020.png", "training.gif"]
    gif = next(img for img in images if img.attrs["data-source"] == "training.gif")
    assert int(gif.attrs["data-frames"]) == 2  # snapshots at steps 10 and 20

    config = json.loads(json.dumps(__import__("yaml").safe_load((run / "config.yaml").read_text())))
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


def test_metrics_table_holds_exactly_metrics_json(run):
    base = make_protocol(2500, 2500, "raw", "held-out", None, seed=0)
    record(run, "modes", {"modes": 7, "hq": 0.98213, "reverse_kl": 0.1234567891234,
                          "counts": [300, 310, 0, 290, 305, 295, 300, 280], "n": 2500}, base)
    record(run, "kid", {"mean": 0.0123, "std": 0.0031, "subsets": 100, "subset_size": 1000},
           make_protocol(2000, 2000, "inception-v3 pool3", "test", "bilinear 299"))
    record(run, "fid", 12.3456789, base)
    record(run, "c2st", {"accuracy": 0.55, "ci_low": 0.52, "ci_high": 0.58, "n_test": 2500,
                         "p_value": float("nan"), "classifier": "knn"}, base)
    record(run, "fid", 11.0, base)  # a re-measurement replaces the value in metrics.json
    summary = json.loads((run / "metrics.json").read_text())["results"]

    root = parse(write_report(run))
    table = root.find("table", id="metrics-table")
    assert table is not None and "metrics.json does not exist" not in notes_text(root)
    rebuilt: dict[str, dict] = {}
    protocols: dict[str, dict] = {}
    for row in table_rows(table):
        name = row.attrs["data-metric"]
        cell = next(td for td in row.iter("td") if "data-fields" in td.attrs)
        rebuilt.setdefault(name, {}).update(json.loads(cell.attrs["data-fields"]))
        protocols[name] = json.loads(row.attrs["data-protocol"])
    values = {name: (fields[""] if set(fields) == {""} else unflatten(fields)) for name, fields in rebuilt.items()}
    assert values == {name: entry["value"] for name, entry in summary.items()}
    assert protocols == {name: entry["protocol"] for name, entry in summary.items()}
    assert values["fid"] == 11.0

    # people read units and spread; the protocol sits beside the numbers
    text = {(r.attrs["data-metric"], r.attrs["data-key"]): r for r in table_rows(table)}
    assert "98.2%" in text[("modes", "hq")].text
    assert "0.0123 ± 0.0031" in text[("kid", "mean ± std")].text
    assert "95% interval 52.0% to 58.0%" in text[("c2st", "accuracy")].text
    assert "nats" in text[("modes", "reverse_kl")].text
    kid_protocol = text[("kid", "mean ± std")].find("dl")
    assert "inception-v3 pool3" in kid_protocol.text and "bilinear 299" in kid_protocol.text


def unflatten(fields: dict) -> dict:
    out: dict = {}
    for path, value in fields.items():
        node = out
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


@pytest.mark.parametrize("state", ["running", "stopped", "diverged"])
def test_run_stopped_mid_training_gets_a_page_with_notes(run, state):
    set_status(run, state=state, step=10)
    (run / "training.gif").unlink()
    (run / "losses.png").unlink()
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


def test_non_run_directory_exits_2(tmp_path, capsys, run):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a gankit run directory" in err[0] and "config.yaml" in err[0]
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    # one bad directory among good ones: exit 2, and nothing is written
    assert main(["report", str(run), str(tmp_path / "empty"), "--out", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.yaml").write_text("just a string\n")
    assert main(["report", str(tmp_path / "bad")]) == 2
    assert "not a gankit run config" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Several runs
# ---------------------------------------------------------------------------------------------
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

    settings = {r.attrs["data-key"]: r for r in table_rows(root.find("table", id="settings-table"))}
    assert settings["train.seed"].attrs["data-differs"] == "true"
    assert [td.text for td in settings["train.seed"].iter("td")][1:] == ["0", "5"]
    assert settings["train.model"].attrs["data-differs"] == "false"

    images = check_images(root)
    overlay = list(root.find("section", id="losses").iter("img"))
    assert len(overlay) == 1 and "2 runs" in overlay[0].attrs["alt"]
    samples = list(root.find("section", id="samples").iter("img"))
    assert [i.attrs["data-source"] for i in samples] == ["seed0/samples/step_00000020.png",
                                                         "seed5/samples/step_00000020.png"]
    assert len(images) == 3

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


# ---------------------------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------------------------
def test_experiment_report_tables_figures_and_size(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    out_dir = tmp_path / "exp"
    out_dir.mkdir()
    # a picture too big to embed as it is: 2100x1500, smooth colours with sparse noise
    yy, xx = np.mgrid[0:1500, 0:2100]
    big = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    big[::9, ::7] = rng.integers(0, 255, size=big[::9, ::7].shape, dtype=np.uint8)
    Image.fromarray(big).save(out_dir / "grid.png", compress_level=1)
    Image.fromarray(big[:300, :400]).save(out_dir / "small.png")
    frame = pd.DataFrame({"data": ["ring8", "ring8"], "model": ["GAN", "PacGAN2"],
                          "modes_mean": [6.3, 7.9], "modes_std": [0.48, 0.1], "hq": [0.982, 0.956]})
    started = time.perf_counter()
    path = write_experiment_report(out_dir, "Mode collapse <script>alert(1)</script>", [
        Section("Results", "Mean ± std over **3** seeds; published in [PacGAN](https://arxiv.org/abs/1712.04086)."
                "\n\n- see [the grid](grid.png)",
                tables=[Table(frame, caption="Modes captured", units={"hq": "%"}, formats={"hq": ".1%"}),
                        [{"run": "a", "time": 1.5}, {"run": "b", "time": 2.25}]],
                figures=[("grid.png", "Every run's samples"), Figure(out_dir / "small.png", "A detail", alt="detail"),
                         out_dir / "missing.png"],
                notes=["one seed diverged"]),
        ("Second", "only text"),
    ])
    seconds = time.perf_counter() - started
    print(f"experiment page written in {seconds:.2f} s")
    assert path == out_dir / "report.html" and seconds < 5
    assert path.stat().st_size < 5_000_000
    root = parse(path)
    assert_self_contained(root, path)
    assert len(list(root.iter("script"))) == 2  # the JSON block and the table sorter, nothing else
    assert "<script>alert(1)</script>" in root.find("h1").text  # shown as text, not run
    assert "PacGAN (https://arxiv.org/abs/1712.04086)" in root.find("section", id="results").text

    images = check_images(root)
    grid = next(i for i in images if i.attrs["data-source"] == "grid.png")
    assert max(int(grid.attrs["data-width"]), int(grid.attrs["data-height"])) <= 1400
    assert (int(grid.attrs["data-original-width"]), int(grid.attrs["data-original-height"])) == (2100, 1500)
    small = next(i for i in images if i.attrs["data-source"] == "small.png")
    assert small.attrs["alt"] == "detail" and small.attrs["width"] == "400"
    assert "missing.png is missing" in notes_text(root) and "one seed diverged" in notes_text(root)

    tables = list(root.find("section", id="results").iter("table"))
    head = [th.text for th in tables[0].find("thead").iter("th")]
    assert head == ["data", "model", "modes (mean ± std)", "hq [%]"]
    first = cells_of(table_rows(tables[0])[0])
    assert first[0].tag == "th" and first[0].attrs["scope"] == "row"
    assert first[2].text == "6.3 ± 0.48" and json.loads(first[2].attrs["data-spread"]) == 0.48
    assert first[3].text == "98.2%" and json.loads(first[3].attrs["data-value"]) == 0.982
    assert [json.loads(c.attrs["data-value"]) for r in table_rows(tables[1])
            for c in r.children if c.tag == "td"] == [1.5, 2.25]
    data = page_data(root)
    assert data["sections"][0]["tables"][0]["records"][1]["modes_std"] == 0.1


def test_markdown_escapes_and_keeps_links_local():
    out = render_markdown("# Title\n\nA <b>tag</b> & **bold** and `x<y`\n\n- [local](a/b.png)\n- [far](http://e.x)")
    assert "&lt;b&gt;tag&lt;/b&gt; &amp; <strong>bold</strong>" in out
    assert "<code>x&lt;y</code>" in out and "<h3>Title</h3>" in out
    assert '<a href="a/b.png">local</a>' in out and 'href="http' not in out
