"""The built-in imbalanced tasks: minority and rest as documented in docs/oversampling.md."""
from gankit.experiments.oversampling_tasks import load_task


def test_heart_tasks(shared_data):
    heart = load_task("heart")
    assert heart.counts == (139, 164) and not heart.X.isna().any().any()
    assert "thal" in heart.discrete_columns
    rare = load_task("heart-rare")
    assert rare.counts == (13, 290)
    assert load_task("heart", minority="3,4").counts == (35 + 13, 303 - 48)
