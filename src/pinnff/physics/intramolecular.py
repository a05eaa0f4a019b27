"""Intramolecular energy with MMFF94 as the prior (torch, refittable).

The MMFF94 parameters of each term come from RDKit (``MMFFGetMoleculeProperties``)
and are stored as ``torch.nn.Parameter`` so the workflow can refit them to DFT
monomer energies and forces. Functional forms (Halgren, J. Comput. Chem. 17,
490 (1996); RDKit's implementation, energies in kcal/mol, angles in degrees):

- bond: 143.9325/2 kb dr^2 (1 + cs dr + 7/12 cs^2 dr^2), cs = -2 /A
- angle: 0.043844/2 ka dt^2 (1 + cb dt), cb = -0.006981 /deg
- stretch-bend: 2.51210 (kba_ijk dr_ij + kba_kji dr_kj) dt
- torsion: 1/2 (V1 (1 + cos phi) + V2 (1 - cos 2 phi) + V3 (1 + cos 3 phi))
- van der Waals (1-4 and beyond, unscaled): buffered 14-7 with MMFF's R*, eps
- electrostatics (1-4 scaled by 0.75): 332.0716 q_i q_k / (r + 0.05)

Molecules with trivalent centres (out-of-plane terms) or linear angles are
rejected; DEGDME has neither.
"""

from __future__ import annotations

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.physics import native

MMFF_COULOMB = 332.0716
BOND_K = 143.9325
ANGLE_K = BOND_K * (np.pi / 180.0) ** 2  # 0.043844 (RDKit uses the exact product)
STBN_K = BOND_K * np.pi / 180.0  # 2.51210
CS = -2.0
CB = -0.006981
RAD2DEG = 180.0 / np.pi
VALENCE_CONSTANTS = np.array([BOND_K, CS, ANGLE_K, CB, STBN_K, RAD2DEG], dtype=np.float64)
"""The valence constants in the order of the native kernel (:func:`pinnff.physics.native.valence_energy`)."""


def _angle(a, b, c):
    """Angle a-b-c in degrees for rows of (k, 3) tensors."""
    u, v = a - b, c - b
    cos = (u * v).sum(-1) / (torch.linalg.norm(u, dim=-1) * torch.linalg.norm(v, dim=-1))
    return torch.arccos(cos.clamp(-1.0, 1.0)) * RAD2DEG


def _dihedral(a, b, c, d):
    """Dihedral a-b-c-d in radians (atan2 form, smooth everywhere except collinear atoms)."""
    b0, b1, b2 = b - a, c - b, d - c
    n1 = torch.cross(b0, b1, dim=-1)
    n2 = torch.cross(b1, b2, dim=-1)
    m = torch.cross(n1, b1 / torch.linalg.norm(b1, dim=-1, keepdim=True), dim=-1)
    x = (n1 * n2).sum(-1)
    y = (m * n2).sum(-1)
    return torch.atan2(y, x)


