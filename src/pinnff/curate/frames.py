"""Building schema-conformant frames from molecules placed in space."""

from __future__ import annotations

import numpy as np

from pinnff.chem import molecule
from pinnff.geometry import min_com_distance, min_contact_by_molecule


def cluster_frame(smiles: str, positions: list[np.ndarray], sample_id: str, protocol: str, split: str,
                  conformer_ids: list[int], **info):
    """An :class:`ase.Atoms` holding molecules ``positions`` (each ``(n, 3)``, Angstrom).

    Sets ``mol_id``, ``n_molecules``, ``conformer_ids`` and, for clusters, the
    smallest COM distance and intermolecular contact; ``info`` adds more keys.
    """
    from ase import Atoms

    symbols = molecule.symbols(smiles)
    atoms = Atoms(symbols=symbols * len(positions), positions=np.concatenate(positions))
    mol_id = np.repeat(np.arange(len(positions)), len(symbols))
    atoms.arrays["mol_id"] = mol_id
    atoms.info.update(sample_id=sample_id, protocol=protocol, split=split, n_molecules=len(positions),
                      conformer_ids=np.asarray(conformer_ids, dtype=int))
    if len(positions) > 1:
        atoms.info["com_distance_A"] = round(min_com_distance(atoms.positions, atoms.get_masses(), mol_id), 6)
        atoms.info["min_contact_A"] = round(min_contact_by_molecule(atoms.positions, mol_id), 6)
    atoms.info.update(info)
    return atoms


def pool_positions(pool: list) -> list[np.ndarray]:
    """Positions ``(n, 3)`` of each conformer of a pool file, centred at its COM."""
    return [atoms.positions - atoms.get_center_of_mass() for atoms in pool]


def assign_splits(count: int, n_val: int, n_test: int, rng: np.random.Generator) -> list[str]:
    """Roles for ``count`` samples in a random order: ``n_val`` val, ``n_test`` test, rest train.

    Random interleaving means any prefix of the list (a partially labelled set)
    holds roughly the same proportions as the whole.
    """
    if n_val + n_test > count:
        raise ValueError("more validation and test samples than samples")
    roles = np.array(["train"] * (count - n_val - n_test) + ["val"] * n_val + ["test"] * n_test)
    return list(rng.permutation(roles))
