import json

import numpy as np
import pytest
import torch

import gankit.classifier as clf
from gankit.classifier import Judge, get_judge, train_judge
from gankit.data.dataset import Dataset
from gankit.data.images import load_images
from gankit.errors import GankitError


@pytest.fixture(scope="module")
def digits_split():
    data = load_images("digits", image_size=32)
    train, held = data.split(0.2, seed=0)
    # a small, fast subset: 500 training and 150 held-out digits
    return train.subset(torch.arange(0, len(train), 2)[:500]), held.subset(torch.arange(150))


@pytest.fixture(scope="module")
def judge(digits_split):
    train, held = digits_split
    return train_judge(train, held, epochs=4, seed=0)


def test_judge_learns_digits(judge, digits_split):
    train, held = digits_split
    assert judge.held_out_accuracy > 0.8  # chance is 0.1
    assert judge.record["epochs"] == 4 and judge.record["train_fingerprint"] == train.fingerprint
    score = judge.score(held.x, held.y)
    assert score["accuracy"] == pytest.approx(judge.held_out_accuracy)
    assert len(score["per_class_accuracy"]) == 10 and sum(score["predicted_counts"]) == len(held)
    assert torch.equal(judge.predict(held.x), judge.logits(held.x).argmax(1))


def test_features_are_the_penultimate_layer(judge, digits_split):
    _, held = digits_split
    feats = judge.features(held.x[:37])
    assert feats.shape == (37, 128) and not feats.requires_grad
    logits = judge.net.head(feats)  # eval mode: dropout is off
    assert torch.allclose(logits, judge.logits(held.x[:37]), atol=1e-5)
    # batching does not change results
    assert torch.allclose(judge.features(held.x[:37].numpy()), feats, atol=1e-5)
    with pytest.raises(GankitError, match="trained on images of shape"):
        judge.features(torch.zeros(2, 1, 64, 64))


def test_cache_round_trip(tmp_path, digits_split, monkeypatch):
    train, held = digits_split
    small = train.subset(torch.arange(200))
    first = get_judge(small, held, cache_dir=tmp_path, epochs=1)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith(f"judge-{small.fingerprint}")
    assert {p.suffix for p in tmp_path.iterdir()} == {".json", ".safetensors"}
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["arch"]["type"] == "cnn" and record["held_out_accuracy"] == first.held_out_accuracy

    def no_training(*a, **k):
        raise AssertionError("the cached judge should have been loaded, not retrained")

    monkeypatch.setattr(clf, "train_judge", no_training)
    again = get_judge(small, held, cache_dir=tmp_path, epochs=1)
    assert torch.equal(again.logits(held.x), first.logits(held.x))
    assert again.held_out_accuracy == first.held_out_accuracy
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    assert torch.equal(get_judge(small, held, epochs=1).features(held.x), first.features(held.x))


def test_damaged_cache_is_retrained(tmp_path, digits_split):
    train, held = digits_split
    small = train.subset(torch.arange(100))
    get_judge(small, held, cache_dir=tmp_path, epochs=1)
    next(tmp_path.glob("*.safetensors")).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="damaged"):
        judge = get_judge(small, held, cache_dir=tmp_path, epochs=1)
    assert judge.logits(held.x[:2]).shape == (2, 10)
    assert Judge.load(next(tmp_path.glob("*.json")).with_suffix("")).held_out_accuracy \
        == judge.held_out_accuracy


def test_mlp_judge_on_a_table_is_seeded_and_leaves_global_rng_alone():
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    data = Dataset(x=bunch.data.astype(np.float32), y=bunch.target, kind="table", name="bc")
    train, held = data.split(0.3, seed=0)
    state = torch.random.get_rng_state()
    a = train_judge(train, held, epochs=10, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = train_judge(train, held, epochs=10, seed=3)
    assert a.arch["type"] == "mlp" and a.held_out_accuracy > 0.9  # majority class is 0.63
    assert torch.equal(a.logits(held.x), b.logits(held.x))
    assert a.features(held.x).shape == (len(held), 128)


def test_judge_needs_labels(digits_split):
    train, _ = digits_split
    unlabeled = Dataset(x=train.x[:10], y=None, kind="images", name="u")
    with pytest.raises(GankitError, match="needs labels"):
        train_judge(unlabeled)


def test_a_grey_judge_reads_each_channel_of_a_stack_on_its_own(judge, digits_split):
    _, held = digits_split
    a, b, c = held.x[:40], held.x[40:80], held.x[80:120]
    per_channel = judge.predict_channels(torch.cat([a, b, c], 1))
    assert per_channel.shape == (40, 3) and per_channel.dtype == torch.int64
    expected = torch.stack([judge.predict(a), judge.predict(b), judge.predict(c)], 1)
    assert torch.equal(per_channel, expected)
    assert torch.equal(judge.predict_channels(a.numpy()), judge.predict(a)[:, None])
    with pytest.raises(GankitError, match=r"\(N, C, H, W\), got shape \(40, 32, 32\)"):
        judge.predict_channels(a[:, 0])


def test_only_a_judge_of_grey_images_reads_channels(digits_split):
    train, held = digits_split
    rgb = Dataset(x=train.x[:64].expand(-1, 3, -1, -1), y=train.y[:64], kind="images", name="rgb")
    colour_judge = train_judge(rgb, epochs=1)
    with pytest.raises(GankitError, match="needs a judge of 1-channel images; this one reads "
                                          "3-channel images"):
        colour_judge.predict_channels(torch.zeros(2, 3, 32, 32))


def test_notes_are_kept_with_the_cached_judge_but_are_not_its_key(tmp_path, digits_split, monkeypatch):
    train, held = digits_split
    small = train.subset(torch.arange(100))
    first = get_judge(small, held, cache_dir=tmp_path, epochs=1, notes={"split": "first 100"})
    assert first.record["split"] == "first 100"
    assert json.loads(next(tmp_path.glob("*.json")).read_text())["split"] == "first 100"
    monkeypatch.setattr(clf, "train_judge", lambda *a, **k: pytest.fail("retrained"))
    assert get_judge(small, held, cache_dir=tmp_path, epochs=1).record["split"] == "first 100"
    again = get_judge(small, held, cache_dir=tmp_path, epochs=1, notes={"split": "renamed"})
    assert again.record["split"] == "renamed" and len(list(tmp_path.glob("*.json"))) == 1
