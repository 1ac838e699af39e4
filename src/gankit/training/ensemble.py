"""Vectorised training: many small GANs trained at once, as one batched ensemble.

An experiment such as the mode-collapse grid trains dozens of identical small MLP GANs that
differ only in their seed and data. Trained one after the other, most of the time goes into
Python and per-operation overhead on tiny matrices. Here E members are stacked along a leading
ensemble dimension: every weight becomes an (E, out, in) tensor, every layer a batched matrix
product (`torch.baddbmm`), and one `torch.optim.Adam` steps all members at once. Adam is
elementwise, so one Adam over stacked parameters *is* E independent Adams with the same settings.

Each member reproduces, up to float rounding, exactly what `training_loop` computes for it:

* the same initial weights: every member is a `GANModule` built by
  `gankit.training.build_module` from its own config (its seed), copied into the stack;
* the same data scaling: each member's `Standardizer` is fitted on its own data;
* the same random stream: each member owns a `torch.Generator` seeded as the loop seeds it, and
  draws, in the loop's order, batch indices, noise and penalty interpolates for every critic
  step, then the generator's noise (and labels, if conditional);
* the same computation: n_critic discriminator steps on (real, fake) batches with the model's
  loss (BCE or WGAN-GP with its penalty on interpolates), then one generator step with the
  discriminator frozen; minibatch discrimination and PacGAN packing act within each batch.

Members that share shapes and settings can be fused (see `ensemble_key`); conditional members
whose number of classes differs are fused too: label embeddings (or one-hot tables) and the
input columns they feed are zero-padded to the largest member, and padded weights receive exactly
zero gradient, so they stay zero and change nothing. With `--ema` the members' weight averages
are stacked like their generators and move after each generator step, as the loop's do.

"Up to float rounding": batched and unbatched products round differently and adversarial
training amplifies it, so the two paths agree to ~1e-6 over tens of steps (what the tests check)
and are statistically equivalent at full budgets (docs/benchmarks.md, "Figures behind the
defaults").

`train_many` groups members, trains each group (or, with vectorised=False, each member with
`training_loop`) and writes the trained weights back into the members' own modules, so that
everything downstream (sampling, metrics, checkpoints) uses the ordinary `GANModule`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..config import TrainConfig
from ..data.dataset import Dataset
from ..errors import GankitError, TrainingDiverged
from ..gans import LossContext, mean_per_member, variant_for
from ..models import GANModule
from ..nets.build import onehot_labels
from ..threads import per_worker, user_threads
from .ema import average_of, update_average
from .ensemble_nets import EnsembleDiscriminator, EnsembleGenerator
from .loop import Execution, LoopResult, rank_seed, training_loop

__all__ = ["EnsembleResult", "ensemble_key", "group_members", "train_ensemble", "train_many",
           "training_units", "vectorisable"]

# pairwise minibatch-discrimination tensors are (E, B, B, kernels, dim); cap their size per group
_MINIBATCH_FLOATS_PER_GROUP = 48_000_000


# --------------------------------------------------------------------------- grouping


def vectorisable(config: TrainConfig) -> bool:
    """Whether `train_ensemble` can train this member: MLP networks without spectral
    normalisation or look-ahead, of a variant whose losses the ensembles can reduce per member
    (`Variant.vectorisable`); the others train with the loop."""
    return (config.net == "mlp" and config.variant().vectorisable and not config.unroll
            and not config.spectral_norm)


def ensemble_key(config: TrainConfig, data: Dataset, device="cpu") -> tuple:
    """Members whose keys are equal can be trained together as one ensemble: everything that
    fixes the shapes and the arithmetic of a step must agree; seed, data values and (for
    conditional models) the number of classes may differ."""
    variant = config.variant()
    return (config.net, config.model, variant.name, bool(config.conditional), config.clusters,
            config.class_scaling, config.remedy,
            config.pac if config.remedy == "pac" else None,
            (config.minibatch_features, config.minibatch_kernel_dim) if config.remedy == "minibatch" else None,
            config.latent_dim, config.hidden, config.depth, config.batch_size, config.n_critic,
            config.lr_g, config.lr_d, tuple(config.betas_g), tuple(config.betas_d),
            variant.ensemble_settings(config), getattr(config, "lr_decay", "none"),
            config.ema, onehot_labels(config),
            config.total_steps(len(data)), config.log_every, len(data), data.kind,
            tuple(data.sample_shape), str(torch.device(device)))


def group_members(configs: Sequence[TrainConfig], datasets: Sequence[Dataset], device="cpu",
                  max_members: int | None = None) -> list[list[int]]:
    """Indices of members, grouped by `ensemble_key` (order kept), split into groups of at most
    `max_members` (default: no cap, except that minibatch discrimination, whose pairwise tensors
    grow with the group, is capped to keep memory modest)."""
    groups: dict[tuple, list[int]] = {}
    for i, (c, d) in enumerate(zip(configs, datasets)):
        groups.setdefault(ensemble_key(c, d, device), []).append(i)
    out = []
    for indices in groups.values():
        c = configs[indices[0]]
        cap = max_members or len(indices)
        if c.remedy == "minibatch":
            rows = c.batch_size // (c.pac if c.remedy == "pac" else 1)
            per_member = 3 * rows * rows * c.minibatch_features * c.minibatch_kernel_dim
            cap = max(1, min(cap, _MINIBATCH_FLOATS_PER_GROUP // per_member))
        for start in range(0, len(indices), cap):
            out.append(indices[start:start + cap])
    return out


# --------------------------------------------------------------------------- training


@dataclass
class EnsembleResult(LoopResult):
    """A member's outcome. seconds: the group's training time divided by its members."""

    diverged: bool = False
    diverged_at: int | None = None
    group_seconds: float = 0.0
    group_size: int = 1


def _draw_into(generators, buffers, kind: str, high: int = 0) -> None:
    """Fill buffers[e] from member e's own generator (the loop's calls, writing in place)."""
    for gen, out in zip(generators, buffers):
        if kind == "index":
            torch.randint(high, out.shape, generator=gen, out=out)
        elif kind == "normal":
            torch.randn(out.shape, generator=gen, out=out)
        else:
            torch.rand(out.shape, generator=gen, out=out)


def _stacked_data(modules, datasets, configs, device):
    """Every member's data on the device in its networks' units (its own scaling fitted, as the
    loop does), stacked: x (E, N, F) and labels (E, N) or None."""
    xs, ys = [], []
    for module, data, config in zip(modules, datasets, configs):
        module.to(device)
        x = data.x.to(device)
        y = data.y.to(device) if config.conditional else None
        module.fit_scaling(x, y, config.seed)
        x, y = module.encode(x, y)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), (torch.stack(ys) if ys[0] is not None else None)


def _log_members(buffer: list[dict], step: int, last: list[dict], diverged_at: list) -> None:
    """Each member's mean losses since the last log into last[e]; a member whose losses are no
    longer finite is marked diverged at this step (the loop would stop there) and keeps the
    losses it had."""
    means = {k: torch.stack([b[k] for b in buffer]).mean(dim=0) for k in buffer[0]}
    buffer.clear()
    finite = torch.stack([torch.isfinite(v) for v in means.values()]).all(dim=0)
    for e in range(len(last)):
        if diverged_at[e] is None:
            last[e] = {k: float(v[e]) for k, v in means.items()}
            if not bool(finite[e]):
                diverged_at[e] = step


class _EnsembleStep:
    """One generator step of every member at once: n_critic discriminator updates, then one
    generator update, each member drawing from its own stream in the loop's order."""

    def __init__(self, modules, x_all, y_all, configs, device):
        config = self.config = configs[0]
        members, features = len(modules), x_all.shape[2]
        self.x_all, self.y_all = x_all, y_all
        self.generator = EnsembleGenerator([m.generator for m in modules]).to(device)
        self.discriminator = EnsembleDiscriminator([m.discriminator for m in modules], features).to(device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=config.lr_g, betas=config.betas_g)
        # --ema: every member's average, stacked like its generator
        self.average = average_of(self.generator) if config.ema else None
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_d,
                                      betas=config.betas_d)
        self.rngs = [torch.Generator(device=device).manual_seed(rank_seed(c.seed, 0)) for c in configs]
        self.member_index = torch.arange(members, device=device).unsqueeze(1)      # (E, 1)
        self.index = torch.empty(members, config.batch_size, dtype=torch.long, device=device)
        self.z = torch.empty(members, config.batch_size, self.generator.latent_dim, device=device)
        # the losses are the variant's own, averaged per member instead of over everything
        self.variant = variant_for(config)
        self.ctx = LossContext(reduce=mean_per_member, penalty_weights=self.penalty_weights)

    def penalty_weights(self, real):
        # each member's interpolation weights from its own stream, as the loop draws them
        alpha = torch.empty(real.shape[:2] + (1,) * (real.dim() - 2), device=real.device)
        _draw_into(self.rngs, list(alpha), "uniform")
        return alpha

    def critic(self, x, y=None):
        # the variants' losses see one batch per member: (E, B, F) -> scores (E, B', outputs)
        return self.discriminator(x.unsqueeze(1), None if y is None else y.unsqueeze(1)).squeeze(1)

    def labels(self):
        return self.y_all.gather(1, self.index) if self.y_all is not None else None   # (E, B)

    def __call__(self, step: int, total: int) -> dict:
        config, n = self.config, self.x_all.shape[1]
        if getattr(config, "lr_decay", "none") == "linear":
            # the loop's schedule: a function of the step alone
            scale = 1.0 - (step - 1) / total
            for optimizer, base in ((self.opt_g, config.lr_g), (self.opt_d, config.lr_d)):
                for group in optimizer.param_groups:
                    group["lr"] = base * scale
        self.discriminator.requires_grad_(True)
        for _ in range(config.n_critic):
            _draw_into(self.rngs, list(self.index), "index", n)
            _draw_into(self.rngs, list(self.z), "normal")
            real = self.x_all[self.member_index, self.index]                    # (E, B, F)
            labels = self.labels()
            with torch.no_grad():
                fake = self.generator(self.z, labels)
            d_loss, d_logs = self.variant.discriminator_loss(self.critic, real, fake, labels, labels,
                                                             self.ctx)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.sum().backward()          # members are independent: d(sum)/d(member) = its own
            self.opt_d.step()
        # the generator step needs gradients through D, not of D's weights
        self.discriminator.requires_grad_(False)
        _draw_into(self.rngs, list(self.z), "normal")
        if self.y_all is not None:
            _draw_into(self.rngs, list(self.index), "index", n)
        labels = self.labels()
        g_loss, g_logs = self.variant.generator_loss(self.critic, self.generator(self.z, labels),
                                                     labels, self.ctx)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        self.opt_g.step()
        if self.average is not None:
            update_average(self.average, self.generator, config.ema, step)
        return {**d_logs, **g_logs}

    def copy_members_to(self, modules) -> None:
        self.discriminator.requires_grad_(True)
        for e, module in enumerate(modules):
            self.generator.copy_member_to(e, module.generator)
            self.discriminator.copy_member_to(e, module.discriminator)
            if self.average is not None:
                self.average.copy_member_to(e, module.generator_ema)


