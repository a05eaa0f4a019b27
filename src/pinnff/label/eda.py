"""Energy decomposition of DFT interaction energies: frozen density, polarization + charge transfer, dispersion.

For a cluster of rigid monomers labelled at a Kohn-Sham level with an
additive dispersion correction (B3LYP-D3(BJ)):

    E_int = E_frz + E_pol+ct + E_disp

- ``E_frz`` (electrostatics + Pauli/exchange repulsion): the functional
  without dispersion evaluated once, with no SCF, on the antisymmetrized
  product of the monomers' occupied KS orbitals (the union of the occupied
  MOs Loewdin-orthonormalized in the cluster basis; the Heitler-London /
  ALMO frozen density), minus the monomers' SCF energies (same functional,
  no dispersion);
- ``E_disp``: D3 of the cluster minus D3 of each monomer (nuclei only);
- ``E_pol+ct = E_int - E_disp - E_frz``: orbital relaxation of the cluster.

Monomers in the labelled clusters are rigid copies of pool conformers, so
each conformer's SCF is done once (:meth:`FrozenDensity.monomer`) and its MO
coefficients are rotated onto each copy (:meth:`FrozenDensity.place`: the
Kabsch rotation, applied per shell with PySCF's real-spherical-harmonic
rotation matrices). All energies here are Hartree unless named ``_kcal``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pinnff.errors import InputError
from pinnff.geometry import kabsch_transform, min_contact_by_molecule
from pinnff.label.backends import LabelFailure, PySCFBackend
from pinnff.units import HARTREE_TO_KCAL

PLACEMENT_TOL_A = 1e-3
"""Largest RMSD (Angstrom) between a monomer copy and its rigidly moved pool conformer."""


@dataclass
class Monomer:
    """A converged monomer: ``symbols``, ``positions_A`` (n, 3), occupied MO coefficients ``c_occ`` (nao, nocc)
    in its own AO basis, SCF energy without dispersion ``energy`` (Hartree)."""

    symbols: list
    positions_A: np.ndarray
    c_occ: np.ndarray
    energy: float


class FrozenDensity:
    """Frozen-density decomposition at the level of a :class:`PySCFBackend` (CPU only)."""

    def __init__(self, backend: PySCFBackend):
        if backend.on_gpu:
            raise InputError("the energy decomposition runs on the CPU (label.pyscf.device: cpu)")
        self.backend = backend

    def monomer(self, symbols, positions_A) -> Monomer:
        """SCF of one monomer without dispersion (up to three strategies, as the labelling backend)."""
        mf = self.backend.converged_scf(symbols, np.asarray(positions_A), dispersion=False)
        occupied = mf.mo_occ > 0
        return Monomer(list(symbols), np.array(positions_A, dtype=float), np.array(mf.mo_coeff[:, occupied]),
                       float(mf.e_tot))

    def place(self, monomer: Monomer, positions_A: np.ndarray) -> np.ndarray:
        """Occupied MO coefficients (nao, nocc) of ``monomer`` rigidly moved onto ``positions_A`` (n, 3)."""
        rotation, translation = kabsch_transform(monomer.positions_A, np.asarray(positions_A, dtype=float))
        moved = monomer.positions_A @ rotation + translation
        rmsd = float(np.sqrt(((moved - positions_A) ** 2).sum(axis=1).mean()))
        if rmsd > PLACEMENT_TOL_A or np.linalg.det(rotation) < 0:
            raise InputError(f"monomer copy is not a rigid rotation of its conformer (RMSD {rmsd:.2e} A)")
        mol = self.backend.molecule(monomer.symbols, monomer.positions_A)
        return mol.ao_rotation_matrix(rotation) @ monomer.c_occ  # checked against an SCF at the moved geometry (tests)

    def frozen_energy(self, symbols, positions_A, blocks: list[np.ndarray]) -> float:
        """Energy (Hartree, no dispersion) of the cluster's frozen density.

        ``blocks``: each monomer's occupied MO coefficients in its own AO basis,
        monomers in the cluster's atom order (contiguous).
        """
        from pyscf import scf

        mol = self.backend.molecule(symbols, np.asarray(positions_A))
        nao = sum(b.shape[0] for b in blocks)
        if nao != mol.nao:
            raise InputError(f"monomer AO counts add up to {nao}, the cluster has {mol.nao}")
        c = scipy_block_diag(blocks)
        overlap = c.T @ scf.hf.get_ovlp(mol) @ c
        values, vectors = np.linalg.eigh(overlap)
        if values.min() < 1e-8:
            raise LabelFailure(f"occupied monomer orbitals are nearly linearly dependent (overlap eigenvalue {values.min():.1e})")
        c = c @ (vectors / np.sqrt(values)) @ vectors.T
        mf = self.backend.kohn_sham(mol, dispersion=False)
        return float(mf.energy_tot(dm=2.0 * c @ c.T))

    def dispersion(self, symbols, positions_A) -> float:
        """Dispersion correction (Hartree) of the given atoms alone."""
        return self.backend.dispersion_hartree(list(symbols), np.asarray(positions_A))

    def decompose(self, symbols, positions_A, mol_id, monomers: list[Monomer], e_int_kcal: float) -> dict:
        """``e_frz_kcal``, ``e_disp_kcal``, ``e_polct_kcal`` (kcal/mol) and ``eda_wall_s`` of one labelled cluster.

        ``monomers``: the converged pool conformer of each molecule (in order of ``mol_id``), rigidly
        placed onto its copy here; ``e_int_kcal``: the cluster's DFT interaction energy.
        """
        start = time.perf_counter()
        symbols, positions_A, mol_id = list(symbols), np.asarray(positions_A, dtype=float), np.asarray(mol_id)
        molecules = np.unique(mol_id)
        if len(molecules) != len(monomers) or np.any(np.diff(mol_id) < 0):
            raise InputError("cluster molecules must be contiguous and match the monomers given")
        blocks = [self.place(m, positions_A[mol_id == k]) for k, m in zip(molecules, monomers)]
        e_frz = self.frozen_energy(symbols, positions_A, blocks) - sum(m.energy for m in monomers)
        e_disp = self.dispersion(symbols, positions_A) - sum(
            self.dispersion(m.symbols, positions_A[mol_id == k]) for k, m in zip(molecules, monomers))
        e_frz_kcal, e_disp_kcal = e_frz * HARTREE_TO_KCAL, e_disp * HARTREE_TO_KCAL
        return {"e_frz_kcal": e_frz_kcal, "e_disp_kcal": e_disp_kcal,
                "e_polct_kcal": float(e_int_kcal) - e_frz_kcal - e_disp_kcal,
                "eda_wall_s": round(time.perf_counter() - start, 2)}


def scipy_block_diag(blocks: list[np.ndarray]) -> np.ndarray:
    """Block-diagonal matrix of ``blocks`` (monomer AOs x monomer orbitals)."""
    from scipy.linalg import block_diag

    return block_diag(*blocks)


def decompose_frames(frames: list, pool: list, analysis: FrozenDensity, cache_dir, splits: tuple[str, ...],
                     limit: int | None = None) -> list[dict]:
    """Decomposition rows of the labelled cluster ``frames`` whose ``split`` is in ``splits`` (resumable),
    the first ``limit`` of them in file order when given.

    ``pool``: the labelled conformer frames (``conformer_ids`` names each); each conformer used gets one
    SCF, kept for the run. Every finished cluster is a JSON file ``<sample_id>.json`` in ``cache_dir``
    (written atomically), so a rerun skips it. Rows: ``sample_id``, ``split``, ``e_int_kcal``,
    ``min_contact_A`` and the keys of :meth:`FrozenDensity.decompose`.
    """
    import json
    from pathlib import Path

    from pinnff.io.atomic import write_json

    cache_dir = Path(cache_dir)
    conformers = {int(np.atleast_1d(a.info["conformer_ids"])[0]): a for a in pool}
    monomers: dict[int, Monomer] = {}
    rows = []
    for atoms in frames:
        if atoms.info.get("split") not in splits or atoms.info.get("label_status") != "ok":
            continue
        if limit is not None and len(rows) >= limit:
            break
        path = cache_dir / f"{atoms.info['sample_id']}.json"
        if path.is_file():
            rows.append(json.loads(path.read_text()))
            continue
        ids = [int(i) for i in np.atleast_1d(atoms.info["conformer_ids"])]
        for i in ids:
            if i not in conformers:
                raise InputError(f"{atoms.info['sample_id']}: conformer {i} is not in the pool")
            if i not in monomers:
                c = conformers[i]
                monomers[i] = analysis.monomer(c.get_chemical_symbols(), c.positions)
        row = {"sample_id": atoms.info["sample_id"], "split": atoms.info["split"],
               "e_int_kcal": float(atoms.info["e_int_kcal"]), "min_contact_A": min_contact_by_molecule(atoms.positions, atoms.arrays["mol_id"]),
               **analysis.decompose(atoms.get_chemical_symbols(), atoms.positions, atoms.arrays["mol_id"],
                                    [monomers[i] for i in ids], atoms.info["e_int_kcal"])}
        write_json(path, row)
        rows.append(row)
    return rows
