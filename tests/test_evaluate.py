"""`gankit eval` end to end on tiny runs: metrics.json with protocols, pictures, feature
extractors, and one-line errors for bad input."""
import json
import time

import numpy as np
import pytest
import torch
import yaml

from gankit.cli import main
from gankit.evaluate import evaluate_run
from gankit.metrics.registry import REQUIRED_PROTOCOL
from gankit.training import train_run
from support import tiny

IMAGE = dict(width=8, batch_size=16, log_every=1, sample_every=1000)


@pytest.fixture(scope="module", autouse=True)
def quick_judge(tmp_path_factory):
    """Judges are trained for one epoch and cached in a folder of this module's own; BLAS runs
    on one thread (on a loaded 2-core machine two OpenBLAS threads made eigh 10x slower)."""
    from threadpoolctl import threadpool_limits

    with pytest.MonkeyPatch.context() as mp, threadpool_limits(1):
        mp.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("judge-cache")))
        mp.setattr("gankit.classifier._default_epochs", lambda n: 1)
        yield


@pytest.fixture(scope="module")
def ring8_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring8") / "run"
    train_run(tiny(steps=20), out)
    return out


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    train_run(tiny(data="digits", conditional=True, steps=3, **IMAGE), out)
    return out


def summary(run):
    return json.loads((run / "metrics.json").read_text())["results"]


