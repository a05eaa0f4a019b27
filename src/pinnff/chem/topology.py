"""Molecules perceived from bonding: which atoms belong to which molecule.

Two atoms are bonded when their distance is below ``scale`` times the sum of
their covalent radii (ASE's ``natural_cutoffs``). Molecules are the connected
components of that graph. Periodic cells are honoured (minimum image).
"""

from __future__ import annotations

import numpy as np

from pinnff.errors import InputError


def perceive_molecules(atoms, scale: float = 1.2) -> np.ndarray:
    """Molecule index of each atom, shape ``(n_atoms,)``, numbered by first atom.

    ``atoms`` is an :class:`ase.Atoms` (positions in Angstrom, optional cell).
    """
    from ase.neighborlist import natural_cutoffs, neighbor_list
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cutoffs = natural_cutoffs(atoms, mult=scale)
    first, second = neighbor_list("ij", atoms, cutoffs)
    n = len(atoms)
    graph = coo_matrix((np.ones(len(first)), (first, second)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # renumber so molecules are ordered by their first atom
    order = {}
    for label in labels:
        order.setdefault(label, len(order))
    return np.array([order[label] for label in labels], dtype=int)


def molecule_ids(atoms) -> np.ndarray:
    """``mol_id`` (n,) from the file's per-atom array when present, else perceived from bonding."""
    mol_id = atoms.arrays["mol_id"] if "mol_id" in atoms.arrays else perceive_molecules(atoms)
    return np.asarray(mol_id, dtype=int)


def _connectivity_only(mol):
    """A copy of an RDKit molecule with every bond single and nothing aromatic (graph matching)."""
    from rdkit import Chem

    plain = Chem.RWMol(mol)
    for bond in plain.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    for atom in plain.GetAtoms():
        atom.SetIsAromatic(False)
        atom.SetFormalCharge(0)
        atom.SetNoImplicit(True)
    return plain.GetMol()


def template_order(atoms, smiles: str, where: str = "structure") -> np.ndarray:
    """Permutation putting ``atoms`` molecule after molecule in pinnff's atom order for ``smiles``.

    Molecules come from ``mol_id`` when present, else from bonding; each is
    matched onto the RDKit template by its bond graph, so any input atom
    order works. ``atoms[order]`` is then ordered like the template, repeated.
    Raises :class:`InputError` when a molecule does not match the template.
    """
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    from pinnff.chem.molecule import template

    reference = _connectivity_only(template(smiles))
    mol_id = molecule_ids(atoms)
    order = []
    for molecule in np.unique(mol_id):
        members = np.flatnonzero(mol_id == molecule)
        block = f"{len(members)}\n\n" + "\n".join(
            f"{atoms.get_chemical_symbols()[i]} {x:.8f} {y:.8f} {z:.8f}" for i, (x, y, z) in zip(members, atoms.positions[members]))
        candidate = Chem.MolFromXYZBlock(block)
        if candidate is None or candidate.GetNumAtoms() != reference.GetNumAtoms():
            raise InputError(f"{where}: molecule {molecule} has {len(members)} atoms, the template {reference.GetNumAtoms()}")
        rdDetermineBonds.DetermineConnectivity(candidate)
        match = _connectivity_only(candidate).GetSubstructMatch(reference)
        if len(match) != reference.GetNumAtoms():
            raise InputError(f"{where}: molecule {molecule} is not {smiles} (bond graph does not match)")
        order.extend(members[list(match)])
    return np.array(order, dtype=int)
