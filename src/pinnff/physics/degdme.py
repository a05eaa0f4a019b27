"""DEGDME (diglyme, ``COCCOCCOC``) systems: topology and per-atom-type prior parameters.

Atom order: molecule after molecule, each in RDKit ``AddHs`` order
(:mod:`pinnff.chem.molecule`). Local frames (AMOEBA conventions):

- ether O: bisector of its two carbons;
- C: Z-then-X, z toward its (single) oxygen, x toward its other carbon, or
  toward its first hydrogen for a methyl carbon;
- H: Z-then-X, z toward its carbon, x toward that carbon's oxygen.

Priors (SCIENCE.md table, AMOEBAplus_Org.prm dimethyl-ether types):
polarizability, charge transfer, charge penetration and vdW per element.
The multipole prior is the MMFF94 partial charge of each atom (RDKit) with
zero dipoles and quadrupoles: the .prm multipoles are not in the table, so
the network/fit must supply them. Every polarization group is a single atom
(AMOEBA+ uses bond-separation scaling, not groups).
"""

from __future__ import annotations

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.physics.topology import BISECTOR, Z_THEN_X, Topology

SMILES = "COCCOCCOC"

ELEMENT_PRIORS = {
    # polarizability A^3, ct_A (Tinker units), ct_B 1/A, cp_core e, cp_alpha 1/A, R_min A, eps kcal/mol, reduction
    "O": dict(polarizability=0.812, ct_A=7.979, ct_B=3.116, cp_core=8.0, cp_alpha=3.978,
              vdw_radius=3.729, vdw_epsilon=0.111, vdw_reduction=1.0),
    "C": dict(polarizability=1.620, ct_A=11.600, ct_B=4.037, cp_core=6.0, cp_alpha=5.531,
              vdw_radius=3.826, vdw_epsilon=0.134, vdw_reduction=1.0),
    "H": dict(polarizability=0.480, ct_A=12.918, ct_B=5.273, cp_core=1.0, cp_alpha=3.024,
              vdw_radius=3.464, vdw_epsilon=0.008, vdw_reduction=0.961),
}
"""Per-element priors from SCIENCE.md (AMOEBAplus_Org.prm ether types)."""


def _monomer(smiles: str = SMILES):
    """Bonds, frames, vdW parents and symbols of one molecule (RDKit order)."""
    from pinnff.chem.molecule import template

    mol = template(smiles)
    n = mol.GetNumAtoms()
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    neighbours = [sorted(nb.GetIdx() for nb in a.GetNeighbors()) for a in mol.GetAtoms()]
    bonds = np.array(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()) if b.GetBeginAtomIdx() < b.GetEndAtomIdx()
                            else (b.GetEndAtomIdx(), b.GetBeginAtomIdx()) for b in mol.GetBonds()))
    axis = np.zeros(n, dtype=int)
    fz = np.full(n, -1)
    fx = np.full(n, -1)
    parent = np.arange(n)
    for i, sym in enumerate(symbols):
        nbs = neighbours[i]
        heavy = [k for k in nbs if symbols[k] != "H"]
        if sym == "O":
            if len(heavy) != 2:
                raise InputError(f"{smiles}: oxygen {i} is not an ether oxygen")
            axis[i], fz[i], fx[i] = BISECTOR, heavy[0], heavy[1]
        elif sym == "C":
            oxygens = [k for k in nbs if symbols[k] == "O"]
            if len(oxygens) != 1:
                raise InputError(f"{smiles}: carbon {i} has {len(oxygens)} oxygens, frames expect one")
            others = [k for k in heavy if k != oxygens[0]]
            hydrogens = [k for k in nbs if symbols[k] == "H"]
            axis[i], fz[i], fx[i] = Z_THEN_X, oxygens[0], (others or hydrogens)[0]
        elif sym == "H":
            (c,) = nbs
            parent[i] = c
            o = [k for k in neighbours[c] if symbols[k] == "O"]
            axis[i], fz[i], fx[i] = Z_THEN_X, c, (o or [k for k in neighbours[c] if k != i])[0]
        else:
            raise InputError(f"{smiles}: element {sym} has no prior")
    return bonds, axis, fz, fx, parent, symbols


def degdme_topology(n_molecules: int, smiles: str = SMILES) -> Topology:
    """Topology of ``n_molecules`` molecules of ``smiles`` (default DEGDME), molecule after molecule."""
    if n_molecules < 1:
        raise InputError(f"need at least one molecule, got {n_molecules}")
    bonds, axis, fz, fx, parent, symbols = _monomer(smiles)
    n = len(symbols)

    def tile(a, shift):
        return np.concatenate([np.where(a >= 0, a + m * n, a) if shift else a for m in range(n_molecules)])

    return Topology(
        n_atoms=n * n_molecules,
        bonds=np.concatenate([bonds + m * n for m in range(n_molecules)]),
        mol_id=np.repeat(np.arange(n_molecules), n),
        axis_type=tile(axis, False), frame_z=tile(fz, True), frame_x=tile(fx, True),
        frame_y=np.full(n * n_molecules, -1), polar_group=np.arange(n * n_molecules),
        vdw_parent=tile(parent, True), symbols=symbols * n_molecules,
    )


def mmff_charges(smiles: str = SMILES) -> np.ndarray:
    """MMFF94 partial charges (e) of one molecule in RDKit order (sum to the formal charge)."""
    from rdkit.Chem import AllChem

    from pinnff.chem.molecule import template

    props = AllChem.MMFFGetMoleculeProperties(template(smiles))
    return np.array([props.GetMMFFPartialCharge(i) for i in range(template(smiles).GetNumAtoms())])


def prior_parameters(n_molecules: int, smiles: str = SMILES, dtype=torch.float64, device=None) -> dict:
    """Per-atom prior parameter tensors for ``n_molecules`` molecules (keys of the physics contract)."""
    symbols = degdme_topology(1, smiles).symbols
    n = len(symbols) * n_molecules
    per_atom = {key: [ELEMENT_PRIORS[s][key] for s in symbols] * n_molecules
                for key in ELEMENT_PRIORS["O"]}
    out = {key: torch.tensor(v, dtype=dtype, device=device) for key, v in per_atom.items()}
    out["charge"] = torch.tensor(np.tile(mmff_charges(smiles), n_molecules), dtype=dtype, device=device)
    out["dipole"] = torch.zeros(n, 3, dtype=dtype, device=device)
    out["quadrupole"] = torch.zeros(n, 3, 3, dtype=dtype, device=device)
    return out
