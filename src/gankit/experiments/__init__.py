"""The reference material's experiments as `gankit experiment` sub-commands (listed in `cli.py`):
mode collapse, conditional coverage, GAN oversampling and the two tabular demos."""
