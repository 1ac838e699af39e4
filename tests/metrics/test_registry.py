"""The metric registry: every entry complete, default sets per data kind, one-line reasons,
and dispatch from prepared inputs with the declared protocol."""
import numpy as np
import pytest
import torch

from gankit.data import Dataset, load_toy
from gankit.errors import GankitError
from gankit.evaluate import FeatureExtractor
from gankit.metrics import registry
from gankit.metrics.recording import REQUIRED_PROTOCOL
from gankit.metrics.registry import (ALL_KINDS, METRICS, EvalInputs, data_kind, default_metrics,
                                     get_metric, unmet)

DIRECTIONS = {"lower", "higher", "closer to 0.5", "closer to 1", "closer to the real data's"}
IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def points(name="numbers.csv", n=40, width=2, seed=0, **extra):
    x = np.random.default_rng(seed).normal(size=(n, width)).astype(np.float32)
    return Dataset(x=torch.from_numpy(x), y=None, kind="points", name=name, **extra)


def images(labels=True):
    y = torch.arange(20) % 2 if labels else None
    return Dataset(x=torch.zeros(20, 1, 8, 8), y=y, kind="images", name="digits")


def test_every_metric_is_registered_with_a_complete_entry():
    assert set(METRICS) == {"fid", "kid", "is", "prdc", "c2st", "diversity", "modes", "mode_fit",
                            "column_fidelity", "classes", "ppl", "stacked_mnist_modes"}
    assert get_metric("fid").function is registry.fid
    assert get_metric("ppl").function is registry.perceptual_path_length
    for name, metric in METRICS.items():
        assert metric.name == name and metric.title
        assert set(metric.kinds) <= set(ALL_KINDS) and set(metric.default_for) <= set(metric.kinds)
        assert metric.better and set(metric.better.values()) <= DIRECTIONS, name
        assert set(metric.units) <= set(metric.better), name
        assert set(metric.needs) <= {"labels", "logits", "columns"}
    assert get_metric("kid").scale == 1000 and "x1000" in get_metric("kid").units["mean"]
    with pytest.raises(GankitError, match="unknown metric 'fd'"):
        get_metric("fd")


@pytest.mark.parametrize("data, kind, expected", [
    (load_toy("ring8", n=16), "mixture", ["modes", "mode_fit", "prdc", "c2st"]),
    (points(), "points", ["prdc", "c2st", "diversity"]),
    (points("iris", width=4, meta={"columns": IRIS_COLUMNS}), "table",
     ["prdc", "c2st", "column_fidelity"]),
    (Dataset(x=torch.zeros(10, 7), y=None, kind="table", name="table",
             meta={"columns": ["a", "b"], "encoder": "mode"}), "table",
     ["prdc", "c2st", "column_fidelity"]),
    (images(), "images", ["fid", "kid", "is", "prdc", "classes"]),
])
def test_default_sets_follow_the_data_kind(data, kind, expected):
    assert data_kind(data) == kind
    assert default_metrics(data) == expected


def test_a_metric_that_does_not_apply_says_why_in_one_line():
    reason = unmet(METRICS["modes"], images())
    assert reason.startswith("modes (") and "is for built-in toy mixtures" in reason
    assert "this run's data 'digits' is images" in reason
    assert "needs labelled data" in unmet(METRICS["classes"], images(labels=False))
    assert "needs a classifier's logits; 'raw' features" in unmet(METRICS["is"], images(), False, "raw")
    assert unmet(METRICS["is"], images(), None) is None             # logits not known yet
    encoded = Dataset(x=torch.zeros(10, 7), y=None, kind="table", name="table",
                      meta={"columns": ["a", "b"], "encoder": "mode"})
    assert "needs named columns in data units" in unmet(METRICS["column_fidelity"], encoded)
    assert unmet(METRICS["column_fidelity"], points("iris", width=4,
                                                    meta={"columns": IRIS_COLUMNS})) is None
    for reason in (unmet(m, images(labels=False), False, "raw") for m in METRICS.values()):
        assert reason is None or "\n" not in reason


