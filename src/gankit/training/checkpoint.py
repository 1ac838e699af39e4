"""Checkpoints: weights, optimizer state and RNG state in one safetensors file, written atomically.

One file per checkpoint so that one `os.replace` makes it appear whole or not at all; a write
interrupted midway leaves only a temporary file, which loading ignores. Everything that is not
a tensor (step, optimizer hyper-parameters) travels as JSON in the safetensors header, so
loading never unpickles anything.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from ..errors import GankitError

FORMAT = "gankit-checkpoint-1"
CHECKPOINT_RE = re.compile(r"^step_(\d{8})\.safetensors$")


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


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_checkpoint(path: Path, module: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    rng_states: dict[str, torch.Tensor], step: int, extra: dict | None = None) -> Path:
    tensors = {f"model.{k}": v.detach().cpu().clone().contiguous()
               for k, v in module.state_dict().items()}
    meta: dict[str, Any] = {"format": FORMAT, "step": int(step), "extra": extra or {}}
    for name, optimizer in optimizers.items():
        _optimizer_to_flat(f"optim_{name}", optimizer, tensors, meta)
    for name, state in rng_states.items():
        tensors[f"rng.{name}"] = state.detach().cpu().clone().contiguous()
    meta["optimizers"] = sorted(optimizers)
    payload = save_safetensors_bytes(tensors, metadata={"gankit": json.dumps(meta, default=float)})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(path), payload)
    return Path(path)


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.exists():
        raise GankitError(f"checkpoint {path} does not exist")
    payload = path.read_bytes()
    try:
        tensors = load_safetensors_bytes(payload)
        header_len = int.from_bytes(payload[:8], "little")
        header = json.loads(payload[8:8 + header_len])
        meta = json.loads(header["__metadata__"]["gankit"])
    except (SafetensorError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise GankitError(f"checkpoint {path} is corrupt or not a gankit checkpoint "
                          "(delete it to fall back to the previous one)") from None
    if meta.get("format") != FORMAT:
        raise GankitError(f"checkpoint {path} has format {meta.get('format')!r}; expected {FORMAT}")
    return Checkpoint(step=int(meta["step"]), tensors=tensors, meta=meta, path=path)


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
        except (ValueError, KeyError, RuntimeError) as exc:
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
