"""The material's two demos (iris-demo, heart-demo) end to end on tiny budgets."""
import pandas as pd

from gankit.cli import main
from gankit.experiments.oversampling_demos import run_heart_demo


def test_iris_demo(tmp_path):
    assert main(["experiment", "iris-demo", "--steps", "3", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "iris_setosa_histograms.png").stat().st_size > 0
    fake = pd.read_csv(tmp_path / "generated_setosa.csv")
    assert fake.shape == (50, 4)
    assert (fake.round(1) == fake).all().all()        # back in cm, one decimal like the data


def test_heart_demo(tmp_path, shared_data):
    res = run_heart_demo(tmp_path, steps=2, splits=1, classifier="logistic", quiet=True)
    s = res["summary"]
    assert len(s) == 4 and s["f1_mean"].between(0, 1).all()
    assert (tmp_path / "results.md").exists()