def inputs_for(train, held_out, fake, floor=None, **extra):
    flat = lambda x: np.asarray(x, dtype=np.float64).reshape(len(x), -1)  # noqa: E731
    return EvalInputs(kind=data_kind(train), train=train, held_out=held_out, fake=fake,
                      real_features=flat(held_out.x), fake_features=flat(fake),
                      extractor=FeatureExtractor("identity", flat, None, None), seed=0,
                      floor_features=None if floor is None else flat(floor),
                      floor_source="fresh draws", **extra)


def check_protocol(metric, protocol, extra=()):
    assert set(protocol) == set(REQUIRED_PROTOCOL) | {"seed"} | set(metric.protocol_fields) | set(extra)


def test_every_metric_computes_from_prepared_inputs_with_its_declared_protocol():
    train, held_out = load_toy("ring8", n=400, seed=0), load_toy("ring8", n=400, seed=1)
    fake, floor = load_toy("ring8", n=300, seed=2).x.numpy(), load_toy("ring8", n=300, seed=3).x.numpy()
    logits = np.eye(8)[np.arange(300) % 8] * 30.0    # confident and even: IS near 8
    inputs = inputs_for(train, held_out, fake, floor, fake_logits=lambda: logits,
                        class_logits=lambda: (logits, "a judge"))
    values = {}
    for name in ("modes", "mode_fit", "fid", "kid", "is", "prdc", "c2st", "diversity", "classes"):
        values[name], protocol = METRICS[name].compute(inputs)
        check_protocol(METRICS[name], protocol, ("floor",) if name in ("prdc", "c2st") else ())
        assert protocol["n_real"] == 400 and protocol["n_fake"] == 300
    # samples from the mixture itself: everything at its best, and at its real-vs-real floor
    assert values["modes"]["modes"] == 8 and values["mode_fit"]["measured"] == 8
    assert values["classes"]["counts"] == [38] * 4 + [37] * 4     # read from the logits given
    assert values["is"]["mean"] > 7.5
    assert abs(values["c2st"]["accuracy"] - values["c2st"]["floor"]["accuracy"]) < 0.15
    assert values["prdc"]["floor"]["recall"] > 0.8 and values["prdc"]["recall"] > 0.8

    iris = points("iris", n=60, width=4, meta={"columns": IRIS_COLUMNS})
    shifted = iris.x.numpy() + np.array([0, 0, 0, 100.0], dtype=np.float32)
    value, protocol = METRICS["column_fidelity"].compute(inputs_for(iris, iris, shifted))
    check_protocol(METRICS["column_fidelity"], protocol)
    assert value["per_column"] == {**dict.fromkeys(IRIS_COLUMNS[:3], 0.0), IRIS_COLUMNS[3]: 1.0}
    assert value["worst_column"] == "petal width (cm)"


def test_the_real_vs_real_floor_sits_beside_a_collapsed_generator():
    train, held_out = load_toy("ring8", n=400, seed=0), load_toy("ring8", n=400, seed=1)
    collapsed = np.repeat(train.centers[:1], 300, axis=0).astype(np.float32)
    floor = load_toy("ring8", n=300, seed=3).x.numpy()
    inputs = inputs_for(train, held_out, collapsed, floor)
    c2st, protocol = METRICS["c2st"].compute(inputs)
    assert c2st["accuracy"] > 0.85 and c2st["floor"]["accuracy"] < 0.65
    assert "real vs real" in protocol["floor"] and "300 fresh draws" in protocol["floor"]
    prdc, _ = METRICS["prdc"].compute(inputs)
    assert prdc["coverage"] < 0.2 < prdc["floor"]["coverage"]


def test_prdc_is_capped_with_a_message_and_the_cap_in_its_protocol():
    train, held_out = load_toy("ring8", n=400, seed=0), load_toy("ring8", n=400, seed=1)
    said = []
    inputs = inputs_for(train, held_out, load_toy("ring8", n=300, seed=2).x.numpy(),
                        prdc_max=100, notify=said.append)
    _, protocol = METRICS["prdc"].compute(inputs)
    assert (protocol["n_real"], protocol["n_fake"], protocol["max_samples"]) == (100, 100, 100)
    assert len(said) == 1 and "100 of 300 generated and 100 of 400 real" in said[0]
    assert "--prdc-max 400" in said[0]
    inputs.prdc_max, said[:] = None, []
    _, protocol = METRICS["prdc"].compute(inputs)
    assert (protocol["n_real"], protocol["n_fake"]) == (400, 300) and not said
