"""The oversampling experiment end to end on tiny budgets."""
import numpy as np
import pandas as pd

from gankit.cli import main
from gankit.experiments import oversampling as ov
from gankit.experiments.oversampling_tasks import load_task


def test_oversample_command_end_to_end(tmp_path):
    out = tmp_path / "wine"
    code = main(["experiment", "oversample", "--data", "wine", "--target", "target",
                 "--minority", "0", "--downsample", "12", "--folds", "2", "--repeats", "1",
                 "--classifiers", "logistic", "--steps", "3", "--out", str(out)])
    assert code == 0
    results = pd.read_csv(out / "results.csv")
    assert set(results["sampler"]) == {"none", "random", "smote", "gan"}
    assert {"f1_mean", "f1_std", "balanced_accuracy_mean", "pr_auc_mean",
            "sampler_cpu_s_mean"} <= set(results.columns)
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == 2 * 4
    # every resampled training fold is balanced; no oversampling adds nothing
    assert (folds.loc[folds.sampler == "none", "rows_added"] == 0).all()
    assert (folds.loc[folds.sampler == "gan", "rows_added"] > 0).all()
    text = (out / "results.md").read_text()
    assert "minority F1" in text and "down-sampled" in text
    assert (out / "histograms.png").stat().st_size > 0
    generated = pd.read_csv(out / "generated_minority.csv")
    assert len(generated) == 119 - 12 and list(generated.columns) == list(load_task(
        "wine").X.columns)


def test_csv_data_with_categories_uses_smotenc(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"a": rng.normal(size=n).round(2), "c": rng.choice(["u", "v"], n),
                       "label": ["yes"] * 12 + ["no"] * 48})
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    task = load_task(str(path), target="label")
    assert task.counts == (12, 48) and task.discrete_columns == ["c"]
    assert type(ov.make_sampler("smote", task.discrete_columns, 10, 0)).__name__ == "SMOTENC"
    res = ov.run_oversample(str(path), tmp_path / "out", target="label", folds=2, repeats=1,
                            steps=2, classifiers=["logistic"], samplers=["none", "gan"],
                            quiet=True)
    assert set(res["summary"]["sampler"]) == {"none", "gan"}
    assert main(["experiment", "oversample", "--data", str(path), "--target", "nope",
                 "--out", str(tmp_path / "x")]) == 2
