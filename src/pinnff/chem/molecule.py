"""The molecule under study, from its SMILES, through RDKit.

Atom order everywhere in pinnff is RDKit's order for ``AddHs(MolFromSmiles)``:
heavy atoms in SMILES order, then hydrogens. Positions are Angstrom, MMFF94
energies kcal/mol.
"""

from __future__ import annotations

import functools

import numpy as np

from pinnff.errors import InputError


@functools.cache
def template(smiles: str):
    """RDKit molecule with explicit hydrogens and no conformer."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(f"SMILES '{smiles}' could not be parsed")
    return Chem.AddHs(mol)


def symbols(smiles: str) -> list[str]:
    """Element symbols in pinnff atom order."""
    return [atom.GetSymbol() for atom in template(smiles).GetAtoms()]


def formula(smiles: str) -> str:
    """Hill formula, e.g. ``C6H14O3``."""
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    return CalcMolFormula(template(smiles))


def molar_mass(smiles: str) -> float:
    """Molar mass in g/mol."""
    from rdkit.Chem.Descriptors import MolWt

    return float(MolWt(template(smiles)))


def with_positions(smiles: str, positions: np.ndarray):
    """A copy of the template carrying one conformer at ``positions`` (n, 3)."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    mol = Chem.Mol(template(smiles))
    conformer = Chem.Conformer(mol.GetNumAtoms())
    for index, xyz in enumerate(positions):
        conformer.SetAtomPosition(index, Point3D(*map(float, xyz)))
    mol.RemoveAllConformers()
    mol.AddConformer(conformer, assignId=True)
    return mol


def mmff_energy(smiles: str, positions: np.ndarray) -> float:
    """MMFF94 energy (kcal/mol) of one conformation."""
    from rdkit.Chem import AllChem

    mol = with_positions(smiles, positions)
    properties = AllChem.MMFFGetMoleculeProperties(mol)
    return float(AllChem.MMFFGetMoleculeForceField(mol, properties).CalcEnergy())


def embed_relaxed_conformers(smiles: str, count: int, seed: int, max_iters: int = 2000) -> tuple[list[np.ndarray], np.ndarray]:
    """ETKDG conformers relaxed with MMFF94.

    Returns ``(positions, energies)``: a list of ``(n, 3)`` arrays in Angstrom
    and their MMFF94 energies in kcal/mol, in embedding order.
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.Mol(template(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    params.numThreads = 1
    ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=int(count), params=params))
    if not ids:
        raise InputError(f"RDKit could not embed any conformer of '{smiles}'")
    results = AllChem.MMFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=max_iters)
    energies = np.array([energy for _, energy in results])
    positions = [mol.GetConformer(i).GetPositions() for i in ids]
    return positions, energies
