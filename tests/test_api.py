import numpy as np
import pytest

import gankit
from gankit.data.toy import load_toy
from gankit.errors import GankitError


def test_fit_sample_save_load(tmp_path):
    data = load_toy("blobs4", n=512, seed=0)
    gan = gankit.GAN(conditional=True, steps=20, hidden=32, batch_size=64, random_state=1,
                     out=tmp_path / "run")
    gan.fit(data.x.numpy(), data.y.numpy())
    assert gan.num_classes_ == 4 and gan.n_features_in_ == 2
    assert list(gan.history_.columns[:2]) == ["step", "d_loss"]
    a = gan.sample(10, y=3)
    assert a.shape == (10, 2)
    np.testing.assert_array_equal(a, gan.sample(10, y=3))
    loaded = gankit.GAN.load(gan.save(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.sample(10, y=3), a)


def test_same_random_state_same_model():
    x = load_toy("ring8", n=256, seed=0).x.numpy()
    one = gankit.GAN(steps=5, hidden=16, batch_size=32, random_state=7).fit(x).sample(5)
    two = gankit.GAN(steps=5, hidden=16, batch_size=32, random_state=7).fit(x).sample(5)
    np.testing.assert_array_equal(one, two)


def test_errors_are_value_errors():
    gan = gankit.GAN(steps=1)
    with pytest.raises(ValueError, match="not fitted"):
        gan.sample(3)
    with pytest.raises(GankitError, match="needs labels"):
        gankit.GAN(conditional=True, steps=1).fit(np.zeros((10, 2)))
    with pytest.raises(GankitError, match="NaN"):
        gankit.GAN(steps=1).fit(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_random_state_follows_scikit_learn():
    import numpy as np
    import pytest

    from gankit.config import seed_from
    from gankit.errors import GankitError

    assert seed_from(7) == 7 and seed_from(np.int64(7)) == 7
    assert seed_from(np.random.RandomState(0)) == seed_from(np.random.RandomState(0))
    assert 0 <= seed_from(None) < 2**31
    for bad in (-1, True, 1.5, "3"):
        with pytest.raises(GankitError, match="random_state"):
            seed_from(bad)


# ------------------------------------------------------------------ nothing a user owns is lost
def _points():
    return load_toy("ring8", n=256, seed=0).x.numpy()


def test_fit_and_save_onto_an_existing_folder_need_overwrite(tmp_path):
    first = gankit.GAN(steps=4, hidden=16, batch_size=32, random_state=0, out=tmp_path / "run").fit(_points())

    def files():   # the run's files; its lock file records who last held the lock
        return {p: p.read_bytes() for p in (tmp_path / "run").rglob("*")
                if p.is_file() and p.name != ".gankit.lock"}
    before = files()
    with pytest.raises(GankitError, match="already holds a run"):
        gankit.GAN(steps=4, hidden=16, batch_size=32, out=tmp_path / "run").fit(_points())
    assert files() == before
    saved = first.save(tmp_path / "model")
    with pytest.raises(GankitError, match="already holds a run"):
        first.save(saved)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(GankitError, match="not empty and is not a gankit run"):
        first.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "years of work"
    first.save(saved, overwrite=True)
    gankit.GAN(steps=4, hidden=16, batch_size=32, out=tmp_path / "run", overwrite=True).fit(_points())


def test_fit_without_out_cleans_up_its_temporary_run(tmp_path):
    import gc
    gan = gankit.GAN(steps=4, hidden=16, batch_size=32, random_state=0).fit(_points())
    folder = gan.run_dir_
    assert folder.is_dir() and folder.name.startswith("gankit-run-")
    kept = gan.save(tmp_path / "kept")
    del gan
    gc.collect()
    assert not folder.exists()
    assert gankit.GAN.load(kept).sample(3).shape == (3, 2)


@pytest.mark.parametrize("call, message", [
    (lambda g: g.sample(5, y=1.7), "y must be class numbers"),
    (lambda g: g.sample(5, y="a"), "y must be class numbers"),
    (lambda g: g.sample(2.5), "n must be a whole number"),
    (lambda g: g.sample(True), "n must be a whole number"),
    (lambda g: g.sample(0), "n must be at least 1"),
    (lambda g: g.sample(5, y=7), "outside the model's classes"),
])
def test_sample_arguments_are_validated(call, message):
    data = load_toy("blobs4", n=256, seed=0)
    gan = gankit.GAN(conditional=True, steps=2, hidden=16, batch_size=32, random_state=0)
    gan.fit(data.x.numpy(), data.y.numpy())
    with pytest.raises(GankitError, match=message):
        call(gan)
    assert gan.sample(4, y=2.0).shape == (4, 2)      # a whole float is a class number
