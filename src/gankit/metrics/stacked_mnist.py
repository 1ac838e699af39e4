"""Stacked MNIST mode metrics (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018, Table 2).

A digit judge reads each of the 3 channels of every generated stack on its own; the triple
(d1, d2, d3) it reads is the sample's mode, one of K = 1,000. With p_k the share of the n
samples read as triple k:

    modes = #{k : p_k > 0}                                   (0..1,000; higher is better)
    kl    = KL(p || uniform) = sum_{k : p_k > 0} p_k log(p_k / (1/K)) = log K - H(p)   (nats)

the convention of VEEGAN's and PacGAN's evaluation code: triples never generated add nothing
(0 log 0 = 0), the log is natural. kl is 0 for an even spread over all 1,000 triples and
log(K/m) for an even spread over m of them (log 100 = 4.61 for 10; log 1000 = 6.91 for one).
Even a perfect generator reads above 0 from sampling noise alone, about (K-1)/(2n) = 0.019 at
the published n = 26,000 samples, at which all 1,000 triples appear with overwhelming
probability (a given one is missed with probability (1 - 1/K)^n = 5e-12).

The judge is gankit's judge (gankit.classifier) trained on a stratified 80% of the MNIST digits
the stacks are drawn from and measured on the other 20%. The papers use a classifier trained on
MNIST's 60k training images, which are not kept here: with the 10k test images as source, the
judge learns from 8,000 of them, and its held-out accuracy goes into every protocol.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..data.stacked_mnist import N_TRIPLES, load_mnist_digits, triple_labels
from ..errors import GankitError, check_finite

PUBLISHED_SAMPLES = 26_000
MIN_SAMPLES = N_TRIPLES  # fewer cannot cover every triple, so "modes" would be capped below 1,000
JUDGE_HELD_OUT = 0.2
JUDGE_SEED = 0
PRETRAINING_NOTE = ("the papers' classifier was trained on MNIST's 60k training images, which "
                    "gankit does not have here; this judge learnt from a split of the digits "
                    "the stacks are drawn from")
DEFINITION = ("modes: distinct digit triples read by the judge, channel by channel; kl: "
              "KL(p_model || uniform over 1,000 triples) = sum over read triples of "
              "p log(1000 p), nats (VEEGAN / PacGAN)")
_CHUNK = 2000  # stacks per judge pass: bounds memory and paces the progress callback


def digit_judge(path=None, image_size: int | None = 32, cache_dir=None):
    """gankit's judge of single MNIST digits at `image_size`, for reading stacks channel by
    channel: trained on a stratified 80% (seed 0) of the digits of
    `gankit.data.stacked_mnist.mnist_folder(path)`, measured on the other 20%, and cached like
    every judge (under cache_dir, $GANKIT_CACHE or ~/.cache/gankit)."""
    from ..classifier import get_judge

    digits = load_mnist_digits(path, image_size)
    train, held_out = digits.split(JUDGE_HELD_OUT, seed=JUDGE_SEED)
    source = digits.meta.get("source", digits.name)
    split = (f"{len(train):,} of the {len(digits):,} MNIST digits of {source} (stratified by "
             f"digit, seed {JUDGE_SEED}); held-out accuracy on the other {len(held_out):,}")
    return get_judge(train, held_out, cache_dir=cache_dir,
                     notes={"split": split, "pretraining": PRETRAINING_NOTE})


def describe_judge(judge) -> dict:
    """What a protocol records about the digit judge."""
    n_train = judge.record.get("n_train")
    name = (f"gankit digit judge {judge.arch.get('type', '')} per channel, trained on "
            f"{n_train if n_train is None else format(n_train, ',')} MNIST digits "
            f"({judge.record.get('train_fingerprint')})")
    return {"features": name, "judge_accuracy": judge.held_out_accuracy,
            "judge_split": judge.record.get("split", "not recorded"),
            "judge_note": judge.record.get("pretraining", PRETRAINING_NOTE)}


def triple_statistics(digits) -> dict:
    """{"modes", "kl", "counts", "n"} of the triples read from n samples, `digits` (n, 3) in 0..9.

    counts: samples per triple, indexed by 100*d1 + 10*d2 + d3. See the module docstring for
    the definitions of modes and kl.
    """
    d = np.asarray(digits)
    if d.ndim != 2 or d.shape[1] != 3 or len(d) == 0:
        raise GankitError(f"digit triples must have shape (n, 3) with n >= 1, got {d.shape}")
    if d.dtype.kind not in "iu" or d.min() < 0 or d.max() > 9:
        raise GankitError("digit triples must hold integer digits 0..9")
    counts = np.bincount(triple_labels(d), minlength=N_TRIPLES)
    p = counts[counts > 0] / len(d)
    kl = float((p * np.log(p * N_TRIPLES)).sum())
    return {"modes": int((counts > 0).sum()), "kl": max(kl, 0.0),
            "counts": [int(c) for c in counts], "n": int(len(d))}


def _stacks(samples) -> torch.Tensor:
    x = samples if isinstance(samples, torch.Tensor) else torch.as_tensor(np.asarray(samples))
    if x.ndim != 4 or x.shape[1] != 3:
        what = f"{x.shape[1]}-channel images" if x.ndim == 4 else f"shape {tuple(x.shape)}"
        raise GankitError(f"Stacked MNIST samples are 3-channel stacks (n, 3, H, W), one digit per "
                          f"channel; got {what} (train on --data stacked-mnist)")
    check_finite(x, "generated stacks", fix="the generator diverged; evaluate an earlier checkpoint")
    return x


def _read(x: torch.Tensor, judge, progress) -> np.ndarray:
    out = np.empty((len(x), 3), dtype=np.int64)
    for s in range(0, len(x), _CHUNK):
        out[s:s + _CHUNK] = judge.predict_channels(x[s:s + _CHUNK]).numpy()
        if progress is not None:
            progress(min(s + _CHUNK, len(x)), len(x))
    return out


def read_triples(samples, judge, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The digits `judge` reads in each channel of (n, 3, H, W) stacks: int64 (n, 3)."""
    return _read(_stacks(samples), judge, progress)


