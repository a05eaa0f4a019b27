"""A model on disk: the registry of model kinds, checkpoints, and loading for inference.

A checkpoint is written with ``torch.save`` as a plain dict of tensors,
strings and numbers (weights, the model's :meth:`config_dict` and metadata
such as settings and data hashes) and read with
``torch.load(..., weights_only=True)``, so loading one never executes code.
A file that is missing, truncated, not a pinnff checkpoint, of an unknown
model kind or of a kind the caller cannot use gives an
:class:`~pinnff.errors.InputError` naming the file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from pinnff.errors import InputError
from pinnff.io.atomic import atomic_open
from pinnff.model.ml_potential import MLPotential
from pinnff.model.physics_potential import KINDS as PHYSICS_KINDS
from pinnff.model.physics_potential import PhysicsPotential

FORMAT = "pinnff-checkpoint-1"

MODEL_CLASSES = {**{kind: PhysicsPotential for kind in PHYSICS_KINDS}, MLPotential.kind: MLPotential}
"""Model kind -> class with ``from_config_dict`` and ``config_dict``: every kind a checkpoint may hold.
``pinn`` (network-predicted AMOEBA+ parameters) and ``physics`` (one AMOEBA+ parameter set per atom type)
have AMOEBA+ per-atom parameters (:data:`PHYSICS_KINDS`, what MD needs); ``ml`` is pure machine learning."""

KINDS = tuple(MODEL_CLASSES)
"""Every model kind: pinn, physics, ml."""


def save_checkpoint(path: str | Path, model: torch.nn.Module, metadata: dict) -> None:
    """Write ``model``'s weights, its config and ``metadata`` (JSON-serialisable) atomically."""
    payload = {"format": FORMAT, "model_config": json.dumps(model.config_dict()),
               "metadata": json.dumps(metadata, sort_keys=True), "state_dict": model.state_dict()}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_checkpoint(path: str | Path, kinds: tuple[str, ...] = KINDS) -> tuple[torch.nn.Module, dict]:
    """``(model, metadata)`` from a checkpoint whose model kind is one of ``kinds``."""
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
    kind = config.get("kind")
    if kind not in MODEL_CLASSES:
        raise InputError(f"{path}: unknown model kind {kind!r}")
    if kind not in kinds:
        raise InputError(f"{path}: a model of kind {kind!r}; this needs one of {list(kinds)}")
    model = MODEL_CLASSES[kind].from_config_dict(config)
    floating = [t.dtype for t in payload["state_dict"].values() if torch.is_floating_point(t)]
    if floating:
        model.to(dtype=floating[0])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit the model ({str(exc).splitlines()[0]})") from None
    return model, json.loads(payload["metadata"])


def load_model(path: str | Path, kinds: tuple[str, ...] = KINDS) -> torch.nn.Module:
    """The model of a checkpoint (one of ``kinds``), frozen for inference: eval mode, no parameter gradients."""
    model, _ = load_checkpoint(path, kinds)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model
