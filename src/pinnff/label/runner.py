"""Label one chunk of a structure file: resumable, never recomputing a finished structure.

For a cluster (dimer, trimer) the interaction energy is
``E_int = E(cluster) - sum_m E(monomer m)``, every term at the same level.
Monomer energies come from the labelled conformer pool when the monomer is
a rigid copy of a pool conformer and ``monomers_from_pool`` is set, else
they are computed in place (same orientation as in the cluster, which
cancels integration-grid orientation errors).

At a counterpoise level (tag ending ``/cp``) the Boys-Bernardi correction is
applied: every monomer energy is computed in the basis of the whole cluster
(the other molecules as ghost atoms), ``E_int = E(cluster) - sum_m
E_m(cluster basis)``, and the basis-set superposition error
``bsse_kcal = sum_m [E_m(own basis) - E_m(cluster basis)]`` is recorded.
"""

from __future__ import annotations

import logging

import numpy as np
from tqdm import tqdm

from pinnff.geometry import cross_distances
from pinnff.label.backends import COUNTERPOISE, LabelFailure, ghosted
from pinnff.label.store import LabelStore, ghost_numbers, structure_key

log = logging.getLogger(__name__)


class MissingLabel(Exception):
    """A label is absent and computing it was not allowed."""


def _sorted_distances(positions: np.ndarray) -> np.ndarray:
    d = cross_distances(positions, positions)
    return np.sort(d[np.triu_indices(len(positions), 1)])


class ChunkLabeller:
    """Labels frames with a backend, a :class:`LabelStore`, and an optional labelled pool."""

    def __init__(self, backend, store: LabelStore, level: str, pool: list | None = None,
                 monomers_from_pool: bool = True, compute_missing: bool = True):
        self.backend, self.store, self.level = backend, store, level
        self.counterpoise = level.endswith(COUNTERPOISE)
        self.pool = pool or []
        self.monomers_from_pool = monomers_from_pool
        self.compute_missing = compute_missing
        self.engines: set[str] = set()

    def _entry(self, key: str, symbols: list[str], positions: np.ndarray, forces: bool,
               fallback: dict | None = None) -> dict:
        """The stored result of ``key`` (else ``fallback``), computed and stored when absent and allowed."""
        entry = self.store.get(key, forces) or fallback
        if entry is None:
            if not self.compute_missing or self.backend is None:
                raise MissingLabel(key)
            try:
                label = self.backend.compute(symbols, positions, forces)
            except LabelFailure as exc:
                entry = {"failed": str(exc), "engine": self.backend.engine}
            else:
                entry = {"energy_kcal": label.energy_kcal, "wall_s": label.wall_s, "engine": self.backend.engine}
                if label.forces_kcal_A is not None:
                    entry["forces_kcal_A"] = label.forces_kcal_A.tolist()
            self.store.put(key, entry)
        if "failed" in entry:
            raise LabelFailure(entry["failed"])
        self.engines.add(entry["engine"])
        return entry

    def _structure(self, atoms, forces: bool) -> dict:
        match = self.store.shipped_match(atoms) if "sample_id" in atoms.info else None
        if match is not None and forces and "forces_kcal_A" not in match:
            match = None
        key = structure_key(self.level, atoms.numbers, atoms.positions)
        return self._entry(key, atoms.get_chemical_symbols(), atoms.positions, forces, match)

    def _ghost_energies(self, atoms) -> tuple[list[float], float, str]:
        """Energies (kcal/mol) of each molecule of a cluster in the whole cluster's basis, their wall time (s)
        and the engines that computed them."""
        mol_id = atoms.arrays["mol_id"]
        match = self.store.shipped_match(atoms) or {}
        shipped = match.get("ghost_energies_kcal")
        energies, wall, engines = [], 0.0, set()
        for k, molecule in enumerate(np.unique(mol_id)):
            real = mol_id == molecule
            key = structure_key(self.level, ghost_numbers(atoms.numbers, real), atoms.positions)
            fallback = None if shipped is None else {"energy_kcal": shipped[k], "wall_s": 0.0,
                                                     "engine": match["ghost_engine"]}
            entry = self._entry(key, ghosted(atoms.get_chemical_symbols(), real), atoms.positions, False, fallback)
            energies.append(entry["energy_kcal"])
            wall += entry["wall_s"]
            engines.add(entry["engine"])
        return energies, wall, " + ".join(sorted(engines))

    def _monomer_energy(self, monomer, conformer_id: int) -> tuple[float, float]:
        if self.monomers_from_pool and 0 <= conformer_id < len(self.pool):
            reference = self.pool[conformer_id]
            if len(reference) == len(monomer) and np.allclose(
                    _sorted_distances(reference.positions), _sorted_distances(monomer.positions), atol=1e-4):
                if reference.info.get("label_status") != "ok":
                    raise LabelFailure(f"pool conformer {conformer_id} has no label")
                return float(reference.info["energy_kcal"]), 0.0
        entry = self._structure(monomer, forces=False)
        return entry["energy_kcal"], entry["wall_s"]

    def label(self, atoms, forces: bool):
        """A labelled copy of ``atoms`` (``label_status`` ok or failed); raises :class:`MissingLabel`."""
        out = atoms.copy()
        out.info["level"] = self.level
        try:
            entry = self._structure(atoms, forces)
            out.info.update(energy_kcal=entry["energy_kcal"], label_engine=entry["engine"])
            wall = entry["wall_s"]
            if "forces_kcal_A" in entry:
                out.arrays["forces_kcal_A"] = np.array(entry["forces_kcal_A"])
            if atoms.info["n_molecules"] > 1:
                mol_id = atoms.arrays["mol_id"]
                conformers = np.atleast_1d(atoms.info.get("conformer_ids", [-1] * atoms.info["n_molecules"]))
                energies = []
                for molecule, conformer in zip(np.unique(mol_id), conformers):
                    energy, seconds = self._monomer_energy(atoms[mol_id == molecule], int(conformer))
                    energies.append(energy)
                    wall += seconds
                out.info["e_monomers_kcal"] = np.array(energies)
                out.info["e_int_kcal"] = entry["energy_kcal"] - float(np.sum(energies))
                if self.counterpoise:
                    in_cluster_basis, seconds, out.info["cp_engine"] = self._ghost_energies(atoms)
                    wall += seconds
                    out.info["e_monomers_cp_kcal"] = np.array(in_cluster_basis)
                    out.info["bsse_kcal"] = float(np.sum(energies) - np.sum(in_cluster_basis))
                    out.info["e_int_kcal"] = entry["energy_kcal"] - float(np.sum(in_cluster_basis))
            out.info["label_wall_s"] = round(float(wall), 3)
            out.info["label_status"] = "ok"
        except LabelFailure as exc:
            log.warning("%s: labelling failed: %s", atoms.info["sample_id"], exc)
            out.info["label_status"] = "failed"
        return out

    def label_all(self, frames: list, forces: bool) -> tuple[list, int]:
        """Label every frame that can be; returns ``(labelled, n_missing)``."""
        labelled, missing = [], 0
        for atoms in tqdm(frames, desc="labelling", unit="sample"):
            try:
                labelled.append(self.label(atoms, forces))
            except MissingLabel:
                missing += 1
        return labelled, missing
