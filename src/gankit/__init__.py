"""gankit: train GANs on toy mixtures, images and tables, and measure them honestly.

    import gankit
    gan = gankit.GAN(model="wgan-gp", random_state=0).fit(X)
    samples = gan.sample(1000)
"""
__version__ = "0.1.0"

from .api import GAN  # noqa: E402
from .errors import GankitError  # noqa: E402
from .oversampling import GANOverSampler  # noqa: E402
from .tabular_gan import TabularGAN  # noqa: E402

__all__ = ["GAN", "GANOverSampler", "GankitError", "TabularGAN", "__version__"]
