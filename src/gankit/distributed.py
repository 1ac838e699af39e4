"""Data-parallel training with PyTorch's own engine (`torch.distributed`, launched by `torchrun`).

    torchrun --nproc_per_node=2 -m gankit train --data ring8 --model wgan-gp --out runs/ring8

Every process runs the one training loop on an identical copy of the networks. The scheme
(see docs/distributed.md for why):

* Randomness: every rank seeds the SAME stream (the run's seed), draws the GLOBAL batch's data
  indices, noise and penalty interpolation weights (per-process batch B times world size W) and
  keeps its own slice [rank*B, (rank+1)*B). With W = 1 this is exactly the single-process draw.
* Gradients: after each backward pass the gradients of the network just differentiated are
  averaged across ranks with one all-reduce of a flat buffer (as stylegan2-ada-pytorch does),
  not by a `DistributedDataParallel` wrapper, which mishandles the gradient penalty's double
  backward. Since every loss is a mean over the batch, the average of the W per-rank gradients
  is the gradient of the global batch of W*B, so W processes follow one process with batch W*B.
* One writer: only rank 0 writes the run directory; every rank resumes from the same checkpoint.

Nothing here is needed for a single process: without torchrun (or with one process) none of
these functions is called and training is bit-identical to a plain run.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Sequence

import torch
import torch.distributed as dist

from .errors import GankitError

BACKENDS = ("auto", "gloo", "nccl")
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: its rank among world_size processes, and its device."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    device: torch.device = torch.device("cpu")
    backend: str | None = None        # None: no process group (a single process)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "backend": self.backend,
                "local_world_size": self.local_world_size,
                "nodes": max(1, self.world_size // max(1, self.local_world_size))}


# ------------------------------------------------------------------------------ environment
def launched_by_torchrun(environ=None) -> bool:
    """True when the torchrun variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*) are all set."""
    environ = os.environ if environ is None else environ
    return all(name in environ for name in TORCHRUN_VARIABLES)


def env_ranks(environ=None) -> tuple[int, int, int, int]:
    """(rank, world_size, local_rank, local_world_size) from torchrun's variables (0, 1, 0, 1 if absent)."""
    environ = os.environ if environ is None else environ
    try:
        rank = int(environ.get("RANK", 0))
        world = int(environ.get("WORLD_SIZE", 1))
        local = int(environ.get("LOCAL_RANK", 0))
        local_world = int(environ.get("LOCAL_WORLD_SIZE", world))
    except ValueError as exc:
        raise GankitError(f"torchrun's RANK/WORLD_SIZE/LOCAL_RANK must be integers ({exc})") from None
    if world < 1 or not 0 <= rank < world:
        raise GankitError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}")
    return rank, world, local, local_world


def choose_backend(device: torch.device | str, requested: str | None = None) -> str:
    """gloo for CPU tensors, nccl for CUDA tensors; `requested` ("gloo"/"nccl") overrides."""
    device = torch.device(device)
    if requested in (None, "", "auto"):
        return "nccl" if device.type == "cuda" else "gloo"
    if requested not in BACKENDS:
        raise GankitError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested == "nccl" and device.type != "cuda":
        raise GankitError("the nccl backend needs CUDA devices; pass --device cuda, or use "
                          "--backend gloo for CPU training")
    if requested == "nccl" and not dist.is_nccl_available():
        raise GankitError("this torch build has no NCCL; use --backend gloo")
    if requested == "gloo" and not dist.is_gloo_available():
        raise GankitError("this torch build has no gloo backend")
    return requested


