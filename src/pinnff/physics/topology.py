"""Topology of a multipole system: bonds, molecules, 1-n lists, local frames, polarization groups.

Everything here is integer bookkeeping (numpy); the torch terms read it.
Axis-type codes follow OpenMM's ``AmoebaMultipoleForce``: 0 Z-then-X,
1 bisector, 2 Z-bisect, 3 three-fold, 4 Z-only, 5 none. Frame atom indices
are -1 where unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from pinnff.errors import InputError

Z_THEN_X, BISECTOR, Z_BISECT, THREE_FOLD, Z_ONLY, NO_AXIS = range(6)


def _bond_separations(n_atoms: int, bonds: np.ndarray, max_sep: int = 4) -> dict[tuple[int, int], int]:
    """Shortest bond-path length (1..max_sep) of every pair (i < j) joined by at most ``max_sep`` bonds."""
    neighbours: list[list[int]] = [[] for _ in range(n_atoms)]
    for a, b in bonds:
        neighbours[a].append(b)
        neighbours[b].append(a)
    out: dict[tuple[int, int], int] = {}
    for start in range(n_atoms):
        seen = {start: 0}
        frontier = [start]
        for depth in range(1, max_sep + 1):
            nxt = []
            for atom in frontier:
                for nb in neighbours[atom]:
                    if nb not in seen:
                        seen[nb] = depth
                        nxt.append(nb)
            frontier = nxt
        for other, depth in seen.items():
            if other > start:
                out[(start, other)] = depth
    return out


@dataclass
class Topology:
    """Bonded structure of a system of ``n_atoms`` atoms.

    bonds: (m, 2) int atom pairs. mol_id: (n,) molecule of each atom.
    axis_type, frame_z, frame_x, frame_y: (n,) local-frame definitions.
    polar_group: (n,) polarization group of each atom (AMOEBA groups; atoms
    of one group do not polarize each other with the direct field when
    ``use_polar_groups`` is on). vdw_parent: (n,) atom toward which a site's
    vdW centre is reduced (itself for heavy atoms).
    """

    n_atoms: int
    bonds: np.ndarray
    mol_id: np.ndarray
    axis_type: np.ndarray
    frame_z: np.ndarray
    frame_x: np.ndarray
    frame_y: np.ndarray
    polar_group: np.ndarray
    vdw_parent: np.ndarray
    symbols: list[str] = field(default_factory=list)
    _sep_cache: dict = field(default_factory=dict, repr=False)
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    """Per-system cache of geometry-only quantities of fixed positions (see :func:`pinnff.physics.pairs.frozen`)."""

    def __post_init__(self) -> None:
        n = self.n_atoms
        self.bonds = np.asarray(self.bonds, dtype=np.int64).reshape(-1, 2)
        for name in ("mol_id", "axis_type", "frame_z", "frame_x", "frame_y", "polar_group", "vdw_parent"):
            value = np.asarray(getattr(self, name), dtype=np.int64)
            if value.shape != (n,):
                raise InputError(f"topology: {name} has shape {value.shape}, expected ({n},)")
            setattr(self, name, value)
        if len(self.bonds) and (self.bonds.min() < 0 or self.bonds.max() >= n):
            raise InputError("topology: bond index out of range")
        seps = _bond_separations(n, self.bonds)
        keys = np.array([i * n + j for (i, j) in seps], dtype=np.int64)
        vals = np.array(list(seps.values()), dtype=np.int64)
        order = np.argsort(keys)
        self.sep_keys = keys[order]
        self.sep_vals = vals[order]

    def pairs(self, separation: int) -> np.ndarray:
        """(k, 2) pairs i < j separated by exactly ``separation`` bonds (2 for 1-2 ... 5 for 1-5)."""
        sel = self.sep_vals == separation - 1
        keys = self.sep_keys[sel]
        return np.stack([keys // self.n_atoms, keys % self.n_atoms], axis=1)

    def separation(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """Bonds between atoms ``i`` and ``j`` (k,) as int64: 1..4, or 0 when more than 4 apart."""
        device = i.device
        cache_key = str(device)
        if cache_key not in self._sep_cache:
            self._sep_cache[cache_key] = (torch.as_tensor(self.sep_keys, device=device),
                                          torch.as_tensor(self.sep_vals, device=device))
        keys, vals = self._sep_cache[cache_key]
        lo = torch.minimum(i, j)
        hi = torch.maximum(i, j)
        query = lo * self.n_atoms + hi
        if len(keys) == 0:
            return torch.zeros_like(query)
        pos = torch.searchsorted(keys, query).clamp(max=len(keys) - 1)
        hit = keys.index_select(0, pos) == query
        return torch.where(hit, vals.index_select(0, pos), torch.zeros_like(query))

    def tensor(self, name: str, device) -> torch.Tensor:
        """An integer field as an int64 tensor on ``device``."""
        return torch.as_tensor(getattr(self, name), device=device)


@dataclass(frozen=True)
class Scales:
    """Scale factors of non-bonded pairs by bond separation (1-2, 1-3, 1-4, 1-5).

    mpole: permanent multipoles (and charge penetration / charge transfer).
    polar: permanent field felt by induced dipoles ("p" field); polar14_intra
    multiplies the 1-4 factor inside one polarization group.
    direct11: permanent "d" field between atoms of one polarization group
    (only used with ``use_polar_groups``).
    mutual: induced-induced coupling. vdw: van der Waals.
    Defaults are AMOEBA's (amoeba2018, AMOEBAplus_Org).
    """

    mpole: tuple[float, float, float, float] = (0.0, 0.0, 0.4, 0.8)
    polar: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    polar14_intra: float = 0.5
    direct11: float = 0.0
    mutual: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    mutual11: float = 1.0
    vdw: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    use_polar_groups: bool = True
    intermolecular_only: bool = False
    """Drop every pair inside one molecule (permanent, direct/polar fields, vdW, CT); the
    intramolecular non-bonded part then belongs to the intramolecular model."""


def scale_by_separation(sep: torch.Tensor, factors: tuple[float, float, float, float]) -> torch.Tensor:
    """Per-pair factor from bond separation ``sep`` (k,) (0 = far apart -> 1.0)."""
    table = torch.tensor((1.0,) + tuple(factors), dtype=torch.float64, device=sep.device)
    return table.index_select(0, sep)


def memoized(pairs, key, topology: Topology, build):
    """``build()`` memoized on the pair list ``pairs`` for this ``topology`` (a list belongs to one system;
    another topology object recomputes)."""
    hit = pairs.memo.get(key)
    if hit is None or hit[0] is not topology:
        hit = (topology, build())
        pairs.memo[key] = hit
    return hit[1]


def list_separation(topology: Topology, pairs) -> torch.Tensor:
    """Bond separation (k,) int64 of every pair of a :class:`pinnff.physics.pairs.PairList`, memoized on it;
    0 (far apart) for periodic images other than the nearest one of a pair."""
    def build():
        sep = topology.separation(pairs.i, pairs.j)
        nearest = pairs.nearest_image()
        return sep if nearest is None else torch.where(nearest, sep, torch.zeros_like(sep))

    return memoized(pairs, "separation", topology, build)


def list_scale(topology: Topology, pairs, factors, scales: Scales, dtype) -> torch.Tensor:
    """Per-pair scale (k,) of every pair of a pair list by bond separation (``factors`` for 1-2..1-5),
    zero inside a molecule when ``scales.intermolecular_only``; memoized on the list."""
    def build():
        s = scale_by_separation(list_separation(topology, pairs), factors).to(dtype)
        if scales.intermolecular_only:
            mol = topology.tensor("mol_id", pairs.i.device)
            s = torch.where(mol.index_select(0, pairs.i) == mol.index_select(0, pairs.j), torch.zeros_like(s), s)
        return s

    return memoized(pairs, ("scale", tuple(factors), scales.intermolecular_only, dtype), topology, build)
