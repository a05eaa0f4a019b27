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


def intermolecular_energy(positions: torch.Tensor, n_per_molecule: int, radius: torch.Tensor, epsilon: torch.Tensor,
                          charges: torch.Tensor, box_A: float, cutoff_A: float) -> torch.Tensor:
    """MMFF94 intermolecular energy (kcal/mol) of ``m`` identical-topology molecules.

    ``positions`` ``(m * n, 3)`` molecule after molecule; ``radius``/``epsilon``
    ``(n, n)`` pair tables; ``charges`` ``(n,)``. Minimum image, plain cutoff.
    """
    local = torch.arange(positions.shape[0]) % n_per_molecule
    owner = torch.arange(positions.shape[0]) // n_per_molecule
    i, j = torch.triu_indices(positions.shape[0], positions.shape[0], 1)
    keep = owner[i] != owner[j]
    i, j = i[keep], j[keep]
    d = positions[j] - positions[i]
    d = d - box_A * torch.round(d / box_A)
    r = torch.sqrt((d**2).sum(-1))
    inside = r < cutoff_A
    i, j, r = i[inside], j[inside], r[inside]
    rstar, eps = radius[local[i], local[j]], epsilon[local[i], local[j]]
    rho = r / rstar
    vdw = eps * (1.07 / (rho + 0.07)) ** 7 * (1.12 / (rho**7 + 0.12) - 2.0)
    coulomb = COULOMB_KCAL_A * charges[local[i]] * charges[local[j]] / (r + 0.05)
    return vdw.sum() + coulomb.sum()


def relax_rigid(molecules: list[np.ndarray], smiles: str, box_A: float, cutoff_A: float = 9.0,
                max_iter: int = 300) -> tuple[list[np.ndarray], float, float]:
    """Rigid-body minimization of ``molecules`` (each ``(n, 3)``) in a periodic cube.

    Returns ``(relaxed molecules, energy before, energy after)`` in kcal/mol.
    """
    radius, epsilon, charges = (torch.tensor(t) for t in mmff_pair_tables(smiles))
    n = len(charges)
    base = torch.tensor(np.array(molecules))  # (m, n, 3)
    centres = base.mean(dim=1, keepdim=True)
    body = base - centres
    shift = torch.zeros(len(molecules), 3, dtype=torch.float64, requires_grad=True)
    rotation = torch.zeros(len(molecules), 3, dtype=torch.float64, requires_grad=True)

    def placed():
        rotated = torch.einsum("mij,mnj->mni", _rotation_matrices(rotation), body)
        return (rotated + centres + shift[:, None, :]).reshape(-1, 3)

    def energy():
        return intermolecular_energy(placed(), n, radius, epsilon, charges, box_A, cutoff_A)

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
