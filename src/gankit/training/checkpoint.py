"""Checkpoints: weights, optimizer state and RNG state in one safetensors file, written atomically.

One file per checkpoint so that one `os.replace` makes it appear whole or not at all; a write
interrupted midway leaves only a temporary file, which loading ignores. Everything that is not
a tensor (step, optimizer hyper-parameters, identity) travels as JSON in the safetensors header,
so loading never unpickles anything, and that JSON is checked before it is used: a crafted or
damaged header is refused with one line, never a traceback.

A checkpoint knows what it belongs to: its `identity` (model, the settings that shape the
networks, the data spec and fingerprint, gankit's version) is compared with the run that loads
it (`check_identity`), so a checkpoint copied in from another model or other data is refused
even when its tensor shapes happen to agree. Only finite states are saved (`check_finite_state`):
a "last good" checkpoint is one training can continue from.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from ..errors import GankitError, TrainingDiverged
from ..files import atomic_write

FORMAT = "gankit-checkpoint-1"
CHECKPOINT_RE = re.compile(r"^step_(\d{8})\.safetensors$")
MAX_STEP = 10**8 - 1                  # what the 8-digit file names can hold
# identity fields that may differ between a checkpoint and its run without making it another
# model: the version of gankit that wrote it is recorded for the user, not compared
INFORMATIONAL = ("gankit_version",)


@dataclass
class Checkpoint:
    step: int
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]
    path: Path


def _optimizer_to_flat(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict, meta: dict):
    state = optimizer.state_dict()
    scalars = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{index}.{name}"] = value.detach().cpu().clone().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    meta[prefix] = {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_from_flat(prefix: str, tensors: dict, meta: dict) -> dict:
    info = meta[prefix]
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + ".state."):
            index, name = key[len(prefix) + 7:].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    for key, value in info["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    groups = info["param_groups"]
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    return {"state": state, "param_groups": groups}


def check_finite_state(module: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                       step: int) -> None:
    """Refuse to checkpoint weights or optimizer moments that are NaN or infinite."""
    bad = [f"weight {name}" for name, value in module.state_dict().items()
           if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    for label, optimizer in optimizers.items():
        for state in optimizer.state.values():
            for name, value in state.items():
                if isinstance(value, torch.Tensor) and value.is_floating_point() \
                        and not bool(torch.isfinite(value).all()):
                    bad.append(f"optimizer {label} {name}")
    if bad:
        raise TrainingDiverged(
            f"training diverged at step {step}: {', '.join(sorted(set(bad))[:3])} became NaN or "
            "infinite; the last good checkpoint is kept (resume from it with a lower learning "
            "rate: --resume RUN --lr-g ... --lr-d ...)")


def save_checkpoint(path: Path, module: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    rng_states: dict[str, torch.Tensor], step: int, extra: dict | None = None,
                    identity: dict | None = None) -> Path:
    if not 0 <= int(step) <= MAX_STEP:
        raise GankitError(f"step {step} is outside 0..{MAX_STEP}")
    tensors = {f"model.{k}": v.detach().cpu().clone().contiguous()
               for k, v in module.state_dict().items()}
    meta: dict[str, Any] = {"format": FORMAT, "step": int(step), "extra": extra or {}}
    if identity is not None:
        meta["identity"] = identity
    for name, optimizer in optimizers.items():
        _optimizer_to_flat(f"optim_{name}", optimizer, tensors, meta)
    for name, state in rng_states.items():
        tensors[f"rng.{name}"] = state.detach().cpu().clone().contiguous()
    meta["optimizers"] = sorted(optimizers)
    payload = save_safetensors_bytes(tensors, metadata={"gankit": json.dumps(meta, default=float)})
    return atomic_write(path, payload)


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.exists():
        raise GankitError(f"checkpoint {path} does not exist")
    corrupt = (f"checkpoint {path} is corrupt or not a gankit checkpoint (delete it to fall back "
               "to the previous one)")
    try:
        payload = path.read_bytes()
        tensors = load_safetensors_bytes(payload)
        header_len = int.from_bytes(payload[:8], "little")
        header = json.loads(payload[8:8 + header_len])
        meta = json.loads(header["__metadata__"]["gankit"])
    except (SafetensorError, ValueError, KeyError, TypeError, RecursionError, OSError):
        raise GankitError(corrupt) from None
    if not isinstance(meta, dict):
        raise GankitError(f"{corrupt}: its metadata is a {type(meta).__name__}, not a mapping")
    if meta.get("format") != FORMAT:
        raise GankitError(f"checkpoint {path} has format {meta.get('format')!r}; expected {FORMAT}")
    step = meta.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
        raise GankitError(f"{corrupt}: its step is {step!r}, not a whole number in 0..{MAX_STEP}")
    named = CHECKPOINT_RE.match(path.name)
    if named and int(named.group(1)) != step:
        raise GankitError(f"{corrupt}: it says step {step} but is named for step {int(named.group(1))}")
    for key in ("extra", "identity"):
        if key in meta and not isinstance(meta[key], dict):
            raise GankitError(f"{corrupt}: its {key!r} metadata is not a mapping")
    return Checkpoint(step=step, tensors=tensors, meta=meta, path=path)


def check_identity(checkpoint: Checkpoint, expected: dict, run_dir=None) -> None:
    """Refuse a checkpoint that belongs to another model, other settings or other data.

    Checkpoints written before identities were recorded carry none and are accepted."""
    recorded = checkpoint.meta.get("identity")
    if recorded is None:
        return
    differ = [key for key in sorted(set(recorded) | set(expected))
              if key not in INFORMATIONAL and key in recorded and key in expected
              and recorded[key] != expected[key]]
    if differ:
        shown = "; ".join(f"{k}: checkpoint {recorded[k]!r}, run {expected[k]!r}" for k in differ[:3])
        where = f" {run_dir}" if run_dir is not None else ""
        raise GankitError(f"checkpoint {checkpoint.path} belongs to another model or other data "
                          f"than the run{where} ({shown}); use the run it was written by")


def restore(checkpoint: Checkpoint, module: torch.nn.Module,
            optimizers: dict[str, torch.optim.Optimizer] | None = None) -> dict[str, torch.Tensor]:
    """Load weights (and optimizer state) into the given objects; return the RNG states."""
    weights = {k[6:]: v for k, v in checkpoint.tensors.items() if k.startswith("model.")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = sorted(k for k in set(weights) & set(expected) if weights[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"missing {missing[:3]}")
        if unexpected:
            details.append(f"unexpected {unexpected[:3]}")
        if wrong:
            k = wrong[0]
            details.append(f"shape of {k} is {tuple(weights[k].shape)} in the file but "
                           f"{tuple(expected[k].shape)} in the model")
        raise GankitError(f"checkpoint {checkpoint.path} does not match this model ({'; '.join(details)}); "
                          "was it written with other settings?")
    module.load_state_dict(weights)
    for name, optimizer in (optimizers or {}).items():
        prefix = f"optim_{name}"
        if prefix not in checkpoint.meta:
            raise GankitError(f"checkpoint {checkpoint.path} holds no state for optimizer {name!r}")
        try:
            optimizer.load_state_dict(_optimizer_from_flat(prefix, checkpoint.tensors, checkpoint.meta))
        except (ValueError, KeyError, RuntimeError, TypeError, AttributeError, IndexError) as exc:
            raise GankitError(f"optimizer state in {checkpoint.path} does not match: {exc}") from None
    return {k[4:]: v for k, v in checkpoint.tensors.items() if k.startswith("rng.")}


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_RE.match(p.name))]
    return sorted(found)


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step_{step:08d}.safetensors"


def prune_checkpoints(run_dir: str | Path, keep: int) -> None:
    for _, path in list_checkpoints(run_dir)[:-keep]:
        path.unlink(missing_ok=True)
