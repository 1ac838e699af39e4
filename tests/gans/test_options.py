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


def test_minibatch_features_are_for_the_mlp_networks_and_pac_for_both():
    with pytest.raises(GankitError, match="MLP networks only; the conv networks take --remedy pac"):
        tiny(data="digits", model="dcgan", remedy="minibatch").resolve("images")
    config = tiny(data="digits", model="dcgan", remedy="pac", pac=2).resolve("images")
    assert config.net == "conv" and config.pac == 2
    with pytest.raises(GankitError, match="not a multiple of pac=3"):
        tiny(data="digits", model="dcgan", remedy="pac", pac=3, batch_size=64).resolve("images")


@pytest.mark.parametrize("settings, kind, message", [
    (dict(data="digits", model="dcgan", d_width=0), "images", "a whole number >= 1"),
    (dict(data="digits", model="dcgan", d_width=2.5), "images", "a whole number >= 1"),
    (dict(model="gan", d_width=8), "points", "MLP and tabular networks take --hidden"),
    (dict(data="digits", model="ebgan", d_width=8), "images", "autoencoder sized by --width"),
])
def test_a_discriminator_width_is_for_the_scoring_conv_discriminator(settings, kind, message):
    with pytest.raises(GankitError, match=message):
        tiny(**settings).resolve(kind)
    assert tiny(data="digits", model="wgan-gp", d_width=8).resolve("images").d_width == 8
