"""Model checkpoints: weights plus the settings and data hashes that made them.

Saved with ``torch.save`` as a plain dict of tensors, strings and numbers, and
loaded with ``torch.load(..., weights_only=True)``, so loading a checkpoint
never executes code. A file that is missing, truncated or not a pinnff
checkpoint gives an :class:`~pinnff.errors.InputError` naming the file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from pinnff.errors import InputError
from pinnff.io.atomic import atomic_open

FORMAT = "pinnff-checkpoint-1"


def save_checkpoint(path: str | Path, model: torch.nn.Module, metadata: dict) -> None:
    """Write ``model``'s weights, its config and ``metadata`` (JSON-serialisable) atomically."""
    payload = {"format": FORMAT, "model_config": json.dumps(model.config_dict()),
               "metadata": json.dumps(metadata, sort_keys=True), "state_dict": model.state_dict()}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_checkpoint(path: str | Path, builders: dict) -> tuple[torch.nn.Module, dict]:
    """``(model, metadata)`` from a checkpoint; ``builders`` maps model kind -> class with ``from_config_dict``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle refused, ...
        raise InputError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path}: not a pinnff checkpoint")
    config = json.loads(payload["model_config"])
    if config.get("kind") not in builders:
        raise InputError(f"{path}: unknown model kind {config.get('kind')!r}")
    model = builders[config["kind"]].from_config_dict(config)
    floating = [t.dtype for t in payload["state_dict"].values() if torch.is_floating_point(t)]
    if floating:
        model.to(dtype=floating[0])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit the model ({str(exc).splitlines()[0]})") from None
    return model, json.loads(payload["metadata"])
