"""Where finished labels live: a per-structure cache keyed by geometry and level.

Each computed structure (a cluster or a monomer) is one small JSON file named
by :func:`structure_key`, written atomically, so a killed job loses at most
the structure in progress and a rerun picks up every finished one. Shipped
labels (resources/) are looked up the same way, so they are never recomputed.

Keys use the energy level (:func:`pinnff.label.backends.energy_level`), so
counterpoise-corrected labelling reuses every shipped uncorrected cluster and
monomer energy. A monomer in the basis of its whole cluster is keyed by the
cluster's atomic numbers with the other molecules' numbers negated.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pinnff.io.atomic import write_json
from pinnff.label.backends import energy_level


def structure_key(level: str, numbers: np.ndarray, positions_A: np.ndarray) -> str:
    """Hex key of (energy level, atomic numbers (negative: ghost atoms), positions rounded to 1e-5 A)."""
    level = energy_level(level)
    digest = hashlib.sha256(level.encode())
    digest.update(np.asarray(numbers, dtype=np.int64).tobytes())
    digest.update((np.round(np.asarray(positions_A, dtype=float), 5) + 0.0).tobytes())
    return digest.hexdigest()[:32]


def ghost_numbers(numbers: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Atomic numbers with the atoms outside the boolean mask ``real`` negated (ghost atoms)."""
    return np.where(real, numbers, -np.asarray(numbers))


class LabelStore:
    """Per-structure results: ``{"energy_kcal", "forces_kcal_A"?, "wall_s", "engine"}`` or a failure."""

    def __init__(self, cache_dir: str | Path):
        self.cache_dir = Path(cache_dir)
        self.shipped: dict[str, dict] = {}
        self.shipped_by_id: dict[str, tuple[np.ndarray, np.ndarray, dict]] = {}

    def add_shipped(self, frames: list, level: str) -> int:
        """Index labelled frames from shipped files at ``level``'s energy level; returns how many were added.

        Whole clusters give their total energy; cluster frames also give their
        monomers' energies (from ``e_monomers_kcal``) under each monomer's key,
        and, when counterpoise-corrected, the monomers' energies in the
        cluster's basis (``e_monomers_cp_kcal``) under their ghost keys.
        """
        added = 0
        for atoms in frames:
            if energy_level(atoms.info.get("level", "")) != energy_level(level) or atoms.info.get("label_status") != "ok":
                continue
            entry = {"energy_kcal": float(atoms.info["energy_kcal"]), "wall_s": atoms.info.get("label_wall_s", 0.0),
                     "engine": atoms.info.get("label_engine", "shipped")}
            if "forces_kcal_A" in atoms.arrays:
                entry["forces_kcal_A"] = atoms.arrays["forces_kcal_A"].tolist()
            if "e_monomers_cp_kcal" in atoms.info:
                entry["ghost_energies_kcal"] = np.atleast_1d(atoms.info["e_monomers_cp_kcal"]).tolist()
                entry["ghost_engine"] = atoms.info.get("cp_engine", "shipped")
            key = structure_key(level, atoms.numbers, atoms.positions)
            entry = {**self.shipped.get(key, {}), **entry}  # the same cluster shipped corrected and uncorrected
            self.shipped[key] = entry
            self.shipped_by_id[atoms.info["sample_id"]] = (atoms.numbers.copy(), atoms.positions.copy(), entry)
            added += 1
            if atoms.info["n_molecules"] > 1:
                mol_id = atoms.arrays["mol_id"]
                for molecule, energy in zip(np.unique(mol_id), np.atleast_1d(atoms.info["e_monomers_kcal"])):
                    part = mol_id == molecule
                    key = structure_key(level, atoms.numbers[part], atoms.positions[part])
                    self.shipped.setdefault(key, {"energy_kcal": float(energy), "wall_s": 0.0, "engine": "shipped"})
                for molecule, energy in zip(np.unique(mol_id), np.atleast_1d(atoms.info.get("e_monomers_cp_kcal", []))):
                    key = structure_key(level, ghost_numbers(atoms.numbers, mol_id == molecule), atoms.positions)
                    self.shipped.setdefault(key, {"energy_kcal": float(energy), "wall_s": 0.0,
                                                  "engine": atoms.info.get("cp_engine", "shipped")})
        return added

    def shipped_match(self, atoms, tolerance_A: float = 1e-4) -> dict | None:
        """The shipped entry of the same sample id whose atoms lie within ``tolerance_A`` of ``atoms``.

        Catches geometries regenerated on another machine that differ from the
        shipped ones by floating-point noise only (so their exact keys differ).
        """
        match = self.shipped_by_id.get(atoms.info.get("sample_id"))
        if match is None:
            return None
        numbers, positions, entry = match
        if np.array_equal(numbers, atoms.numbers) and np.abs(positions - atoms.positions).max() <= tolerance_A:
            return entry
        return None

    def get(self, key: str, need_forces: bool) -> dict | None:
        """The stored result for ``key`` (None when absent or lacking forces that are needed)."""
        entry = self.shipped.get(key)
        if entry is None:
            path = self.cache_dir / f"{key}.json"
            if path.is_file():
                entry = json.loads(path.read_text())
        if entry is not None and need_forces and "forces_kcal_A" not in entry and "failed" not in entry:
            return None
        return entry

    def put(self, key: str, entry: dict) -> None:
        """Store a finished result atomically."""
        write_json(self.cache_dir / f"{key}.json", entry)
