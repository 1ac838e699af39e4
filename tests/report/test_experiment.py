"""Experiment pages (gankit.report.experiment): tables, figures within the size budget, escaping."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image
from report.page_reading import (assert_self_contained, cells_of, check_images, notes_text, page_data, parse,
                                 table_rows)

from gankit.report import Figure, Section, Table, write_experiment_report


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
