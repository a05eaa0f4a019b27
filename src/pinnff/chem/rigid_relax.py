"""Rigid-body relaxation of a packed box with MMFF94's intermolecular terms.

Packmol only keeps atoms ``tolerance`` apart; real neighbours sit in the
minima of the intermolecular potential. This module moves every molecule as
a rigid body (3 translations + a rotation vector) to a local minimum of the
MMFF94 intermolecular energy (Halgren buffered 14-7 vdW plus buffered
Coulomb with MMFF94 charges, dielectric 1), under periodic boundaries with
the minimum image and a plain cutoff. Molecules stay exact copies of their
pool conformers, so their monomer energies can still be reused.

Units: Angstrom, kcal/mol, e.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

COULOMB_KCAL_A = 332.0716  # MMFF94's electrostatic constant, kcal*A/(mol*e^2)


@functools.cache
def mmff_pair_tables(smiles: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MMFF94 ``R*`` (A) and ``eps`` (kcal/mol) for every atom pair ``(n, n)`` and charges ``(n,)`` (e)."""
    from rdkit.Chem import AllChem

    from pinnff.chem import molecule

    n = len(molecule.symbols(smiles))
    mol = molecule.with_positions(smiles, np.zeros((n, 3)))
    props = AllChem.MMFFGetMoleculeProperties(mol)
    radius, epsilon = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            _, _, radius[i, j], epsilon[i, j] = props.GetMMFFVdWParams(i, j)
    charges = np.array([props.GetMMFFPartialCharge(i) for i in range(n)])
    return radius, epsilon, charges


def _rotation_matrices(vectors: torch.Tensor) -> torch.Tensor:
    """Rodrigues: rotation vectors ``(m, 3)`` -> matrices ``(m, 3, 3)``."""
    angle = torch.sqrt((vectors**2).sum(-1, keepdim=True) + 1e-30)
    k = vectors / angle
    zero = torch.zeros_like(k[:, 0])
    cross = torch.stack([zero, -k[:, 2], k[:, 1], k[:, 2], zero, -k[:, 0], -k[:, 1], k[:, 0], zero], -1).view(-1, 3, 3)
    eye = torch.eye(3, dtype=vectors.dtype).expand_as(cross)
    s, c = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    return eye + s * cross + (1 - c) * cross @ cross


@dataclass(frozen=True)
class IntermolecularPairs:
    """Every intermolecular atom pair ``i < j`` (k,) of ``m`` molecules of one topology, with its MMFF94
    ``rstar`` (A), ``epsilon`` (kcal/mol) and ``coulomb`` = 332.0716 q_i q_j (kcal*A/mol): what does not
    change while the molecules move, built once per relaxation."""

    i: torch.Tensor
    j: torch.Tensor
    rstar: torch.Tensor
    epsilon: torch.Tensor
    coulomb: torch.Tensor

    @classmethod
    def of(cls, n_molecules: int, n_per_molecule: int, radius: torch.Tensor, epsilon: torch.Tensor,
           charges: torch.Tensor) -> "IntermolecularPairs":
        """Pairs of ``n_molecules`` molecules of ``n_per_molecule`` atoms; ``radius``/``epsilon`` ``(n, n)``
        pair tables and ``charges`` ``(n,)`` of one molecule."""
        n = n_molecules * n_per_molecule
        local, owner = torch.arange(n) % n_per_molecule, torch.arange(n) // n_per_molecule
        i, j = torch.triu_indices(n, n, 1)
        keep = owner[i] != owner[j]
        i, j = i[keep], j[keep]
        li, lj = local[i], local[j]
        return cls(i, j, radius[li, lj], epsilon[li, lj], COULOMB_KCAL_A * charges[li] * charges[lj])


def intermolecular_energy(positions: torch.Tensor, pairs: IntermolecularPairs, box_A: float,
                          cutoff_A: float) -> torch.Tensor:
    """MMFF94 intermolecular energy (kcal/mol) of molecules at ``positions`` ``(m * n, 3)`` A, molecule
    after molecule, with their ``pairs``. Minimum image in a cube of edge ``box_A``, plain cutoff."""
    d = positions[pairs.j] - positions[pairs.i]
    d = d - box_A * torch.round(d / box_A)
    r = torch.sqrt((d**2).sum(-1))
    inside = r < cutoff_A
    r = r[inside]
    rho = r / pairs.rstar[inside]
    vdw = pairs.epsilon[inside] * (1.07 / (rho + 0.07)) ** 7 * (1.12 / (rho**7 + 0.12) - 2.0)
    coulomb = pairs.coulomb[inside] / (r + 0.05)
    return vdw.sum() + coulomb.sum()


def relax_rigid(molecules: list[np.ndarray], smiles: str, box_A: float, cutoff_A: float = 9.0,
                max_iter: int = 300) -> tuple[list[np.ndarray], float, float]:
    """Rigid-body minimization of ``molecules`` (each ``(n, 3)``) in a periodic cube.

    Returns ``(relaxed molecules, energy before, energy after)`` in kcal/mol.
    """
    radius, epsilon, charges = (torch.tensor(t) for t in mmff_pair_tables(smiles))
    n = len(charges)
    pairs = IntermolecularPairs.of(len(molecules), n, radius, epsilon, charges)
    base = torch.tensor(np.array(molecules))  # (m, n, 3)
    centres = base.mean(dim=1, keepdim=True)
    body = base - centres
    shift = torch.zeros(len(molecules), 3, dtype=torch.float64, requires_grad=True)
    rotation = torch.zeros(len(molecules), 3, dtype=torch.float64, requires_grad=True)

    def placed():
        rotated = torch.einsum("mij,mnj->mni", _rotation_matrices(rotation), body)
        return (rotated + centres + shift[:, None, :]).reshape(-1, 3)

    def energy():
        return intermolecular_energy(placed(), pairs, box_A, cutoff_A)

    with torch.no_grad():
        before = float(energy())
    optimizer = torch.optim.LBFGS([shift, rotation], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        value = energy()
        value.backward()
        return value

    optimizer.step(closure)
    with torch.no_grad():
        final = placed().reshape(len(molecules), n, 3).numpy()
        after = float(energy())
    return [final[k] for k in range(len(molecules))], before, after