def train_ensemble(modules: Sequence[GANModule], datasets: Sequence[Dataset],
                   configs: Sequence[TrainConfig], *, device: str | torch.device = "cpu",
                   progress: bool | str = False,
                   on_log: Callable[[int, list[dict[str, float]]], None] | None = None
                   ) -> list[EnsembleResult]:
    """Train `modules[e]` on `datasets[e]` with resolved `configs[e]`, all at once.

    Each member reproduces `training_loop(modules[e], datasets[e], configs[e])` (no run
    directory) up to float rounding; the trained weights are written back into `modules[e]`.
    A member whose losses become NaN or infinite is reported as diverged at the logging step
    where the loop would have stopped; the others are unaffected (members never mix).
    progress: a bar (a string names what is trained).
    """
    if not (len(modules) == len(datasets) == len(configs)) or not modules:
        raise GankitError("train_ensemble needs one module, data set and config per member")
    device = torch.device(device)
    keys = {ensemble_key(c, d, device) for c, d in zip(configs, datasets)}
    if len(keys) != 1:
        raise GankitError("these members cannot share an ensemble (settings or data shapes differ); "
                          "use train_many, which groups them")
    config, members = configs[0], len(modules)
    if config.conditional and any(d.y is None for d in datasets):
        raise GankitError("conditional training needs labels for every member's data")
    x_all, y_all = _stacked_data(modules, datasets, configs, device)
    run_step = _EnsembleStep(modules, x_all, y_all, configs, device)
    total = config.total_steps(x_all.shape[1])
    log_every = config.log_interval(total)
    diverged_at: list[int | None] = [None] * members
    buffer: list[dict[str, torch.Tensor]] = []
    last: list[dict[str, float]] = [{} for _ in range(members)]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc=f"{progress if isinstance(progress, str) else 'ensemble'} "
                   f"x{members}", unit="step", dynamic_ncols=True, file=sys.stderr, leave=False,
                   disable=None)
    t0 = time.perf_counter()
    try:
        for step in range(1, total + 1):
            buffer.append(run_step(step, total))
            if step % log_every == 0 or step == total:
                _log_members(buffer, step, last, diverged_at)
                if on_log is not None:
                    on_log(step, last)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    run_step.copy_members_to(modules)
    return [EnsembleResult(steps_done=total, final_step=total, seconds=seconds / members,
                           last_losses=last[e], diverged=diverged_at[e] is not None,
                           diverged_at=diverged_at[e], group_seconds=seconds, group_size=members)
            for e in range(members)]


