"""What the permanent-multipole and polarization terms share within one evaluation (torch).

:class:`Electrostatics` holds, for one set of positions, parameters and
cell: the checked cell and pair list, the lab-frame multipoles and their
rows (:func:`rows`), the pair geometry within a cutoff,
the gathered rows and pair invariants of a geometry, and the reciprocal
space (plain Ewald or PME) whose potential of the permanent multipoles
serves both the multipole energy and the permanent field. Everything is
computed on first use and kept, so :func:`pinnff.physics.energy.total_energy`
pays for each piece once; every term builds its own when called alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pinnff.physics.frames import lab_multipoles
from pinnff.physics.pairs import PairGeometry, PairList, electrostatic_pairs, pair_geometry
from pinnff.physics.topology import Scales, Topology


def lab_frame(positions, topology, params):
    """Charges (n,), lab dipoles (n, 3) and lab Q = Theta/3 (n, 3, 3) from per-atom params."""
    d, theta = lab_multipoles(positions, topology, params["dipole"], params["quadrupole"])
    return params["charge"], d, theta / 3.0


def rows(d: torch.Tensor, Q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-atom dipoles (n, 3) and Q (n, 3, 3) as rows: (3, n) and (9, n), Q row by row.

    The pair kernels gather these for both atoms of every pair and work on
    (k,) rows: a structure-of-arrays layout with no small per-pair matrices.
    """
    return d.T.contiguous(), Q.reshape(-1, 9).T.contiguous()


def pair_terms(rv: torch.Tensor, di: torch.Tensor, dk: torch.Tensor, qi: torch.Tensor, qk: torch.Tensor) -> dict:
    """Shared invariants of multipole pairs: ``rv`` (3, k) = x_k - x_i (rows x, y, z), dipoles
    ``di``, ``dk`` (3, k) and Q = Theta/3 ``qi``, ``qk`` (3, 3, k) of the two atoms.

    Returns a mapping of (k,) rows dir = di.r, dkr = dk.r, dik = di.dk, qir = r.Qi.r,
    qkr = r.Qk.r, qik = (Qi r).(Qk r), diqk = di.Qk r, dkqi = dk.Qi r,
    qiqk = Qi:Qk; and (3, k) di, dk, qi_r = Qi r, qk_r = Qk r. Each is computed
    on first access (the fields need fewer of them than the energy).
    """
    return _PairTerms(rv, di, dk, qi, qk)


def _times_r(q: torch.Tensor, rv: torch.Tensor) -> torch.Tensor:
    """``Q r`` (3, k) of pair matrices ``q`` (3, 3, k) and vectors ``rv`` (3, k), column by column
    (cheaper to differentiate than a broadcast product over (3, 3, k))."""
    q0, q1, q2 = q.unbind(1)
    x, y, z = rv.unbind(0)
    return q0 * x + q1 * y + q2 * z


class _PairTerms(dict):
    """The invariants of :func:`pair_terms`, each built when first looked up."""

    _BUILD = {
        "qi_r": lambda t: _times_r(t.qi, t.rv), "qk_r": lambda t: _times_r(t.qk, t.rv),
        "dir": lambda t: (t["di"] * t.rv).sum(0), "dkr": lambda t: (t["dk"] * t.rv).sum(0),
        "dik": lambda t: (t["di"] * t["dk"]).sum(0), "qir": lambda t: (t["qi_r"] * t.rv).sum(0),
        "qkr": lambda t: (t["qk_r"] * t.rv).sum(0), "qik": lambda t: (t["qi_r"] * t["qk_r"]).sum(0),
        "diqk": lambda t: (t["di"] * t["qk_r"]).sum(0), "dkqi": lambda t: (t["dk"] * t["qi_r"]).sum(0),
        "qiqk": lambda t: (t.qi * t.qk).sum((0, 1)),
    }

    def __init__(self, rv, di, dk, qi, qk):
        super().__init__(di=di, dk=dk)
        self.rv, self.qi, self.qk = rv, qi, qk

    def __missing__(self, key):
        value = self[key] = self._BUILD[key](self)
        return value


@dataclass
class GatheredPairs:
    """Multipoles of both atoms of every pair of a geometry: ``rv`` (3, k) A, charges ``qi``, ``qk``
    (k,) e, dipoles ``di``, ``dk`` (3, k) e*A, Q = Theta/3 ``Qi``, ``Qk`` (3, 3, k) e*A^2, and
    ``terms`` their invariants (:func:`pair_terms`)."""

    rv: torch.Tensor
    qi: torch.Tensor
    qk: torch.Tensor
    terms: dict


class Electrostatics:
    """Shared electrostatic pieces of one evaluation.

    positions (n, 3) A; params the per-atom tensors ('charge', 'dipole',
    'quadrupole' at least); ``cell`` (3, 3) A or None; ``pairs`` an optional
    pair list; ``cutoff`` A (non-periodic lists); ``ewald`` an
    :class:`pinnff.physics.ewald.EwaldSettings` under a cell.
    """

    def __init__(self, positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                 pairs: PairList | None = None, cutoff: float | None = None, ewald=None,
                 scales: Scales = Scales()):
        self.positions, self.topology, self.ewald, self.scales = positions, topology, ewald, scales
        self.cell, self.pairs = electrostatic_pairs(positions, cell, pairs, cutoff, ewald, scales.intermolecular_only)
        self.q, self.d, self.Q = lab_frame(positions, topology, params)
        self.d_rows, self.Q_rows = rows(self.d, self.Q)  # (3, n), (9, n)
        self._geometries: dict = {}
        self._gathered: list = []
        self._recip = None

    def geometry(self, cutoff: float | None) -> PairGeometry:
        """Pairs of the list within ``cutoff`` A (all when None) with their vectors, built once."""
        if cutoff not in self._geometries:
            self._geometries[cutoff] = pair_geometry(self.positions, self.pairs, cutoff)
        return self._geometries[cutoff]

    def gathered(self, geo: PairGeometry) -> GatheredPairs:
        """The multipoles of both atoms of each pair of ``geo`` and their invariants, built once
        per geometry object."""
        for known, value in self._gathered:
            if known is geo:
                return value
        i, k = geo.i, geo.j
        rv = geo.components()
        qi, qk = self.Q_rows.index_select(1, i).reshape(3, 3, -1), self.Q_rows.index_select(1, k).reshape(3, 3, -1)
        terms = pair_terms(rv, self.d_rows.index_select(1, i), self.d_rows.index_select(1, k), qi, qk)
        value = GatheredPairs(rv, self.q.index_select(0, i), self.q.index_select(0, k), terms)
        self._gathered.append((geo, value))
        return value

    @property
    def reciprocal(self):
        """The reciprocal-space sum of this geometry (Ewald or PME), built once (periodic only)."""
        if self._recip is None:
            from pinnff.physics.ewald import reciprocal_space

            self._recip = reciprocal_space(self.positions, self.cell, self.ewald)
        return self._recip
