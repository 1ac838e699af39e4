"""The oversampling experiment and the material's two demos, end to end on tiny budgets."""
import numpy as np
import pandas as pd
import pytest

from gankit.cli import main
from gankit.experiments import oversampling as ov


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
    assert len(generated) == 119 - 12 and list(generated.columns) == list(ov.load_task(
        "wine").X.columns)


def test_csv_data_with_categories_uses_smotenc(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"a": rng.normal(size=n).round(2), "c": rng.choice(["u", "v"], n),
                       "label": ["yes"] * 12 + ["no"] * 48})
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    task = ov.load_task(str(path), target="label")
    assert task.counts == (12, 48) and task.discrete_columns == ["c"]
    assert type(ov.make_sampler("smote", task.discrete_columns, 10, 0)).__name__ == "SMOTENC"
    res = ov.run_oversample(str(path), tmp_path / "out", target="label", folds=2, repeats=1,
                            steps=2, classifiers=["logistic"], samplers=["none", "gan"],
                            quiet=True)
    assert set(res["summary"]["sampler"]) == {"none", "gan"}
    assert main(["experiment", "oversample", "--data", str(path), "--target", "nope",
                 "--out", str(tmp_path / "x")]) == 2


def test_heart_tasks(shared_data):
    heart = ov.load_task("heart")
    assert heart.counts == (139, 164) and not heart.X.isna().any().any()
    assert "thal" in heart.discrete_columns
    rare = ov.load_task("heart-rare")
    assert rare.counts == (13, 290)
    assert ov.load_task("heart", minority="3,4").counts == (35 + 13, 303 - 48)


def test_fidelity_of_identical_rows_is_perfect():
    df = pd.DataFrame({"a": np.arange(40.0), "b": ["x", "y"] * 20})
    summary, per_column = ov.fidelity(df, df.copy(), ["b"])
    assert summary["ks_mean"] == 0 and summary["tv_mean"] == 0 and summary["corr_diff"] == 0
    assert list(per_column["column"]) == ["a", "b"]


def test_iris_demo(tmp_path):
    assert main(["experiment", "iris-demo", "--steps", "3", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "iris_setosa_histograms.png").stat().st_size > 0
    fake = pd.read_csv(tmp_path / "generated_setosa.csv")
    assert fake.shape == (50, 4)
    assert (fake.round(1) == fake).all().all()        # back in cm, one decimal like the data


def test_heart_demo(tmp_path, shared_data):
    res = ov.run_heart_demo(tmp_path, steps=2, splits=1, classifier="logistic", quiet=True)
    s = res["summary"]
    assert len(s) == 4 and s["f1_mean"].between(0, 1).all()
    assert (tmp_path / "results.md").exists()
