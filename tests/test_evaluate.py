"""`gankit eval` end to end on tiny runs of every data kind: the default metric sets,
metrics.json with protocols, pictures, feature extractors, progress bars, what is printed, and
one-line errors for bad input."""
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest
import torch
import yaml

from gankit.cli import main
from gankit.evaluate import Progress, evaluate_run, result_lines, run_evaluation
from gankit.metrics.registry import METRICS, REQUIRED_PROTOCOL, _jsonable
from gankit.training import train_run
from support import REPO, tiny

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


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("iris") / "run"
    train_run(tiny(data="iris", steps=5), out)
    return out


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    values = np.random.default_rng(0).normal(size=(300, 3)).round(4)
    np.savetxt(folder / "numbers.csv", values, delimiter=",", header="a,b,c", comments="")
    train_run(tiny(data=str(folder / "numbers.csv"), steps=5), folder / "run")
    return folder / "run"


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
    assert list(returned) == ["modes", "mode_fit", "prdc", "c2st"]
    written = summary(ring8_run)
    # exactly the returned numbers (floats survive JSON unchanged; NaN is written as null)
    assert {k: written[k]["value"] for k in returned} == _jsonable(returned)
    check_protocols(written, n_real=2500, n_fake=300, features="identity")
    assert written["modes"]["protocol"]["n_modes"] == 8 and written["prdc"]["protocol"]["k"] == 5
    assert written["mode_fit"]["protocol"]["space"] == "data units"
    assert set(returned["mode_fit"]) >= {"spread", "offset", "measured", "per_mode"}
    # the real-vs-real floors: the held-out split against 300 fresh draws of the mixture
    for name in ("prdc", "c2st"):
        assert "real vs real" in written[name]["protocol"]["floor"]
        assert "300 fresh draws of ring8" in written[name]["protocol"]["floor"]
    assert returned["c2st"]["floor"]["accuracy"] < 0.62       # 150 test points of each side
    # the mode fit of a real sample as large: spread near 1, whatever the model did
    assert "300 fresh draws of ring8" in written["mode_fit"]["protocol"]["floor"]
    assert abs(returned["mode_fit"]["floor"]["spread"]["mean"] - 1) < 0.15
    assert returned["prdc"]["floor"]["precision"] > 0.9
    assert (ring8_run / "eval" / "scatter_kde.png").stat().st_size > 5000

    # the command gives the same numbers (same seed), and --out holds the same file
    assert main(["eval", str(ring8_run), "-n", "300", "--out", str(tmp_path / "m.json")]) == 0
    again = summary(ring8_run)
    assert {k: again[k]["value"] for k in returned} == {k: written[k]["value"] for k in returned}
    copied = json.loads((tmp_path / "m.json").read_text())["results"]
    assert copied == again
    history = (ring8_run / "metrics.jsonl").read_text().splitlines()
    assert len(history) == 8            # every result appended, twice


def test_printed_results_say_which_way_is_better_at_sensible_precision(ring8_run, capsys):
    assert main(["eval", str(ring8_run), "-n", "300", "--metrics", "prdc,c2st,kid,fid"]) == 0
    out, err = capsys.readouterr()
    assert "%|" not in err and "features of" not in err     # stderr is not a terminal here
    assert re.search(r"^fid: \S+ \(lower is better\)$", out, re.M)
    assert re.search(r"^kid mean: \S+ ± \S+ \(x1000, unitless; lower is better\)$", out, re.M)
    assert re.search(r"^c2st accuracy: \S+ \(95% interval \S+ to \S+; real vs real \S+; "
                     r"closer to 0.5 is better\)$", out, re.M)
    assert re.search(r"^prdc recall: \S+ \(real vs real \S+; higher is better\)$", out, re.M)
    assert not re.search(r"\d\.\d{5,}", out)              # 4 significant digits, never 16
    kid = summary(ring8_run)["kid"]["value"]
    assert f"kid mean: {kid['mean'] * 1000:.4g} ± {kid['std'] * 1000:.4g}" in out


def test_result_lines_of_hand_made_values():
    assert result_lines("fid", 12.3456789) == ["fid: 12.35 (lower is better)"]
    assert result_lines("column_fidelity", {"mean": 0.2, "worst": 0.51234, "worst_column": "age"}) == [
        "column_fidelity mean: 0.2 (lower is better)",
        "column_fidelity worst: 0.5123 (column age; lower is better)"]
    assert result_lines("mode_fit", {"spread": {"mean": float("nan"), "worst": None},
                                     "offset": {"mean": 0.25, "worst": 1.0, "worst_mode": 3}})[1:] == [
        "mode_fit spread.worst: n/a (generated std / true std; closer to 1 is better)",
        "mode_fit offset.mean: 0.25 (true stds; lower is better)",
        "mode_fit offset.worst: 1 (true stds; mode 3; lower is better)"]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream, enabled, bars", [
    (FakeTerminal(), True, True), (io.StringIO(), True, False), (FakeTerminal(), False, False)])