def error_of(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err          # one line, naming the problem
    return err[0]


def check_protocols(results, n_real, n_fake, features):
    for name, entry in results.items():
        protocol = entry["protocol"]
        assert all(key in protocol for key in REQUIRED_PROTOCOL), (name, protocol)
        assert protocol["n_real"] == n_real and protocol["n_fake"] == n_fake, (name, protocol)
        assert features in protocol["features"], (name, protocol)
        assert "held-out split" in protocol["real_split"]


def test_ring8_metrics_json_matches_the_function_and_has_protocols(ring8_run, tmp_path):
    returned = evaluate_run(ring8_run, n=300)
    assert set(returned) == {"modes", "prdc", "c2st", "diversity"}
    written = summary(ring8_run)
    # exactly the returned numbers (floats survive JSON unchanged)
    assert {k: written[k]["value"] for k in returned} == json.loads(json.dumps(returned))
    check_protocols(written, n_real=2500, n_fake=300, features="identity")
    assert written["modes"]["protocol"]["n_modes"] == 8 and written["prdc"]["protocol"]["k"] == 5
    assert (ring8_run / "eval" / "scatter_kde.png").stat().st_size > 5000

    # the command gives the same numbers (same seed), and --out holds the same file
    assert main(["eval", str(ring8_run), "-n", "300", "--out", str(tmp_path / "m.json")]) == 0
    again = summary(ring8_run)
    assert {k: again[k]["value"] for k in returned} == {k: written[k]["value"] for k in returned}
    copied = json.loads((tmp_path / "m.json").read_text())["results"]
    assert copied == again
    history = (ring8_run / "metrics.jsonl").read_text().splitlines()
    assert len(history) == 8            # every result appended, twice


def test_ppl_on_request_is_the_modules_ppl_in_data_units(ring8_run, tmp_path):
    import shutil

    from gankit.metrics import ppl_of_module
    from gankit.training import load_run

    run = tmp_path / "run"                 # a copy: the other tests check every protocol of ring8_run
    shutil.copytree(ring8_run, run)
    returned = evaluate_run(run, metrics=["ppl"], n=50, seed=3, pictures=False)
    expected = ppl_of_module(load_run(run)[0], 50, rng=torch.Generator().manual_seed(3))
    assert returned["ppl"] == {k: expected[k] for k in ("ppl", "ppl_std", "n_kept")}
    entry = summary(run)["ppl"]
    assert entry["value"]["ppl"] == expected["ppl"] > 0     # floats survive JSON unchanged
    assert entry["protocol"] == {
        "n_real": 0, "n_fake": 100, "n_paths": 50, "features": "raw (data units)",
        "space": "raw (data units)", "real_split": "none (generated samples only)", "resize": None,
        "epsilon": 1e-4, "percentiles": [1.0, 99.0], "sampling": "z-slerp", "seed": 3}


def test_conditional_digits_with_classifier_features(digits_run, capsys):
    assert main(["eval", str(digits_run), "--metrics", "fid,kid,prdc,c2st,classes", "-n", "200"]) == 0
    assert "wrote" in capsys.readouterr().out
    results = summary(digits_run)
    assert {"fid", "kid", "prdc", "c2st", "classes"} <= set(results)
    n_real = yaml.safe_load((digits_run / "config.yaml").read_text())["held_out"]["n"]
    check_protocols({k: results[k] for k in ("fid", "kid", "prdc", "c2st", "classes")},
                    n_real=n_real, n_fake=200, features="gankit judge cnn")
    assert results["fid"]["value"] >= 0
    assert set(results["kid"]["value"]) >= {"mean", "std"}
    assert set(results["prdc"]["value"]) == {"precision", "recall", "density", "coverage"}
    assert 0 <= results["c2st"]["value"]["ci_low"] <= results["c2st"]["value"]["accuracy"] <= 1
    classes = results["classes"]["value"]
    assert sum(classes["counts"]) == 200 and len(classes["proportions"]) == 10
    assert 0 <= classes["normalised_entropy"] <= 1
    per_class = classes["per_class_accuracy"]
    assert len(per_class["per_class"]) == 10 and per_class["counts"] == [20] * 10
    assert "held-out accuracy" in results["classes"]["protocol"]["classifier"]
    for picture in ("class_distribution.png", "tsne.png"):
        assert (digits_run / "eval" / picture).stat().st_size > 5000


def test_raw_features(digits_run):
    returned = evaluate_run(digits_run, features="raw", n=120)
    # no logits in raw pixels, so no Inception Score; the classes are still read by the judge
    assert "is" not in returned and {"fid", "prdc", "classes"} <= set(returned)
    results = summary(digits_run)
    check_protocols({k: results[k] for k in ("fid", "prdc", "c2st", "diversity")},
                    n_real=results["fid"]["protocol"]["n_real"], n_fake=120, features="raw values")
    assert results["fid"]["value"] == pytest.approx(returned["fid"])


def test_inception_features_from_a_weights_file(tmp_path):
    """The whole path with a weights file of the standard layout (random weights): 4 real and 4
    generated images, each through the full 299x299 network (about 0.5 s an image here)."""
    from sklearn.datasets import load_digits

    from gankit.nets.inception import FIDInceptionV3

    net = FIDInceptionV3().eval()
    start = time.perf_counter()
    with torch.no_grad():
        net(torch.zeros(1, 1, 32, 32))
    if 12 * (time.perf_counter() - start) > 30:   # 12 passes below
        pytest.skip("one Inception pass takes over 2.5 s on this machine now")
    torch.save(net.state_dict(), tmp_path / "inception.pth")

    digits = load_digits()
    keep = np.concatenate([np.flatnonzero(digits.target == c)[:10] for c in (0, 1)])
    np.savez(tmp_path / "few.npz", x=(digits.images[keep] * 15).astype(np.uint8),
             y=digits.target[keep])
    run = tmp_path / "run"
    train_run(tiny(data=str(tmp_path / "few.npz"), steps=2, **{**IMAGE, "batch_size": 8}), run)
    assert main(["eval", str(run), "--features", f"inception:{tmp_path / 'inception.pth'}",
                 "--metrics", "fid,kid,is", "-n", "4"]) == 0
    results = summary(run)
    check_protocols(results, n_real=4, n_fake=4, features="Inception-v3 pool3")
    assert results["fid"]["protocol"]["resize"] == "bilinear to 299x299"
    assert results["fid"]["value"] >= 0 and np.isfinite(results["fid"]["value"])
    assert results["is"]["value"]["mean"] >= 1 - 1e-9      # from the 1008-way logits
    assert results["is"]["protocol"]["splits"] == 4


def test_arrays_run_cannot_be_evaluated(tmp_path, capsys):
    import gankit

    gan = gankit.GAN(steps=2, hidden=16, batch_size=32, out=tmp_path / "arrays", random_state=0)
    gan.fit(np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32))
    assert main(["eval", str(gan.run_dir_)]) == 2
    assert "fitted from arrays" in error_of(capsys)


@pytest.mark.parametrize("which, args, message", [
    ("ring8", ["--metrics", "fid,bogus"], "unknown metric(s) ['bogus']"),
    ("ring8", ["-n", "1"], "-n must be at least 2"),
    ("ring8", ["--features", "inception:nowhere.pth"], "Inception features are for images"),
    ("digits", ["--metrics", "modes"], "mode metrics need a built-in toy mixture"),
    ("digits", ["--features", "sift"], "unknown features 'sift'"),
    ("digits", ["--features", "raw", "--metrics", "is"], "Inception Score needs a classifier's logits"),
    ("digits", ["--features", "inception:nowhere.pth"], "nowhere.pth not found"),
    ("empty", [], "is not a gankit run directory"),
    ("missing", [], "does not exist"),
])
def test_bad_input_exits_2_with_one_line(which, args, message, request, tmp_path, capsys):
    run = {"ring8": lambda: request.getfixturevalue("ring8_run"),
           "digits": lambda: request.getfixturevalue("digits_run"),
           "empty": lambda: tmp_path, "missing": lambda: tmp_path / "nothing"}[which]()
    assert main(["eval", str(run), *args]) == 2
    assert message in error_of(capsys)