def _unit_label(configs, datasets) -> str:
    """What a progress bar says it trains: the variant (and options) on which data."""
    c = configs[0]
    options = "".join(f" + {o}" for o in (c.remedy, f"unroll {c.unroll}" if c.unroll else None,
                                           "SN" if c.spectral_norm else None,
                                           "conditional" if c.conditional else None) if o)
    return f"{c.variant().label}{options} on {datasets[0].name}"


def _train_unit(modules, datasets, configs, vectorised: bool, device, progress: bool = False
                ) -> list[EnsembleResult]:
    """Train one unit of work in place: a group as an ensemble, or one member with the loop.
    progress: a bar naming what is trained."""
    label = _unit_label(configs, datasets) if progress else None
    if vectorised:
        return train_ensemble(modules, datasets, configs, device=device, progress=label or False)
    t0 = time.perf_counter()
    try:
        loop = training_loop(modules[0], datasets[0], configs[0],
                             execution=Execution(device=str(device)), progress=label)
        return [EnsembleResult(loop.steps_done, loop.final_step, loop.seconds, loop.last_losses,
                               group_seconds=loop.seconds)]
    except TrainingDiverged as exc:
        seconds = time.perf_counter() - t0
        step = _step_of(str(exc))
        return [EnsembleResult(0, step or 0, seconds, {}, diverged=True, diverged_at=step,
                               group_seconds=seconds)]


