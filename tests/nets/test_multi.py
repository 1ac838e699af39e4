"""MultiGenerator: N generators behind one generator interface, rows assigned r mod N."""
import torch

from gankit.nets.mlp import MLPGenerator
from gankit.nets.multi import MultiGenerator, generator_of_rows


def _members(n, classes=0):
    torch.manual_seed(0)
    return [MLPGenerator(4, 2, hidden=8, depth=1, num_classes=classes) for _ in range(n)]


def test_row_r_is_made_by_generator_r_mod_n():
    members = _members(3)
    multi = MultiGenerator(members)
    z = torch.randn(7, 4)
    out = multi(z)
    made_by = generator_of_rows(7, 3)
    assert made_by.tolist() == [0, 1, 2, 0, 1, 2, 0]
    for row in range(7):
        expected = members[int(made_by[row])](z[row:row + 1])
        torch.testing.assert_close(out[row:row + 1], expected)


def test_labels_follow_their_rows():
    members = _members(2, classes=3)
    multi = MultiGenerator(members)
    z, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 2, 1, 0])
    out = multi(z, y)
    torch.testing.assert_close(out[1:2], members[1](z[1:2], y[1:2]))
    torch.testing.assert_close(out[4:5], members[0](z[4:5], y[4:5]))


def test_every_generator_receives_gradient():
    multi = MultiGenerator(_members(3))
    multi(torch.randn(9, 4)).square().sum().backward()
    for member in multi.members:
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in member.parameters())
