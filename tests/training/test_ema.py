"""The generator's weight average (`--ema`): the closed-form average, exact resume, sampling
from it, and the settings' checks."""
import pytest
import torch

from support import assert_resume_is_exact, tiny
from gankit.errors import GankitError
from gankit.models import DataSpec
from gankit.training import build_module, train_run
from gankit.training.ema import ema_decay, update_average


def test_decay_warms_up_then_holds():
    assert ema_decay(0.99, 1) == pytest.approx(2 / 11)
    assert ema_decay(0.99, 10_000) == 0.99


def test_update_is_the_closed_form_average():
    current, average = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    start = average.weight.detach().clone()
    expected = start.clone()
    for step in range(1, 6):
        with torch.no_grad():
            current.weight.fill_(float(step))
        update_average(average, current, 0.5, step)
        d = min(0.5, (1 + step) / (10 + step))
        expected = d * expected + (1 - d) * step
    assert torch.allclose(average.weight, expected)


def test_average_after_training_equals_the_recursion_over_the_steps(monkeypatch):
    from gankit.training import loop as loop_module
    seen = []
    real_update = loop_module.update_average

    def recording(average, generator, decay, step):
        seen.append((step, [p.detach().clone() for p in generator.parameters()]))
        real_update(average, generator, decay, step)

    monkeypatch.setattr(loop_module, "update_average", recording)
    run = train_run(tiny(model="wgan-gp", steps=4, ema=0.9), None)
    module = run.module
    # closed form: start from the initial weights (the average's copy at step 0), then recurse
    fresh = build_module(run.config, DataSpec.of(run.train))
    initial = [p.detach().clone() for p in fresh.generator_ema.parameters()]
    assert [s for s, _ in seen] == [1, 2, 3, 4]
    expected = initial
    for step, weights in seen:
        d = ema_decay(0.9, step)
        expected = [d * e + (1 - d) * w for e, w in zip(expected, weights)]
    for got, want in zip(module.generator_ema.parameters(), expected):
        assert torch.allclose(got, want, atol=1e-6)
    # the generator itself is not the average, and samples come from the average
    assert not torch.equal(next(module.generator.parameters()), next(module.generator_ema.parameters()))
    assert module.sampler is module.generator_ema


def test_average_survives_resume_exactly(tmp_path):
    assert_resume_is_exact(tmp_path, "generator_ema.", model="wgan-gp", data="blobs8",
                           conditional=True, label_input="onehot", gp_center=0.0, ema=0.9,
                           lr_decay="none")


def test_runs_without_ema_keep_no_average():
    run = train_run(tiny(model="wgan-gp", steps=2, ema=0), None)
    assert run.module.generator_ema is None and run.config.ema == 0.0
    assert not any(k.startswith("generator_ema") for k in run.module.state_dict())


def test_a_run_recorded_with_ema_none_resumes_without_an_average(tmp_path):
    """Records written before conditional points averaged by default say off as None; resuming
    one must not fill in the recipe's 0.99 (its checkpoint holds no average)."""
    import yaml

    from gankit.cli import main
    from gankit.run_directory import CONFIG_FILE

    run = tmp_path / "old"
    args = ["--data", "blobs8", "--model", "wgan-gp", "--conditional", "--ema", "0", "--hidden",
            "16", "--batch-size", "32", "--log-every", "2", "--no-progress", "--no-tensorboard"]
    assert main(["train", *args, "--steps", "2", "--out", str(run)]) == 0
    record = yaml.safe_load((run / CONFIG_FILE).read_text())
    record["train"]["ema"] = None
    (run / CONFIG_FILE).write_text(yaml.safe_dump(record))
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0
    resumed = yaml.safe_load((run / CONFIG_FILE).read_text())["train"]
    assert resumed["ema"] == 0.0 and resumed["label_input"] == "onehot"


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, "x", True])
def test_bad_decay_is_refused_with_the_fix(bad):
    with pytest.raises(GankitError, match=r"ema is the decay .* in \[0, 1\)"):
        tiny(ema=bad).resolve("points")


def test_onehot_labels_need_a_conditional_mlp_run():
    with pytest.raises(GankitError, match="add --conditional"):
        tiny(label_input="onehot").resolve("points")
    with pytest.raises(GankitError, match="unknown label-input"):
        tiny(conditional=True, label_input="one-hot").resolve("points")
    with pytest.raises(GankitError, match="MLP networks"):
        tiny(data="iris", conditional=True, label_input="onehot").resolve("table")
