"""Discriminator-driven sampling: the trained discriminator picks, among the generator's samples,
those it believes real, so the kept samples follow the data more closely than the raw ones.

- DRS, Discriminator Rejection Sampling (Azadi et al. 2019): each proposal x is kept with
  probability sigmoid(F(x)), F(x) = D(x) - D_M - log(1 - exp(D(x) - D_M - eps)) - gamma, where
  D is the calibrated logit of "real", D_M its largest value seen (a burn-in estimate, raised
  whenever a larger one appears) and gamma shifts the acceptance. With gamma = 0 (the default)
  sigmoid(F) = exp(D - D_M) = p_data / (M p_g): exact rejection sampling when D is the optimal
  discriminator; a positive gamma keeps fewer, more confidently real samples (the authors' code
  sets gamma to the 95th percentile of F: `percentile=95`).
- MH-GAN (Turner et al. 2019): an independent Metropolis-Hastings chain per output; the
  proposals are fresh generator samples, and a move from x to x' is accepted with probability
  min(1, (1/D(x) - 1) / (1/D(x') - 1)) = min(1, exp(logit(x') - logit(x))); the output is the
  chain's state after `steps` proposals (the first proposal starts it).

Both assume D(x) = p_data / (p_data + p_g), the optimal discriminator; a trained one is only
approximately that, and a WGAN critic or an autoencoder's energy is not a probability at all. So
the scores are calibrated first (`calibrate`): a logistic regression of "real" on the variant's
realness score (`Variant.realness`), fitted on held-out real samples against fresh generated
ones (Platt scaling, as the MH-GAN paper does). Costs are reported: proposals per kept sample.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from .errors import GankitError

METHODS = ("drs", "mh")
DRS_EPSILON = 1e-8
MH_STEPS = 20               # proposals per MH chain (Turner et al. report K = 640 on images; a
                            # chain's acceptance settles in tens of steps on 2-D mixtures)
BURN_IN = 2000              # proposals that estimate D_M and gamma
MAX_PROPOSALS_PER_SAMPLE = 200


@dataclass
class Calibration:
    """calibrated logit of "real" = slope * realness + intercept (Platt scaling)."""
    slope: float
    intercept: float
    n_real: int
    n_fake: int
    held_out_accuracy: float

    def logit(self, scores: torch.Tensor) -> torch.Tensor:
        return self.slope * scores + self.intercept


@dataclass
class RefineStats:
    """What a refinement cost: proposals drawn per kept sample, and the share of proposals
    accepted (DRS: kept; MH: moves of the chains)."""
    method: str
    kept: int
    proposals: int
    acceptance_rate: float
    proposals_per_kept: float
    seconds: float
    calibration: dict

    def to_dict(self) -> dict:
        return asdict(self)


def calibrate(module, variant, real: torch.Tensor, real_labels=None,
              rng: torch.Generator | None = None) -> Calibration:
    """Fit Platt scaling of the variant's realness score: held-out real samples (label 1, in
    data units) against as many generated ones (label 0, with the same labels for conditional
    models); half of each fits, the other half reports the accuracy."""
    from sklearn.linear_model import LogisticRegression

    n = len(real)
    if n < 20:
        raise GankitError(f"calibrating the discriminator needs at least 20 real samples; got {n}")
    if module.num_classes and real_labels is None:
        raise GankitError("calibrating a conditional model needs the real samples' labels")
    device = next(module.generator.parameters()).device
    # in the networks' units, with the labels they take (a clustered model's: the clusters)
    x, labels = module.encode(real.to(device), torch.as_tensor(real_labels).long().to(device)
                              if module.num_classes else None)
    x, labels = x.cpu(), (None if labels is None else labels.cpu())
    propose, score = proposal_functions(module, variant, None, rng=rng)
    fake, _ = propose(n, labels)
    scores = torch.cat([score(x, labels), score(fake, labels)]).double().numpy()
    target = np.concatenate([np.ones(n), np.zeros(n)])
    if not np.all(np.isfinite(scores)):
        raise GankitError("the discriminator's scores are not finite; it cannot guide sampling")
    order = np.random.default_rng(0).permutation(2 * n)
    fit, check = order[:n], order[n:]
    model = LogisticRegression(C=1e6, max_iter=1000).fit(scores[fit, None], target[fit])
    accuracy = float(model.score(scores[check, None], target[check]))
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), n, n, accuracy)


def rejection_sample(propose: Callable, logit: Callable, n: int, *, batch: int = 2048,
                     gamma: float = 0.0, percentile: float | None = None,
                     rng: torch.Generator | None = None, max_proposals: int | None = None):
    """DRS: (samples, labels, proposals used, samples accepted). propose(m) -> (x, y);
    logit(x, y) -> calibrated logits; gamma shifts F (or, with `percentile`, is that percentile
    of F over the burn-in). rng draws the acceptance coins."""
    max_proposals = max_proposals or MAX_PROPOSALS_PER_SAMPLE * n + BURN_IN
    x0, y0 = propose(BURN_IN)
    l0 = logit(x0, y0)
    d_max = float(l0.max())
    if percentile is not None:
        gamma = float(np.percentile(_drs_f(l0, d_max).numpy(), percentile))
    kept_x, kept_y, count, drawn, used = [], [], 0, BURN_IN, 0
    pending = [(x0, y0, l0)]         # the burn-in proposals are candidates too
    while count < n:
        if not pending:
            if drawn >= max_proposals:
                raise GankitError(f"rejection sampling kept {count} of {n} samples after "
                                  f"{drawn} proposals; the discriminator rejects nearly "
                                  "everything (try --refine mh, or train longer)")
            x, y = propose(batch)
            drawn += batch
            pending.append((x, y, logit(x, y)))
        x, y, scores = pending.pop()
        d_max = max(d_max, float(scores.max()))
        accept = torch.rand(len(scores), generator=rng) < torch.sigmoid(_drs_f(scores, d_max) - gamma).float()
        if count + int(accept.sum()) >= n:
            # the proposals this sample needed: up to its n-th acceptance, not the whole batch
            last = int(torch.nonzero(accept).reshape(-1)[n - count - 1])
            accept[last + 1:] = False
            used += last + 1
        else:
            used += len(scores)
        kept_x.append(x[accept])
        kept_y.append(None if y is None else y[accept])
        count += int(accept.sum())
    samples = torch.cat(kept_x)
    labels = None if kept_y[0] is None else torch.cat(kept_y)
    return samples, labels, used, n


def _drs_f(scores: torch.Tensor, d_max: float) -> torch.Tensor:
    shifted = (scores.double() - d_max).clamp(max=0.0)
    return shifted - torch.log1p(-torch.exp(shifted - DRS_EPSILON))


def metropolis_hastings(propose: Callable, logit: Callable, n: int, *, steps: int = MH_STEPS,
                        rng: torch.Generator | None = None):
    """MH-GAN: n independent chains of `steps` proposals; (samples, labels, proposals drawn,
    moves accepted). A conditional model's chains keep their labels (propose must return them
    in chain order)."""
    if steps < 1:
        raise GankitError(f"the MH chain needs at least 1 step, got {steps}")
    state, labels = propose(n)
    state_logit = logit(state, labels)
    accepted = n                     # the first proposal of every chain is its start
    for _ in range(steps - 1):
        candidate, _ = propose(n, labels)
        candidate_logit = logit(candidate, labels)
        ratio = torch.exp((candidate_logit - state_logit).clamp(max=0.0))
        move = torch.rand(n, generator=rng) < ratio
        accepted += int(move.sum())
        state = torch.where(move.view(-1, *([1] * (state.dim() - 1))), candidate, state)
        state_logit = torch.where(move, candidate_logit, state_logit)
    return state, labels, n * steps, accepted


def refine(module, variant, n: int, method: str, calibration: Calibration, *, y=None,
           rng: torch.Generator | None = None, steps: int = MH_STEPS, gamma: float = 0.0,
           percentile: float | None = None):
    """(samples in data units, labels, RefineStats) from a GANModule, kept by its discriminator.

    variant: the run's variant (`gankit.gans`), which says how its discriminator scores realness.
    y: one label or n labels (conditional models); by default every class equally, each class
    refined on its own so that the discriminator cannot shift the class shares (a clustered
    model's clusters likewise, drawn by their share of the data)."""
    if method not in METHODS:
        raise GankitError(f"unknown refinement {method!r}; choose drs or mh")
    t0 = time.perf_counter()
    device = next(module.generator.parameters()).device
    labels = module.generator_labels(n, y, device, rng)
    if labels is None:
        groups = [(None, torch.arange(n))]
    else:
        groups = [(int(c), torch.nonzero(labels.cpu() == c).reshape(-1)) for c in labels.unique().tolist()]
    samples, proposals, accepted = None, 0, 0
    for label, rows in groups:
        propose, logit = proposal_functions(module, variant, calibration, label, rng)
        if method == "drs":
            part, _, drawn, taken = rejection_sample(propose, logit, len(rows), rng=rng,
                                                     gamma=gamma, percentile=percentile)
        else:
            part, _, drawn, taken = metropolis_hastings(propose, logit, len(rows), steps=steps,
                                                        rng=rng)
        if samples is None:
            samples = part.new_empty((n,) + tuple(part.shape[1:]))
        samples[rows] = part
        proposals += drawn
        accepted += taken
    samples = module.decode(samples.to(device), labels).cpu()
    stats = RefineStats(method, n, proposals, accepted / proposals, proposals / n,
                        time.perf_counter() - t0, asdict(calibration))
    return samples, labels.cpu() if module.num_classes else None, stats


def proposal_functions(module, variant, calibration: Calibration | None, label: int | None = None,
                       rng: torch.Generator | None = None):
    """(propose(m, labels=None) -> (x, labels), logit(x, labels)) for a GANModule, in the
    networks' own (standardised) units, all proposals of class `label` for conditional models;
    logit is calibrated when a calibration is given, else the raw realness score."""
    generator, discriminator = module.sampler, module.discriminator
    device = next(generator.parameters()).device

    @torch.no_grad()
    def propose(m: int, labels=None):
        if labels is None and generator.num_classes:
            labels = torch.full((m,), 0 if label is None else int(label), dtype=torch.long)
        z = torch.randn(m, generator.latent_dim, generator=rng).to(device)
        was = generator.training
        generator.eval()
        try:
            return generator(z, None if labels is None else labels.to(device)).cpu(), labels
        finally:
            generator.train(was)

    @torch.no_grad()
    def score(x, labels=None):
        was = discriminator.training
        discriminator.eval()
        try:
            return variant.realness(discriminator, x.to(device),
                                    None if labels is None else labels.to(device)).cpu()
        finally:
            discriminator.train(was)

    if calibration is None:
        return propose, score
    return propose, (lambda x, labels=None: calibration.logit(score(x, labels).double()))


def default_realness(discriminator, x, labels) -> torch.Tensor:
    """A scoring discriminator's logit per sample; a PacGAN one judges each sample as a pack of
    copies of itself (its joint judgement of real packs has no per-sample form)."""
    pac = getattr(discriminator, "pac", 1)
    if pac > 1:
        x = x.repeat_interleave(pac, dim=0)
        labels = None if labels is None else labels.repeat_interleave(pac, dim=0)
    scores = discriminator(x, labels)
    return scores.reshape(len(scores), -1)[:, 0]


def refine_run(module, config, record: dict, n: int, method: str, *, y=None, seed: int = 0,
               steps: int = MH_STEPS):
    """`refine` for a run directory's model: calibrated on the run's own held-out split."""
    from .training import rebuild_data

    _, held_out = rebuild_data(config, record)
    rng = torch.Generator().manual_seed(int(seed))
    calibration = calibrate(module, config.variant(), held_out.x,
                            held_out.y if module.num_classes else None, rng)
    return refine(module, config.variant(), n, method, calibration, y=y, rng=rng, steps=steps)


__all__ = ["METHODS", "Calibration", "RefineStats", "calibrate", "metropolis_hastings",
           "proposal_functions", "refine", "refine_run", "rejection_sample"]
