"""Read and write pinnff structure files (extended XYZ, schema-checked).

The schema (``structures.schema.yaml`` beside this module) lists every key
with its type and unit. Frames are :class:`ase.Atoms`; labels live in
``atoms.info`` (per frame) and ``atoms.arrays`` (per atom) under the schema's
names, which deliberately avoid ASE's special ``energy``/``forces`` keys so
that no unit conversion happens behind our back.
"""

from __future__ import annotations

import functools
import io
import os
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np
import yaml

from pinnff.errors import InputError
from pinnff.io.atomic import atomic_open

_SCALAR_TYPES = {
    "str": (str,),
    "int": (int, np.integer),
    "float": (float, int, np.floating, np.integer),
}


@functools.cache
def schema() -> dict:
    """The structure-file schema as a dict with ``frame`` and ``arrays``."""
    text = resources.files("pinnff.io").joinpath("structures.schema.yaml").read_text()
    return yaml.safe_load(text)


def _check_value(kind: str, value: object) -> bool:
    if kind in _SCALAR_TYPES:
        return isinstance(value, _SCALAR_TYPES[kind]) and not isinstance(value, bool)
    array = np.asarray(value)
    if kind == "ints":
        return array.ndim <= 1 and np.issubdtype(array.dtype, np.integer)
    if kind == "floats":
        return array.ndim <= 1 and np.issubdtype(array.dtype, np.number)
    raise ValueError(f"unknown schema type {kind}")


def validate_frame(atoms, where: str) -> None:
    """Raise :class:`InputError` if ``atoms`` breaks the schema."""
    spec = schema()
    for key, rule in spec["frame"].items():
        if key not in atoms.info:
            if rule["required"]:
                raise InputError(f"{where}: missing frame key '{key}'")
            continue
        if not _check_value(rule["type"], atoms.info[key]):
            raise InputError(f"{where}: frame key '{key}' should be {rule['type']}, got {atoms.info[key]!r}")
    for key, rule in spec["arrays"].items():
        if key not in atoms.arrays:
            if rule["required"]:
                raise InputError(f"{where}: missing per-atom array '{key}'")
            continue
        array = atoms.arrays[key]
        if rule["type"] == "float3" and array.shape != (len(atoms), 3):
            raise InputError(f"{where}: array '{key}' should have shape ({len(atoms)}, 3)")
    unknown = set(atoms.info) - set(spec["frame"])
    if unknown:
        raise InputError(f"{where}: frame keys not in the schema: {sorted(unknown)}")


def read_structures(path: str | os.PathLike) -> list:
    """Read every frame of a structure file, checking each against the schema."""
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        return []
    try:
        frames = read(path, index=":", format="extxyz")
    except Exception as exc:  # ASE raises many types for malformed files
        raise InputError(f"{path}: not a readable extended XYZ file ({exc})") from None
    for index, atoms in enumerate(frames):
        atoms.info.pop("pbc", None)
        validate_frame(atoms, f"{path} frame {index}")
    return frames


def write_structures(path: str | os.PathLike, frames: Iterable) -> None:
    """Validate ``frames`` and write them atomically to ``path``."""
    from ase.io import write

    frames = list(frames)
    for index, atoms in enumerate(frames):
        validate_frame(atoms, f"{path} frame {index}")
    buffer = io.StringIO()
    if frames:
        write(buffer, frames, format="extxyz")
    with atomic_open(path) as handle:
        handle.write(buffer.getvalue())
