import pickle

import pytest
import torch
from safetensors.torch import save_file

from gankit.errors import GankitError
from gankit.nets.inception import FIDInceptionV3, load_fid_inception


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A random-weight FID Inception, its state dict on disk in the standard layout, and a batch."""
    torch.manual_seed(0)
    model = FIDInceptionV3(resize_input=False)
    with torch.no_grad():  # random BatchNorm statistics too, so loading them is actually checked
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.1)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    model.eval()
    state = model.state_dict()
    path = tmp_path_factory.mktemp("weights") / "pt_inception-2015-12-05-6726825d.pth"
    # The published file predates num_batches_tracked; leave those out as it does.
    torch.save({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, path)
    x = torch.rand(2, 3, 75, 75) * 2 - 1
    with torch.no_grad():
        out = model(x)
    return model, state, path, x, out


def test_standard_keys_are_present(saved):
    _, state, _, _, _ = saved
    for key in ("Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch_pool.conv.weight",
                "Mixed_7c.branch3x3dbl_3b.bn.running_var", "fc.weight", "fc.bias"):
        assert key in state
    assert tuple(state["fc.weight"].shape) == (1008, 2048)
    assert not any(k.startswith("AuxLogits") for k in state)


def test_round_trip_gives_identical_2048_features(saved, tmp_path):
    _, state, path, x, out = saved
    assert out.shape == (2, 2048)
    loaded = load_fid_inception(path, resize_input=False)
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(x), out)
        assert not torch.allclose(FIDInceptionV3(resize_input=False).eval()(x), out)  # loading mattered
    st_path = tmp_path / "fid.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(st_path))
    with torch.no_grad():
        assert torch.equal(load_fid_inception(st_path, resize_input=False)(x), out)


def test_fid_protocol_path_resizes_grey_images(saved):
    _, _, path, _, _ = saved
    model = load_fid_inception(path)  # resize_input=True: 28 x 28 grey -> 3 x 299 x 299
    with torch.no_grad():
        feats = model(torch.rand(1, 1, 28, 28) * 2 - 1)
        logits = model.logits(torch.zeros(1, 3, 32, 32))
    assert feats.shape == (1, 2048) and torch.isfinite(feats).all()
    assert logits.shape == (1, 1008)


def test_extract_batches_match_one_pass(saved):
    model, _, _, x, out = saved
    torch.testing.assert_close(model.extract(x, batch_size=1), out, rtol=1e-5, atol=1e-6)


class _NotWeights:
    pass


def test_bad_files_get_clear_errors(saved, tmp_path):
    _, state, _, _, _ = saved
    with pytest.raises(GankitError, match="not found"):
        load_fid_inception(tmp_path / "missing.pth")

    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(GankitError, match="could not be read"):
        load_fid_inception(junk)

    pickled = tmp_path / "object.pth"
    with open(pickled, "wb") as fh:
        pickle.dump(_NotWeights(), fh, protocol=2)  # weights_only loading must refuse arbitrary objects
    with pytest.raises(GankitError, match="could not be read"):
        load_fid_inception(pickled)

    listing = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], listing)
    with pytest.raises(GankitError, match="not a state dict"):
        load_fid_inception(listing)

    partial = tmp_path / "partial.pth"
    some = dict(list(state.items())[:5])
    some["AuxLogits.fc.weight"] = torch.zeros(3)
    torch.save(some, partial)
    with pytest.raises(GankitError, match=r"missing \d+ keys: .*unexpected 1 keys: AuxLogits.fc.weight"):
        load_fid_inception(partial)

    wrong = tmp_path / "wrong.pth"
    bad = dict(state)
    bad["fc.weight"] = torch.zeros(1000, 2048)
    bad["fc.bias"] = torch.zeros(1000)
    torch.save(bad, wrong)
    with pytest.raises(GankitError, match=r"wrong shape: fc.weight \(1000, 2048\) \(expected \(1008, 2048\)\)"):
        load_fid_inception(wrong)

    bad_st = tmp_path / "bad.safetensors"
    bad_st.write_bytes(b"\x00" * 16)
    with pytest.raises(GankitError, match="safetensors"):
        load_fid_inception(bad_st)


def test_input_shape_is_checked():
    model = FIDInceptionV3(resize_input=False)
    with pytest.raises(GankitError, match="75 x 75"):
        model(torch.zeros(1, 3, 32, 32))
    with pytest.raises(GankitError, match="expected images"):
        model(torch.zeros(1, 2048))