def _worker_init(threads: int) -> None:
    torch.set_num_threads(max(1, int(threads)))


def _train_unit_remote(modules, datasets, configs, vectorised, device):
    """In a worker process: train, and send back the trained weights (state dicts)."""
    results = _train_unit(modules, datasets, configs, vectorised, device)
    return [m.state_dict() for m in modules], results


def _unit_cost(configs: Sequence[TrainConfig], datasets: Sequence[Dataset]) -> float:
    # forward-pass equivalents per generator step: critic steps on (real, fake[, interpolates])
    c = configs[0]
    per_step = c.n_critic * c.variant().critic_passes + 2
    # each look-ahead step is about a critic step and its backward (x3 through second order)
    per_step += c.unroll * (6 if c.unroll_order == "second" else 2)
    return len(configs) * c.total_steps(len(datasets[0])) * per_step * c.generators


def training_units(configs: Sequence[TrainConfig], datasets: Sequence[Dataset], *,
                   vectorised: bool = True, device: str | torch.device = "cpu",
                   max_members: int | None = None) -> list[list[int]]:
    """What `train_many` trains as a whole, as lists of member indices: the vectorised
    ensembles (`group_members` over the `vectorisable` members, in order), then one unit per
    member that trains with the loop (all of them when `vectorised` is False)."""
    fused = [i for i in range(len(configs)) if vectorised and vectorisable(configs[i])]
    units = [[fused[j] for j in group] for group in
             group_members([configs[i] for i in fused], [datasets[i] for i in fused], device,
                           max_members)] if fused else []
    alone = set(fused)
    return units + [[i] for i in range(len(configs)) if i not in alone]


