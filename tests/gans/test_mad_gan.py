import torch

from gankit.gans.mad_gan import MADGAN

from gans.critics import FixedLogits


def test_multi_generator_discriminator_targets_follow_the_row_layout():
    # 3 generators; fake row r comes from generator r % 3, and "real" is the last class
    confident = 20.0
    real_logits = torch.zeros(6, 4)
    real_logits[:, 3] = confident
    right = torch.zeros(6, 4)
    right[torch.arange(6), torch.arange(6) % 3] = confident
    wrong = torch.zeros(6, 4)
    wrong[torch.arange(6), (torch.arange(6) + 1) % 3] = confident
    objective = MADGAN()
    ones, minus = torch.ones(6, 2), -torch.ones(6, 2)
    good, _ = objective.discriminator_loss(FixedLogits(real_logits, right), ones, minus)
    bad, _ = objective.discriminator_loss(FixedLogits(real_logits, wrong), ones, minus)
    assert good.item() < 1e-6 < 10 < bad.item()
    # a generator that the discriminator calls real has (almost) no loss
    fooled, _ = objective.generator_loss(lambda x, y=None: real_logits, minus)
    caught, _ = objective.generator_loss(lambda x, y=None: right, minus)
    assert fooled.item() < 1e-6 < 10 < caught.item()
