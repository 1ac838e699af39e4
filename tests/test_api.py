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
