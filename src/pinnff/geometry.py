"""Rigid-body geometry shared by every stage (numpy, Angstrom).

Shapes: positions ``(n, 3)``; masses ``(n,)``; rotations ``(3, 3)``.
"""

from __future__ import annotations

import numpy as np


def center_of_mass(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Mass-weighted centre, shape ``(3,)``."""
    return masses @ positions / masses.sum()


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly from SO(3) (unit quaternion method)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def random_unit_vector(rng: np.random.Generator) -> np.ndarray:
    """A direction drawn uniformly on the unit sphere, shape ``(3,)``."""
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def cross_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All distances between rows of ``a`` ``(n, 3)`` and ``b`` ``(m, 3)``: ``(n, m)``."""
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def min_contact(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest distance between any atom of ``a`` and any atom of ``b``."""
    return float(cross_distances(a, b).min())


def min_contact_by_molecule(positions: np.ndarray, mol_id: np.ndarray) -> float:
    """Smallest intermolecular atom-atom distance of a cluster (inf for one molecule)."""
    ids = np.unique(mol_id)
    best = np.inf
    for i, first in enumerate(ids):
        for second in ids[i + 1 :]:
            best = min(best, min_contact(positions[mol_id == first], positions[mol_id == second]))
    return float(best)


def min_com_distance(positions: np.ndarray, masses: np.ndarray, mol_id: np.ndarray) -> float:
    """Smallest centre-of-mass distance between molecules of a cluster."""
    coms = np.array([center_of_mass(positions[mol_id == m], masses[mol_id == m]) for m in np.unique(mol_id)])
    if len(coms) < 2:
        return float("inf")
    d = cross_distances(coms, coms)
    return float(d[np.triu_indices(len(coms), 1)].min())


def minimum_image(vector: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Minimum-image version of ``vector`` (..., 3) in an orthorhombic box (3,)."""
    return vector - box * np.round(vector / box)


def kabsch_rmsd(a: np.ndarray, b: np.ndarray) -> float:
    """RMSD between two conformations after optimal superposition (same atom order)."""
    rotation, shift = kabsch_transform(a, b)
    return float(np.sqrt(np.mean(np.sum((a @ rotation + shift - b) ** 2, axis=1))))


def kabsch_transform(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``R`` (3, 3) and translation ``t`` (3,) with ``source @ R + t`` closest to ``target``."""
    source_centre, target_centre = source.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((source - source_centre).T @ (target - target_centre))
    sign = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, sign]) @ vt
    return rotation, target_centre - source_centre @ rotation
