"""Duplicate detection for curated samples."""

from __future__ import annotations

import numpy as np

from pinnff.geometry import cross_distances


def fingerprint(atoms, decimals: int = 3) -> bytes:
    """Key equal for frames that are the same up to rigid motion and atom relabelling.

    Sorted list of all interatomic distances rounded to ``decimals`` Angstrom,
    with the atomic numbers.
    """
    d = cross_distances(atoms.positions, atoms.positions)
    distances = np.sort(np.round(d[np.triu_indices(len(atoms), 1)], decimals))
    return np.sort(atoms.numbers).tobytes() + distances.tobytes()


def drop_duplicates(frames: list, seen: set[bytes]) -> list:
    """Frames whose fingerprint is not in ``seen`` (which is updated), in order."""
    unique = []
    for atoms in frames:
        key = fingerprint(atoms)
        if key not in seen:
            seen.add(key)
            unique.append(atoms)
    return unique
