"""Training checkpoints: trainable weights, optimizer, lr scheduler, schedule state and RNG states.

A checkpoint is `<run>/checkpoints/step-<NNNNNN>/state.pt` (one file, written atomically by rank 0).
RNG states are gathered from every rank so that dropout after `--resume` is the same as in an
uninterrupted run of the same world size.
"""
from __future__ import annotations

import logging
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)
_STEP_DIR = re.compile(r"^step-(\d+)$")


def rng_state() -> dict:
    """Python, numpy, torch (and CUDA) RNG states of this process."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that require grad (LoRA, and the aligner/encoder when unfrozen), on CPU."""
    return {n: p.detach().to("cpu").clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy saved trainable parameters into `model`; both name sets must match exactly."""
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    missing, unexpected = sorted(set(params) - set(state)), sorted(set(state) - set(params))
    if missing or unexpected:
        raise RuntimeError(
            f"checkpoint does not match the model's trainable parameters: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})"
        )
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(state[name].to(p.device, p.dtype))


def save_checkpoint(run_dir: Path, step: int, payload: dict, *, keep: int = 1) -> Path:
    """Write `payload` (see `benchmark.train`) for `step`; keep the newest `keep` checkpoints."""
    root = Path(run_dir) / "checkpoints"
    target = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    tmp.mkdir(parents=True, exist_ok=True)
    torch.save(payload, tmp / "state.pt")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    if keep > 0:
        for old in list_checkpoints(run_dir)[:-keep]:
            shutil.rmtree(old)
    log.info("checkpoint written: %s", target)
    return target


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and (p / "state.pt").is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict:
    """The payload saved by `save_checkpoint` (folder or state.pt path)."""
    path = Path(path)
    file = path / "state.pt" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no checkpoint at {file}")
    return torch.load(file, map_location="cpu", weights_only=False)
