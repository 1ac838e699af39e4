"""Vectorised ensembles reproduce the one-by-one training loop, member by member."""
import numpy as np
import pytest
import torch
from torch import nn

from gankit.config import TrainConfig
from gankit.errors import GankitError
from gankit.metrics import mode_metrics
from gankit.models import DataSpec
from gankit.training import build_module, prepare_data
from gankit.training.ensemble import ensemble_key, group_members, train_ensemble, train_many
from gankit.training.loop import training_loop


def _config(**settings) -> TrainConfig:
    values = dict(data="blobs4", hidden=32, batch_size=32, steps=20, log_every=10, progress=False,
                  tensorboard=False, n_samples=400)
    values.update(settings)
    return TrainConfig(**values).resolve("points")


def _members(recipe: dict, datasets=("blobs4", "blobs8"), seeds=(0, 1)):
    configs, data, one, many = [], [], [], []
    for name in datasets:
        for seed in seeds:
            config = _config(data=name, seed=seed, **recipe)
            train, _ = prepare_data(config)
            configs.append(config)
            data.append(train)
            one.append(build_module(config, DataSpec.of(train)))
            many.append(build_module(config, DataSpec.of(train)))
    return configs, data, one, many


RECIPES = {
    "gan": dict(model="gan"),
    "wgan-gp": dict(model="wgan-gp"),
    "cwgan-gp": dict(model="wgan-gp", conditional=True),      # 4 and 8 classes: padded, fused
    "wgan-gp+pac": dict(model="wgan-gp", remedy="pac"),
    "cwgan-gp+pac": dict(model="wgan-gp", conditional=True, remedy="pac"),
    # at the points default (1e-3) rounding grows past the tolerance within the steps compared
    "gan+minibatch": dict(model="gan", remedy="minibatch", lr_g=2e-4, lr_d=2e-4),
    "wgan-gp+minibatch": dict(model="wgan-gp", remedy="minibatch", steps=4),
    "cwgan-gp+decay": dict(model="wgan-gp", conditional=True, lr_decay="linear"),
    "lsgan": dict(model="lsgan", lr_g=2e-4, lr_d=2e-4),
    # the points recipe: one-hot labels (4 and 8 classes, padded), zero-centred penalty, and the
    # generator's weight average, which sampling uses and the state dicts compare
    "cwgan-gp recipe": dict(model="wgan-gp", conditional=True, label_input="onehot", gp_center=0.0,
                            lr_g=3e-4, lr_d=3e-4, ema=0.99),
    "hinge+pac": dict(model="hinge", remedy="pac", lr_g=2e-4, lr_d=2e-4),
    # conditioned on each member's own 8 k-means clusters (gankit.nets.clusters)
    "wgan-gp clusters": dict(model="wgan-gp", clusters=8),
    "cwgan-gp class scaling": dict(model="wgan-gp", conditional=True, class_scaling=True),
}
# GAN training amplifies rounding: a difference of 1e-7 in one weight grows to about 1e-2 in the
# samples within 50 steps (in the one-by-one loop itself). With minibatch discrimination the last
# hidden layer's biases have an exactly-zero true gradient in WGAN-GP, so Adam turns rounding
# noise into +-lr steps from the start; that case is compared over fewer steps.


@pytest.mark.parametrize("name", list(RECIPES))
def test_vectorised_matches_one_by_one(name):
    configs, data, one, many = _members(RECIPES[name])
    for module, train, config in zip(one, data, configs):
        training_loop(module, train, config)
    results = train_many(many, data, configs, vectorised=True)
    assert {r.group_size for r in results} == {4}          # all four members in one ensemble
    for a, b, train, config in zip(one, many, data, configs):
        x, _ = a.sample(2500, rng=torch.Generator().manual_seed(config.seed))
        y, _ = b.sample(2500, rng=torch.Generator().manual_seed(config.seed))
        assert torch.allclose(x, y, atol=1e-4, rtol=0), (x - y).abs().max()
        ma = mode_metrics(x.numpy(), train.centers, train.mode_std)
        mb = mode_metrics(y.numpy(), train.centers, train.mode_std)
        assert ma["modes"] == mb["modes"] and ma["counts"] == mb["counts"]
        if "minibatch" not in name:
            # weights too (minibatch discrimination: a bias whose gradient is zero up to rounding
            # gets Adam steps of +-lr from that rounding, in either path, so only samples compare)
            for (key, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
                assert torch.allclose(pa, pb, atol=1e-4, rtol=0), key


def test_train_many_one_by_one_is_the_loop():
    configs, data, one, many = _members(RECIPES["wgan-gp"], datasets=("blobs4",), seeds=(3,))
    training_loop(one[0], data[0], configs[0])
    (result,) = train_many(many, data, configs, vectorised=False)
    assert not result.diverged and result.final_step == 20
    for pa, pb in zip(one[0].state_dict().values(), many[0].state_dict().values()):
        assert torch.equal(pa, pb)


def test_grouping():
    configs, data = [], []
    for recipe in ({"model": "gan"}, {"model": "wgan-gp"}, {"model": "wgan-gp", "conditional": True}):
        for name in ("blobs4", "blobs8"):
            c = _config(data=name, **recipe)
            configs.append(c)
            data.append(prepare_data(c)[0])
    assert group_members(configs, data) == [[0, 1], [2, 3], [4, 5]]
    assert group_members(configs, data, max_members=1) == [[i] for i in range(6)]
    assert ensemble_key(configs[0], data[0]) != ensemble_key(configs[2], data[2])
    mb = [_config(model="gan", remedy="minibatch", batch_size=256, seed=s) for s in range(8)]
    groups = group_members(mb, [prepare_data(c)[0] for c in mb])
    assert sum(len(g) for g in groups) == 8 and max(len(g) for g in groups) < 8   # memory cap


def test_incompatible_members_are_refused():
    configs, data, _, many = _members(RECIPES["gan"], datasets=("blobs4",), seeds=(0,))
    other = _config(model="wgan-gp")
    train = prepare_data(other)[0]
    with pytest.raises(GankitError):
        train_ensemble(many + [build_module(other, DataSpec.of(train))], data + [train], configs + [other])


def test_workers_give_the_same_weights():
    configs, data, one, many = _members({"model": "gan", "steps": 5})
    extra, extra_data, extra_one, extra_many = _members({"model": "wgan-gp", "steps": 2})
    configs, data, one, many = configs + extra, data + extra_data, one + extra_one, many + extra_many
    train_many(one, data, configs, workers=1)
    seen = []
    train_many(many, data, configs, workers=2, on_group=lambda group, out: seen.append(group))
    assert sorted(map(sorted, seen)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    for a, b in zip(one, many):
        for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(pa, pb)