def device_for(requested: str | torch.device | None, local_rank: int) -> torch.device:
    """The device of the process with this local rank: "cuda" means cuda:LOCAL_RANK."""
    device = torch.device(requested or "cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise GankitError("--device cuda was given but no CUDA device is visible")
        if device.index is None:
            count = torch.cuda.device_count()
            if local_rank >= count:
                raise GankitError(f"local rank {local_rank} has no GPU: this machine shows {count}; "
                                  f"use --nproc_per_node {count} or fewer")
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def init_distributed(device: str | torch.device | None = "cpu", backend: str | None = None,
                     timeout_s: float | None = None) -> DistributedContext:
    """Join the process group torchrun set up (env://) and pick this process's device.

    With a world size of 1 (or outside torchrun) no group is created and the context says so.
    """
    rank, world, local, local_world = env_ranks()
    if world == 1 or not launched_by_torchrun():
        return DistributedContext(device=device_for(device, 0))
    device = device_for(device, local)
    backend = choose_backend(device, backend)
    if not dist.is_initialized():
        kwargs: dict[str, Any] = {"backend": backend, "init_method": "env://", "rank": rank,
                                  "world_size": world}
        if timeout_s:
            kwargs["timeout"] = timedelta(seconds=timeout_s)
        if backend == "nccl":
            kwargs["device_id"] = device
        dist.init_process_group(**kwargs)
    else:
        backend = str(dist.get_backend())      # joined earlier (e.g. by a caller's session)
    return DistributedContext(rank, world, local, local_world, device, backend)


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def distributed_session(device: str | torch.device | None = "cpu", backend: str | None = None,
                        timeout_s: float | None = None) -> Iterator[DistributedContext]:
    """`with distributed_session(...) as ctx:` joins the group and always leaves it."""
    created = not (dist.is_available() and dist.is_initialized())
    ctx = init_distributed(device, backend, timeout_s)
    owned = created and ctx.backend is not None
    try:
        yield ctx
    except BaseException:
        if owned:
            teardown()          # no barrier: the other ranks may never get there
        raise
    if owned:
        # leave together, so that no rank tears its connections down under another's feet
        dist.barrier()
        teardown()


# --------------------------------------------------------------------------- rank helpers
def is_active() -> bool:
    """A process group with more than one process exists."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_active():
        dist.barrier()


def shard_slice(per_rank: int, rank: int, world_size: int) -> slice:
    """Rows of a global batch of per_rank*world_size that belong to `rank`."""
    return slice(rank * per_rank, (rank + 1) * per_rank)


def take_shard(global_batch: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's contiguous share of a tensor drawn for the whole global batch (dim 0)."""
    if world_size == 1:
        return global_batch
    size = global_batch.shape[0]
    if size % world_size:
        raise GankitError(f"a global batch of {size} does not split over {world_size} processes")
    return global_batch[shard_slice(size // world_size, rank, world_size)]


def shard_seeds(seeds: Sequence[int], rank: int | None = None,
                world_size: int | None = None) -> list[int]:
    """This rank's contiguous share of `seeds` (the first len % world ranks take one more).

    Concatenating every rank's share in rank order gives `seeds` back, so results gathered
    with `gather_objects` line up with a one-process run. A rank may get an empty list.
    """
    rank = get_rank() if rank is None else int(rank)
    world_size = get_world_size() if world_size is None else int(world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise GankitError(f"rank {rank} is outside a world of {world_size} processes")
    seeds = list(seeds)
    base, extra = divmod(len(seeds), world_size)
    start = rank * base + min(rank, extra)
    return seeds[start:start + base + (1 if rank < extra else 0)]


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's `obj` (picklable), in rank order, on every rank; [obj] without a group.

    Rank 0 typically concatenates them (e.g. per-seed results of `shard_seeds`) and writes.
    """
    if not is_active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


# ------------------------------------------------------------------------------ collectives
def all_reduce_gradients(module: torch.nn.Module) -> None:
    """Average the gradients of `module` across ranks, in place, with one flat all-reduce.

    Parameters without a gradient (None) are skipped; every rank runs the same code on the same
    networks, so the set is the same everywhere. Non-finite values are left as they are so that
    the loop's divergence check still sees them.
    """
    if not is_active():
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(dist.get_world_size())
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view(g.shape))
        offset += n


def broadcast_module(module: torch.nn.Module, src: int = 0) -> None:
    """Make every rank's parameters and buffers equal to rank `src`'s (once, at start)."""
    if not is_active():
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if not tensor.is_contiguous():
                copy = tensor.contiguous()
                dist.broadcast(copy, src)
                tensor.copy_(copy)
            else:
                dist.broadcast(tensor, src)


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank `src`'s `obj` (picklable) on every rank; `obj` itself without a group."""
    if not is_active():
        return obj
    box = [obj if get_rank() == src else None]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def average_scalars(values: dict[str, float], device: torch.device | str = "cpu") -> dict[str, float]:
    """The mean of each logged scalar over ranks (same keys, same order on every rank)."""
    if not is_active() or not values:
        return dict(values)
    keys = sorted(values)
    buffer = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    buffer /= dist.get_world_size()
    return {k: float(v) for k, v in zip(keys, buffer.tolist())}


def average_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of `tensor` over ranks (a new tensor; `tensor` itself without a group)."""
    if not is_active():
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / dist.get_world_size()


def convert_sync_batchnorm(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """BatchNorm layers -> torch.nn.SyncBatchNorm (statistics over the global batch).

    torch's SyncBatchNorm runs on GPUs only; on CPU this refuses with a clear message.
    """
    if torch.device(device).type != "cuda":
        raise GankitError("--sync-bn needs CUDA devices (torch.nn.SyncBatchNorm supports GPU "
                          "inputs only); on CPU each process normalises with its own batch")
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)


def rank_prefix() -> str:
    """'[rank 3] ' for messages from a non-zero rank under torchrun, '' otherwise."""
    rank = os.environ.get("RANK") if launched_by_torchrun() else None
    return f"[rank {rank}] " if rank not in (None, "0") else ""

