"""What the permanent-multipole and polarization terms share within one evaluation (torch).

:class:`Electrostatics` holds, for one set of positions, parameters and
cell: the checked cell and pair list, the lab-frame multipoles and their
rows (:func:`rows`, the table the pair kernels gather), the pair
geometry within a cutoff, the gathered rows of a geometry, and the
reciprocal space (plain Ewald or PME) whose potential of the permanent multipoles
serves both the multipole energy and the permanent field. Everything is
computed on first use and kept, so :func:`pinnff.physics.energy.total_energy`
pays for each piece once; every term builds its own when called alone.
"""

from __future__ import annotations

import torch

from pinnff.physics.frames import lab_multipoles
from pinnff.physics.pairs import PairGeometry, PairList, electrostatic_pairs, pair_geometry
from pinnff.physics.topology import Scales, Topology


def lab_frame(positions, topology, params):
    """Charges (n,), lab dipoles (n, 3) and lab Q = Theta/3 (n, 3, 3) from per-atom params."""
    d, theta = lab_multipoles(positions, topology, params["dipole"], params["quadrupole"])
    return params["charge"], d, theta / 3.0


def rows(q: torch.Tensor, d: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """Per-atom charges (n,), dipoles (n, 3) and Q (n, 3, 3) as one (13, n) table of rows: charge,
    dipole x, y, z, then Q row by row.

    The pair kernels gather it for both atoms of every pair and work on
    (k,) rows: a structure-of-arrays layout with no small per-pair matrices.
    """
    return torch.cat([q[None], d.T, Q.reshape(-1, 9).T])


def _times_r(q: torch.Tensor, rv: torch.Tensor) -> torch.Tensor:
    """``Q r`` (3, k) of pair matrices ``q`` (3, 3, k) and vectors ``rv`` (3, k), column by column
    (cheaper to differentiate than a broadcast product over (3, 3, k))."""
    q0, q1, q2 = q.unbind(1)
    x, y, z = rv.unbind(0)
    return q0 * x + q1 * y + q2 * z


def pair_invariants(rv: torch.Tensor, di: torch.Tensor, dk: torch.Tensor, qi: torch.Tensor, qk: torch.Tensor) -> dict:
    """Invariants of multipole pairs: ``rv`` (3, k) = x_k - x_i (rows x, y, z), dipoles ``di``, ``dk``
    (3, k) and Q = Theta/3 ``qi``, ``qk`` (3, 3, k) of the two atoms.

    Returns (k,) rows dir = di.r, dkr = dk.r, dik = di.dk, qir = r.Qi.r, qkr = r.Qk.r,
    qik = (Qi r).(Qk r), diqk = di.Qk r, dkqi = dk.Qi r, qiqk = Qi:Qk, and (3, k) qi_r = Qi r,
    qk_r = Qk r. Meant to run inside a fused kernel (:mod:`pinnff.physics.kernels`), where what a
    caller leaves unused is never computed.
    """
    qi_r, qk_r = _times_r(qi, rv), _times_r(qk, rv)
    return {"dir": (di * rv).sum(0), "dkr": (dk * rv).sum(0), "dik": (di * dk).sum(0),
            "qir": (qi_r * rv).sum(0), "qkr": (qk_r * rv).sum(0), "qik": (qi_r * qk_r).sum(0),
            "diqk": (di * qk_r).sum(0), "dkqi": (dk * qi_r).sum(0), "qiqk": (qi * qk).sum((0, 1)),
            "qi_r": qi_r, "qk_r": qk_r}


class Electrostatics:
    """Shared electrostatic pieces of one evaluation.

    positions (n, 3) A; params the per-atom tensors ('charge', 'dipole',
    'quadrupole' at least); ``cell`` (3, 3) A or None; ``pairs`` an optional
    pair list; ``cutoff`` A (non-periodic lists); ``ewald`` an
    :class:`pinnff.physics.ewald.EwaldSettings` under a cell; ``lab`` the
    :func:`lab_frame` multipoles of these positions and params where a caller
    already has them (two evaluations of one geometry over different pair lists).
    """

    def __init__(self, positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                 pairs: PairList | None = None, cutoff: float | None = None, ewald=None,
                 scales: Scales = Scales(), lab: tuple | None = None):
        self.positions, self.topology, self.ewald, self.scales = positions, topology, ewald, scales
        self.cell, self.pairs = electrostatic_pairs(positions, cell, pairs, cutoff, ewald, scales.intermolecular_only)
        self.q, self.d, self.Q = lab if lab is not None else lab_frame(positions, topology, params)
        self.atom_rows = rows(self.q, self.d, self.Q)  # (13, n)
        self._geometries: dict = {}
        self._rows: list = []
        self._recip = None

    def geometry(self, cutoff: float | None) -> PairGeometry:
        """Pairs of the list within ``cutoff`` A (all when None) with their vectors, built once."""
        if cutoff not in self._geometries:
            self._geometries[cutoff] = pair_geometry(self.positions, self.pairs, cutoff)
        return self._geometries[cutoff]

    def pair_rows(self, geo: PairGeometry) -> tuple[torch.Tensor, torch.Tensor]:
        """``atom_rows`` of both atoms of every pair of ``geo``, (13, k) each, gathered once per geometry
        object (under Ewald the multipole energy and the permanent field share them)."""
        for known, value in self._rows:
            if known is geo:
                return value
        value = (self.atom_rows.index_select(1, geo.i), self.atom_rows.index_select(1, geo.j))
        self._rows.append((geo, value))
        return value

    @property
    def reciprocal(self):
        """The reciprocal-space sum of this geometry (Ewald or PME), built once (periodic only)."""
        if self._recip is None:
            from pinnff.physics.ewald import reciprocal_space

            self._recip = reciprocal_space(self.positions, self.cell, self.ewald)
        return self._recip