def stacked_mnist_modes(samples, judge, min_samples: int = MIN_SAMPLES,
                        progress: Callable[[int, int], None] | None = None) -> dict:
    """{"modes", "kl", "counts", "n"} of generated Stacked MNIST `samples` (n, 3, H, W) in
    [-1, 1], read channel by channel by `judge` (a judge of 1-channel H x W digits, e.g.
    `digit_judge(image_size=H)`). The published protocol reads 26,000 samples; fewer than
    `min_samples` are refused. progress(done, total) is called after each batch of stacks."""
    x = _stacks(samples)
    if len(x) < min_samples:
        raise GankitError(f"stacked_mnist_modes needs at least {min_samples:,} generated samples "
                          f"(the published protocol reads {PUBLISHED_SAMPLES:,}), got {len(x):,}")
    return triple_statistics(_read(x, judge, progress))


# -- for gankit eval (the registry's entry) ---------------------------------------------------
def unsuited_for_stacks(data) -> str | None:
    """Why a run's data cannot be Stacked MNIST (the end of a one-line reason), or None."""
    channels = data.sample_shape[0]
    if channels == 3:
        return None
    return (f"reads 3-channel stacks of digits, one per channel; this run's data {data.name!r} "
            f"has {channels}-channel images (train on --data stacked-mnist)")


def measure_stacks(fake, train, cache_dir=None, notify: Callable[[str], None] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> tuple[dict, dict]:
    """({"modes", "kl"}, protocol fields) of a run's generated stacks `fake`, read by the digit
    judge at their size, trained on the digits the run's stacks (`train`) were drawn from (the
    default MNIST folder when its data is not `stacked-mnist`)."""
    from ..data.stacked_mnist import NAME

    source = train.meta.get("source") if train.meta.get("format") == NAME else None
    judge = digit_judge(source, image_size=fake.shape[-1], cache_dir=cache_dir)
    if len(fake) < PUBLISHED_SAMPLES and notify is not None:
        notify(f"stacked_mnist_modes: {len(fake):,} generated samples; the published protocol "
               f"reads {PUBLISHED_SAMPLES:,}, so compare with the papers at -n {PUBLISHED_SAMPLES} "
               "(the default)")
    value = stacked_mnist_modes(fake, judge, progress=progress)
    return {k: value[k] for k in ("modes", "kl")}, {
        "n_real": 0, "n_fake": value["n"], "resize": None,
        "real_split": ("none (generated samples read by the digit judge, against the uniform "
                       "distribution over the 1,000 triples)"),
        "n_triples": N_TRIPLES, "definition": DEFINITION, "published_samples": PUBLISHED_SAMPLES,
        **describe_judge(judge)}