def train_many(modules: Sequence[GANModule], datasets: Sequence[Dataset],
               configs: Sequence[TrainConfig], *, vectorised: bool = True,
               device: str | torch.device = "cpu", max_members: int | None = None,
               workers: int = 1, progress: bool = False,
               on_group: Callable[[list[int], list[EnsembleResult]], None] | None = None
               ) -> list[EnsembleResult]:
    """Train every member, in place; results in the members' order.

    vectorised=True groups compatible members (`group_members`) and trains each group with
    `train_ensemble`; vectorised=False, and members that are not `vectorisable`, are trained
    with `training_loop` one after the other (a diverged member is reported, not raised). Both compute the same numbers up to float rounding.
    workers > 1 trains groups (or members) in that many worker processes at once, largest
    first, sharing the cores (`gankit.threads.per_worker`, unless OMP_NUM_THREADS says); the
    trained weights come back into `modules`. Results do not depend on `workers`.
    """
    results: list[EnsembleResult | None] = [None] * len(modules)
    units = training_units(configs, datasets, vectorised=vectorised, device=device,
                           max_members=max_members)

    def pick(unit):
        return [modules[i] for i in unit], [datasets[i] for i in unit], [configs[i] for i in unit]

    def fuse(unit):
        return vectorised and vectorisable(configs[unit[0]])

    def finish(unit, out):
        for i, result in zip(unit, out):
            results[i] = result
        if on_group is not None:
            on_group(unit, out)

    workers = max(1, int(workers))
    if workers == 1 or len(units) == 1:
        for unit in units:
            finish(unit, _train_unit(*pick(unit), fuse(unit), device, progress))
        return results  # type: ignore[return-value]

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    units = sorted(units, key=lambda u: _unit_cost([configs[i] for i in u], [datasets[i] for i in u]),
                   reverse=True)                     # longest first: a good greedy schedule
    context = multiprocessing.get_context("spawn")   # no fork of a process with OpenMP threads
    with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=context,
                             initializer=_worker_init,
                             initargs=(user_threads() or per_worker(workers),)) as pool:
        futures = {pool.submit(_train_unit_remote, *pick(unit), fuse(unit), str(device)): unit
                   for unit in units}
        for future in as_completed(futures):
            unit = futures[future]
            states, out = future.result()
            for i, state in zip(unit, states):
                modules[i].load_state_dict(state)
                modules[i].to(device)
            finish(unit, out)
    return results  # type: ignore[return-value]


def _step_of(message: str) -> int | None:
    import re

    match = re.search(r"at step (\d+)", message)
    return int(match.group(1)) if match else None
