"""Liquid boxes for MD: N molecules at a target density, periodic, ready for ASE."""

from __future__ import annotations

import numpy as np

from pinnff.chem import molecule
from pinnff.chem.packing import box_edge_A, relaxed_liquid


def liquid_box(smiles: str, pool: list[np.ndarray], n_molecules: int, density_g_cm3: float, seed: int,
               tolerance_A: float = 2.0, relax_iterations: int = 300):
    """A periodic cubic :class:`ase.Atoms` box of ``n_molecules`` pool conformers.

    Packmol packs rigid copies of randomly chosen ``pool`` conformers
    (positions ``(n, 3)`` Angstrom) at ``density_g_cm3``; a rigid-body MMFF94
    relaxation removes the packing strain. Molecules are whole (not wrapped)
    and labelled by the per-atom array ``mol_id``.
    """
    from ase import Atoms

    rng = np.random.default_rng(seed)
    box_A = box_edge_A(n_molecules, molecule.molar_mass(smiles), density_g_cm3)
    conformer_ids = rng.integers(0, len(pool), n_molecules)
    molecules, _ = relaxed_liquid(smiles, pool, conformer_ids, box_A, tolerance_A, int(rng.integers(1, 2**31 - 1)),
                                  relax_iterations)
    symbols = molecule.symbols(smiles)
    atoms = Atoms(symbols * n_molecules, positions=np.concatenate(molecules), cell=[box_A] * 3, pbc=True)
    atoms.arrays["mol_id"] = np.repeat(np.arange(n_molecules), len(symbols))
    return atoms
