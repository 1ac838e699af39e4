import pytest

from gankit.errors import GankitError

from support import tiny


@pytest.mark.parametrize("settings, message", [
    (dict(remedy="bagging"), "unknown remedy"),
    (dict(model="ebgan", remedy="pac"), "discriminator is an autoencoder: drop --remedy"),
    (dict(remedy="pac", batch_size=30), "not a multiple of pac=4"),
    (dict(unroll=-1), "look-ahead discriminator steps, 0 or more"),
    (dict(unroll=2, unroll_order="third"), "unknown unroll order"),
    (dict(model="began", unroll=2), "not BEGAN"),
    (dict(unroll=2, spectral_norm=True), "drop --spectral-norm or --unroll"),
    (dict(generators=0), "at least 1"),
    (dict(model="wgan-gp", generators=3), "needs --model gan"),
    (dict(model="gan", generators=3, remedy="pac"), "mix samples of different generators"),
    (dict(model="ebgan", spectral_norm=True), "drop --spectral-norm"),
])
def test_options_that_cannot_train_are_refused(settings, message):
    with pytest.raises(GankitError, match=message):
        tiny(**settings).resolve("points")


def test_remedies_are_for_the_mlp_networks():
    with pytest.raises(GankitError, match="MLP networks only"):
        tiny(data="digits", model="dcgan", remedy="pac", batch_size=64).resolve("images")
