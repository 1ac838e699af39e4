"""record and metrics.json / metrics.jsonl: history kept, latest value per metric, damaged
summaries rebuilt, and a protocol required for every number."""
import json

import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics.recording import REQUIRED_PROTOCOL, make_protocol, ppl_protocol, record
from gankit.metrics.registry import METRICS, get_metric


def test_record_appends_history_and_keeps_latest(tmp_path):
    proto = make_protocol(n_real=1000, n_fake=1000, features="classifier:abc123", real_split="held-out",
                          resize=None, seed=0)
    record(tmp_path, "fid", np.float64(12.5), proto)
    record(tmp_path, "prdc", {"precision": np.float32(0.5), "recall": float("nan")}, proto)
    summary = record(tmp_path, "fid", 11.0, proto)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["fid", "prdc", "fid"]
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == summary
    assert on_disk["results"]["fid"]["value"] == 11.0
    assert on_disk["results"]["prdc"]["value"] == {"precision": 0.5, "recall": None}
    assert on_disk["results"]["fid"]["protocol"]["features"] == "classifier:abc123"
    assert "updated" in on_disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "metrics.jsonl"]  # no temp files


def test_damaged_summary_is_rebuilt(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    proto = make_protocol(10, 10, "raw", "held-out", None)
    record(tmp_path, "kid", {"mean": 0.1, "std": 0.01}, proto)
    assert json.loads((tmp_path / "metrics.json").read_text())["results"]["kid"]["value"]["mean"] == 0.1


def test_protocol_must_say_how_the_number_was_made(tmp_path):
    with pytest.raises(GankitError, match="lacks features, real_split, resize"):
        record(tmp_path, "fid", 1.0, {"n_real": 10, "n_fake": 10})
    with pytest.raises(GankitError, match="does not exist"):
        record(tmp_path / "nope", "fid", 1.0, make_protocol(1, 1, "raw", "test", None))
    with pytest.raises(GankitError, match="cannot record"):
        record(tmp_path, "fid", object(), make_protocol(1, 1, "raw", "test", None))


def test_ppl_is_recorded_with_its_paths_epsilon_and_space(tmp_path):
    result = get_metric("ppl").function(lambda z, y: 2 * z, 3, n_samples=20, epsilon=1e-3, rng=0)
    record(tmp_path, "ppl", {"ppl": result["ppl"], "ppl_std": result["ppl_std"]},
           ppl_protocol(result, seed=0))
    protocol = json.loads((tmp_path / "metrics.json").read_text())["results"]["ppl"]["protocol"]
    assert protocol == {"n_real": 0, "n_fake": 40, "features": "raw", "resize": None,
                        "real_split": "none (generated samples only)", "n_paths": 20, "epsilon": 1e-3,
                        "space": "raw", "percentiles": [1.0, 99.0], "sampling": "z-slerp", "seed": 0}
    assert set(protocol) == set(REQUIRED_PROTOCOL) | {"seed"} | set(METRICS["ppl"].protocol_fields)