def test_progress_bars_on_a_terminal_only(ring8_run, tmp_path, stream, enabled, bars):
    import shutil

    run = tmp_path / "run"                 # a copy: the other tests check every protocol of ring8_run
    shutil.copytree(ring8_run, run)
    run_evaluation(run, metrics=["prdc"], n=300, pictures=False, prdc_max=200,
                   progress=Progress(enabled=enabled, stream=stream))
    text = stream.getvalue()
    assert ("features of 2,500 real samples" in text) == bars
    assert ("prdc: precision, recall, density and coverage" in text) == bars
    assert "%|" in text if bars else "\r" not in text
    # the cap is said whatever the stream, with how to lift it
    assert "prdc: using 200 of 300 generated and 200 of 2,500 real samples" in text
    assert "--prdc-max 2500" in text


def test_the_command_draws_bars_on_a_pty(ring8_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(ring8_run, run)
    command = [sys.executable, "-m", "gankit", "eval", str(run), "--metrics", "modes", "-n", "50"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    master, slave = pty.openpty()
    # a new pty is 0 columns wide, where tqdm draws nothing: make it a usual 24 x 100 terminal
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    seen = b""
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)                      # read while it runs: a full terminal would block it
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:                  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            seen += chunk
        stdout = child.communicate(timeout=120)[0]
    finally:
        os.close(master)
    assert child.returncode == 0 and b"modes: " in stdout
    assert b"features of 2,500 real samples" in seen and b"%|" in seen


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


def test_images_default_set_with_raw_features(digits_run, capsys):
    returned = evaluate_run(digits_run, features="raw", n=120)
    # no logits in raw pixels, so no Inception Score (said in one line); the classes are still
    # read by the judge
    assert list(returned) == ["fid", "kid", "prdc", "classes"]
    assert "skipped is (" in capsys.readouterr().err
    results = summary(digits_run)
    check_protocols({k: results[k] for k in returned},
                    n_real=results["fid"]["protocol"]["n_real"], n_fake=120, features="raw values")
    assert results["fid"]["value"] == pytest.approx(returned["fid"])


def test_table_default_set_on_iris(iris_run):
    returned = evaluate_run(iris_run, pictures=False)
    assert list(returned) == ["prdc", "c2st", "column_fidelity"]
    columns = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    fidelity = returned["column_fidelity"]
    assert list(fidelity["per_column"]) == columns and set(fidelity["statistic"].values()) == {"ks"}
    assert fidelity["worst"] == max(fidelity["per_column"].values())
    assert fidelity["mean"] == pytest.approx(np.mean(list(fidelity["per_column"].values())))
    written = summary(iris_run)
    check_protocols(written, n_real=30, n_fake=2500, features="identity (4-D points)")
    assert written["column_fidelity"]["protocol"]["space"] == "data units"


def test_points_default_set_on_a_csv_of_numbers(csv_run):
    returned = evaluate_run(csv_run, n=200, pictures=False)
    assert list(returned) == ["prdc", "c2st", "diversity"]
    check_protocols(summary(csv_run), n_real=60, n_fake=200, features="identity (3-D points)")
    # its columns are named, so column fidelity applies when asked for
    assert set(evaluate_run(csv_run, metrics=["column_fidelity"], n=200, pictures=False)
               ["column_fidelity"]["per_column"]) == {"a", "b", "c"}


def test_a_tabular_gan_run_says_why_it_cannot_be_evaluated(tmp_path, capsys):
    import gankit
    from gankit.data.tabular import read_table

    gankit.TabularGAN(steps=2, out=tmp_path / "table", random_state=0).fit(read_table("iris"))
    assert main(["eval", str(tmp_path / "table")]) == 2
    assert "fitted by gankit.TabularGAN from a DataFrame" in error_of(capsys)


def test_evaluate_py_names_no_metric():
    source = (REPO / "src" / "gankit" / "evaluate.py").read_text()
    assert not [name for name in METRICS if f'"{name}"' in source or f"'{name}'" in source]


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
    ("ring8", ["--metrics", "column_fidelity"], "is for tables (e.g. iris, wine, breast-cancer), "
                                                "points (e.g. a CSV of numbers); this run's data "
                                                "'ring8' is a built-in toy mixture"),
    ("ring8", ["--prdc-max", "5"], "--prdc-max must be at least 6"),
    ("digits", ["--metrics", "modes"], "modes (modes captured, high-quality share and reverse KL, "
                                       "as in PacGAN/VEEGAN) is for built-in toy mixtures"),
    ("iris", ["--metrics", "mode_fit"], "this run's data 'iris' is a table"),
    ("digits", ["--features", "sift"], "unknown features 'sift'"),
    ("digits", ["--features", "raw", "--metrics", "is"], "needs a classifier's logits; 'raw' features"),
    ("digits", ["--features", "inception:nowhere.pth"], "nowhere.pth not found"),
    ("empty", [], "is not a gankit run directory"),
    ("missing", [], "does not exist"),
])
def test_bad_input_exits_2_with_one_line(which, args, message, request, tmp_path, capsys):
    run = {"ring8": lambda: request.getfixturevalue("ring8_run"),
           "digits": lambda: request.getfixturevalue("digits_run"),
           "iris": lambda: request.getfixturevalue("iris_run"),
           "empty": lambda: tmp_path, "missing": lambda: tmp_path / "nothing"}[which]()
    assert main(["eval", str(run), *args]) == 2
    assert message in error_of(capsys)