class MMFFIntramolecular(torch.nn.Module):
    """MMFF94 intramolecular energy of ``n_molecules`` copies of ``smiles`` (kcal/mol).

    forward(positions (n, 3) A) -> scalar; :meth:`terms` gives the parts.
    ``nonbonded=False`` keeps only the valence terms (bond, angle,
    stretch-bend, torsion).
    """

    def __init__(self, smiles: str, n_molecules: int = 1, nonbonded: bool = True, dtype=torch.float64):
        super().__init__()
        from rdkit.Chem import AllChem

        from pinnff.chem.molecule import template
        from pinnff.physics.topology import _bond_separations

        mol = template(smiles)
        props = AllChem.MMFFGetMoleculeProperties(mol)
        if props is None:
            raise InputError(f"{smiles}: no MMFF94 parameters")
        n = mol.GetNumAtoms()
        self.n_per_molecule, self.n_molecules, self.nonbonded, self.smiles = n, n_molecules, nonbonded, smiles
        nbrs = [sorted(x.GetIdx() for x in a.GetNeighbors()) for a in mol.GetAtoms()]
        if any(len(v) == 3 for v in nbrs):
            raise InputError(f"{smiles}: trivalent centres need out-of-plane terms, not implemented")
        bonds, bond_p = [], []
        for b in mol.GetBonds():
            i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
            _, kb, r0 = props.GetMMFFBondStretchParams(mol, i, j)
            bonds.append((i, j))
            bond_p.append((kb, r0))
        r0_of = {frozenset(b): p[1] for b, p in zip(bonds, bond_p)}
        angles, angle_p, stbn_p = [], [], []
        for j in range(n):
            for a_ in range(len(nbrs[j])):
                for c_ in range(a_ + 1, len(nbrs[j])):
                    i, k = nbrs[j][a_], nbrs[j][c_]
                    _, ka, t0 = props.GetMMFFAngleBendParams(mol, i, j, k)
                    _, kij, kkj = props.GetMMFFStretchBendParams(mol, i, j, k)
                    angles.append((i, j, k))
                    angle_p.append((ka, t0, r0_of[frozenset((i, j))], r0_of[frozenset((k, j))]))
                    stbn_p.append((kij, kkj))
        torsions, tors_p = [], []
        for j, k in bonds:
            for i in nbrs[j]:
                if i == k:
                    continue
                for l in nbrs[k]:
                    if l in (j, i):
                        continue
                    params = props.GetMMFFTorsionParams(mol, i, j, k, l)
                    if params is None:
                        raise InputError(f"{smiles}: no MMFF torsion for {i}-{j}-{k}-{l}")
                    torsions.append((i, j, k, l))
                    tors_p.append(params[1:])
        seps = _bond_separations(n, np.array(bonds), max_sep=3)
        pairs, vdw_p, scale = [], [], []
        for i in range(n):
            for k in range(i + 1, n):
                sep = seps.get((i, k), 99)
                if sep < 3:
                    continue
                _, _, rstar, eps = props.GetMMFFVdWParams(i, k)
                pairs.append((i, k))
                vdw_p.append((rstar, eps))
                scale.append(0.75 if sep == 3 else 1.0)
        charges = [props.GetMMFFPartialCharge(i) for i in range(n)]

        def rep(idx):
            idx = np.asarray(idx, dtype=np.int64)
            return torch.as_tensor(np.concatenate([idx + m * n for m in range(n_molecules)]))

        def par(values):
            return torch.nn.Parameter(torch.tensor(np.asarray(values, dtype=float), dtype=dtype))

        # index buffers depend on n_molecules and stay out of the state dict: it holds one molecule's parameters
        self.register_buffer("bond_idx", rep(bonds), persistent=False)
        self.register_buffer("angle_idx", rep(angles), persistent=False)
        self.register_buffer("torsion_idx", rep(torsions), persistent=False)
        self.register_buffer("pair_idx", rep(pairs), persistent=False)
        self.register_buffer("pair_scale", torch.tensor(scale, dtype=dtype).repeat(n_molecules), persistent=False)
        self.bond_k, self.bond_r0 = par([p[0] for p in bond_p]), par([p[1] for p in bond_p])
        self.angle_k, self.angle_t0 = par([p[0] for p in angle_p]), par([p[1] for p in angle_p])
        self.register_buffer("angle_r0", torch.tensor([[p[2], p[3]] for p in angle_p], dtype=dtype))
        self.stbn_k = par(stbn_p)
        self.torsion_v = par(tors_p)
        self.vdw_rstar, self.vdw_eps = par([p[0] for p in vdw_p]), par([p[1] for p in vdw_p])
        self.charge = par(charges)
        self._native_terms = None  # (key, tiled parameters) of valence_energy

    def _rep(self, value: torch.Tensor) -> torch.Tensor:
        return value.repeat((self.n_molecules,) + (1,) * (value.dim() - 1))

    def instance_terms(self, positions: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-instance energies (kcal/mol) of each MMFF term and the index of the first atom of each instance."""
        if positions.shape[0] != self.n_per_molecule * self.n_molecules:
            raise InputError(f"expected {self.n_per_molecule * self.n_molecules} atoms, got {positions.shape[0]}")
        x = positions
        g = lambda idx, c: x.index_select(0, idx[:, c])
        out = {}
        dr = torch.linalg.norm(g(self.bond_idx, 1) - g(self.bond_idx, 0), dim=-1) - self._rep(self.bond_r0)
        out["bond"] = (0.5 * BOND_K * self._rep(self.bond_k) * dr ** 2
                       * (1 + CS * dr + 7.0 / 12.0 * CS ** 2 * dr ** 2), self.bond_idx[:, 0])
        a, b, c = g(self.angle_idx, 0), g(self.angle_idx, 1), g(self.angle_idx, 2)
        dt = _angle(a, b, c) - self._rep(self.angle_t0)
        out["angle"] = (0.5 * ANGLE_K * self._rep(self.angle_k) * dt ** 2 * (1 + CB * dt), self.angle_idx[:, 0])
        r0 = self._rep(self.angle_r0)
        dr_ij = torch.linalg.norm(a - b, dim=-1) - r0[:, 0]
        dr_kj = torch.linalg.norm(c - b, dim=-1) - r0[:, 1]
        kba = self._rep(self.stbn_k)
        out["stretch_bend"] = (STBN_K * (kba[:, 0] * dr_ij + kba[:, 1] * dr_kj) * dt, self.angle_idx[:, 0])
        phi = _dihedral(*(g(self.torsion_idx, c) for c in range(4)))
        v = self._rep(self.torsion_v)
        out["torsion"] = (0.5 * (v[:, 0] * (1 + torch.cos(phi)) + v[:, 1] * (1 - torch.cos(2 * phi))
                                 + v[:, 2] * (1 + torch.cos(3 * phi))), self.torsion_idx[:, 0])
        if self.nonbonded:
            r = torch.linalg.norm(g(self.pair_idx, 1) - g(self.pair_idx, 0), dim=-1)
            rs, eps = self._rep(self.vdw_rstar), self._rep(self.vdw_eps)
            out["vdw"] = (eps * (1.07 * rs / (r + 0.07 * rs)) ** 7 * (1.12 * rs ** 7 / (r ** 7 + 0.12 * rs ** 7) - 2.0),
                          self.pair_idx[:, 0])
            q = self._rep(self.charge)
            qq = q.index_select(0, self.pair_idx[:, 0]) * q.index_select(0, self.pair_idx[:, 1])
            out["electrostatic"] = (MMFF_COULOMB * self.pair_scale * qq / (r + 0.05), self.pair_idx[:, 0])
        return out

    def terms(self, positions: torch.Tensor) -> dict[str, torch.Tensor]:
        """Energy of each MMFF term (kcal/mol) for positions (n, 3) A."""
        return {name: values.sum() for name, (values, _) in self.instance_terms(positions).items()}

    def molecule_energies(self, positions: torch.Tensor) -> torch.Tensor:
        """Energy of each molecule (n_molecules,) kcal/mol."""
        total = positions.new_zeros(self.n_molecules)
        for values, first_atom in self.instance_terms(positions).values():
            total = total.index_add(0, first_atom // self.n_per_molecule, values)
        return total

    VALENCE = ("bond_k", "bond_r0", "angle_k", "angle_t0", "stbn_k", "torsion_v")
    """Names of the valence parameters (one value per term of the template molecule)."""

    def valence_energy(self, positions: torch.Tensor) -> torch.Tensor:
        """The valence energy (kcal/mol, 0-d) with the parameters held fixed (no gradient reaches them):
        the forces of MD's inner step. One native loop over the terms where
        :func:`pinnff.physics.native.available` (the tiled parameters kept until they change), else the
        torch terms. Only for ``nonbonded=False``."""
        if self.nonbonded:
            raise ValueError("valence_energy is for the valence terms alone (nonbonded=False)")
        params = [getattr(self, name) for name in self.VALENCE]
        if not native.available(positions, *params):
            return self._detached_energy(positions)
        key = (positions.dtype, positions.device, tuple(p._version for p in params), tuple(id(p) for p in params))
        if self._native_terms is None or self._native_terms[0] != key:
            with torch.no_grad():
                self._native_terms = (key, (self.bond_idx, self._rep(self.bond_k), self._rep(self.bond_r0)),
                                      (self.angle_idx, self._rep(self.angle_k), self._rep(self.angle_t0),
                                       self._rep(self.angle_r0), self._rep(self.stbn_k)),
                                      (self.torsion_idx, self._rep(self.torsion_v)))
        return native.valence_energy(positions, VALENCE_CONSTANTS, *self._native_terms[1:], self._detached_energy)

    def _detached_energy(self, positions: torch.Tensor) -> torch.Tensor:
        """The torch valence energy with the parameters detached."""
        fixed = {name: getattr(self, name).detach() for name in self.VALENCE}
        return torch.func.functional_call(self, fixed, (positions,))

    def forward(self, positions: torch.Tensor, per_molecule: bool = False) -> torch.Tensor:
        """Total energy (scalar), or each molecule's (n_molecules,) with ``per_molecule``, kcal/mol."""
        if per_molecule:
            return self.molecule_energies(positions)
        return sum(self.terms(positions).values())
