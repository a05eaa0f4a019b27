"""Pair lists and pair vectors shared by every non-bonded term (torch).

A :class:`PairList` holds atom indices ``i < j`` (non-periodic) or the
half neighbour list from vesin (periodic, each pair once with an integer
cell shift). Displacements are ``r_ij = x_j - x_i + shift`` in Angstrom.
Lists are built without gradient; the vectors built from them carry it.

A list remembers each pair's distance when it was built (``reference``)
and the ``skin`` it was built with, so :meth:`PairList.within` can hand a
term only the pairs that may lie inside its own cutoff; per-pair data that
depends only on the list (bond separations, scale factors, sub-lists) is
memoized on the list (``memo``) and lives as long as the list does: one
call of :func:`build_pairs`, or one build of a :class:`NeighborCache`.

Training on rigid geometries evaluates the same positions at every step:
:func:`frozen` keeps what depends only on them (pair vectors, distances,
their powers, frames) for as long as the very same position tensor is passed
unchanged and without gradient, so that work is done once per data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from pinnff.errors import InputError


def frozen(memo: dict, key, tensors: tuple, build):
    """``build()``, kept in ``memo`` under ``key`` while ``tensors`` are the same, unmodified
    tensor objects (identity and in-place version) that do not require grad: geometry-only
    quantities of fixed structures (training batches) are then computed once. Anything else
    (MD steps, positions that carry gradients) calls ``build()`` every time."""
    if any(t.requires_grad for t in tensors):
        return build()
    stamp = tuple(t._version for t in tensors)
    hit = memo.get(key)
    if hit is not None and len(hit[0]) == len(tensors) and all(a is b for a, b in zip(hit[0], tensors)) \
            and hit[1] == stamp:
        return hit[2]
    value = build()
    memo[key] = (tensors, stamp, value)
    return value


@dataclass
class PairList:
    """Pairs ``(i, j)`` (k,) int64 and Cartesian shifts (k, 3) A (None when non-periodic).

    ``reference`` (k,) A: each pair's distance when the list was built (None:
    unknown, e.g. an explicit list of every pair); ``skin`` A: how far the
    pairs may have moved closer since (a neighbour list's skin, 0 otherwise).
    ``memo``: per-list cache (see :meth:`cached`).
    """

    i: torch.Tensor
    j: torch.Tensor
    shift: torch.Tensor | None = None
    reference: torch.Tensor | None = None
    skin: float = 0.0
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def vectors(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``r_vec`` (k, 3) = x_j - x_i (+ shift) and ``r`` (k,) in A."""
        rvec = positions.index_select(0, self.j) - positions.index_select(0, self.i)
        if self.shift is not None:
            rvec = rvec + self.shift
        return rvec, torch.linalg.norm(rvec, dim=-1)

    def select(self, mask: torch.Tensor) -> "PairList":
        """The pairs where ``mask`` (k,) is true (a new list with an empty memo)."""
        return self.take(torch.nonzero(mask).flatten())

    def take(self, index: torch.Tensor) -> "PairList":
        """The pairs at ``index`` (m,) int64 (a new list with an empty memo)."""
        return PairList(self.i.index_select(0, index), self.j.index_select(0, index),
                        None if self.shift is None else self.shift.index_select(0, index),
                        None if self.reference is None else self.reference.index_select(0, index), self.skin)

    def cached(self, key, build):
        """``build()``, computed once per list and ``key`` (hashable)."""
        if key not in self.memo:
            self.memo[key] = build()
        return self.memo[key]

    def nearest_image(self) -> torch.Tensor | None:
        """(k,) bool: whether each entry is the closest periodic image of its atom pair (by the
        build-time distance), memoized; None for a non-periodic list. Bond-separation scaling
        (exclusions) belongs to that image only: farther images are ordinary pairs."""
        if self.shift is None or self.reference is None:
            return None

        def build():
            key = self.i * (int(torch.maximum(self.i.max(), self.j.max())) + 1) + self.j
            _, inverse = torch.unique(key, return_inverse=True)
            closest = torch.full((int(inverse.max()) + 1,), float("inf"), dtype=self.reference.dtype,
                                 device=self.reference.device)
            closest = closest.scatter_reduce(0, inverse, self.reference, reduce="amin")
            return self.reference <= closest.index_select(0, inverse)

        return self.cached("nearest_image", build)

    def within(self, cutoff: float | None) -> "PairList":
        """The pairs that may now lie within ``cutoff`` A: those within ``cutoff + skin`` at build time.

        The index is memoized, and so is the sub-list while this list's shifts are the same
        tensor (its cell unchanged); shifts follow this list's (current) shifts, and the
        sub-list keeps its own memo for as long as this list lives. Returns the list
        itself when there is no cutoff, no reference distances, or nothing to drop.
        """
        if cutoff is None or self.reference is None:
            return self
        entry = self.cached(("within", float(cutoff)), lambda: {
            "index": torch.nonzero(self.reference <= cutoff + self.skin).flatten(), "memo": {}, "sub": None})
        index, memo = entry["index"], entry["memo"]
        if len(index) == len(self.i):
            return self
        known = entry["sub"]
        if known is not None and known[0] is self.shift:  # the same shifts (cell): the same sub-list
            return known[1]
        sub = self.take(index)
        sub.memo = memo
        nearest = self.nearest_image()
        if nearest is not None and "nearest_image" not in memo:
            memo["nearest_image"] = nearest.index_select(0, index)
        entry["sub"] = (self.shift, sub)
        return sub


@dataclass
class PairGeometry:
    """Pairs of a :class:`PairList` inside a cutoff, with their vectors.

    ``pairs`` is the (memoizing) list the pairs come from and ``index`` (k,)
    the selected entries of it (None: all of them). ``i``, ``j`` (k,) atoms,
    ``rvec`` (k, 3) = x_j - x_i (+ shift) A, ``r`` (k,) A. ``memo``: geometry-only
    quantities derived from it (see :meth:`cached`), kept as long as the geometry is.
    """

    pairs: PairList
    index: torch.Tensor | None
    i: torch.Tensor
    j: torch.Tensor
    rvec: torch.Tensor
    r: torch.Tensor
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key, build):
        """``build()`` once per geometry and ``key``: only for quantities that depend on nothing
        but this geometry and the pair list (not on parameters). A geometry of fixed positions
        lives across evaluations (:func:`pair_geometry`), so these are then computed once."""
        if key not in self.memo:
            self.memo[key] = build()
        return self.memo[key]

    def components(self) -> torch.Tensor:
        """``rvec`` as rows (3, k): x, y, z components (the pair kernels' layout)."""
        return self.cached("components", lambda: self.rvec.T.contiguous())

    def gather(self, per_pair: torch.Tensor) -> torch.Tensor:
        """Entries of a per-pair tensor of ``pairs`` (first axis) for the selected pairs."""
        return per_pair if self.index is None else per_pair.index_select(0, self.index)

    def take(self, index: torch.Tensor) -> "PairGeometry":
        """The selected pairs at ``index`` (m,) int64 of this geometry."""
        parent = index if self.index is None else self.index.index_select(0, index)
        return PairGeometry(self.pairs, parent, self.i.index_select(0, index), self.j.index_select(0, index),
                            self.rvec.index_select(0, index), self.r.index_select(0, index))


def pair_geometry(positions: torch.Tensor, pairs: PairList, cutoff: float | None = None,
                  margin: float = 0.0) -> PairGeometry:
    """Vectors of the pairs of ``pairs`` within ``cutoff`` A (all pairs when None) at ``positions`` (n, 3) A.

    ``margin`` (A) widens the sub-list taken from ``pairs`` when ``positions``
    are not the points the list was built on (vdW sites of a list built on atoms).
    Pairs are chosen without gradient; only the chosen ones get differentiable vectors.
    Fixed positions (the same tensor, unchanged, without grad) get the same geometry back
    (:func:`frozen`, memoized on ``pairs``).
    """
    fixed = (positions,) if pairs.shift is None else (positions, pairs.shift)  # a list's shifts follow its cell
    return frozen(pairs.memo, ("geometry", cutoff, margin), fixed, lambda: _pair_geometry(positions, pairs, cutoff, margin))


def _pair_geometry(positions: torch.Tensor, pairs: PairList, cutoff: float | None, margin: float) -> PairGeometry:
    sub = pairs.within(None if cutoff is None else cutoff + margin)
    rvec, r = sub.vectors(positions)
    if cutoff is not None:
        with torch.no_grad():
            inside = r <= cutoff
            index = None if bool(inside.all()) else torch.nonzero(inside).flatten()
        if index is not None:
            return PairGeometry(sub, index, sub.i.index_select(0, index), sub.j.index_select(0, index),
                                rvec.index_select(0, index), r.index_select(0, index))
    return PairGeometry(sub, None, sub.i, sub.j, rvec, r)


@dataclass
class Segments:
    """Independent structures of a batch: ``index`` (n,) int64 segment of each atom, ``size`` segments.

    Atoms of different segments must never share a pair (see :func:`segment_pairs`);
    the energy terms then return one energy per segment, shape ``(size,)``.
    """

    index: torch.Tensor
    size: int


def energy_sum(values: torch.Tensor, atoms: torch.Tensor | None, segments: Segments | None) -> torch.Tensor:
    """Sum of energy contributions ``values`` (k,): a scalar, or ``(segments.size,)`` per segment.

    ``atoms`` (k,) is the atom each contribution belongs to (the first atom of
    a pair); None means ``values`` is per atom (k = n).
    """
    if segments is None:
        return values.sum()
    owner = segments.index if atoms is None else segments.index.index_select(0, atoms)
    return values.new_zeros(segments.size).index_add(0, owner, values)


def segment_owners(segments: Segments | None, atoms: torch.Tensor):
    """``(segment of each pair (k,), segment of each atom (n,), segments)`` for pairs whose first atoms are
    ``atoms`` (k,), the form :func:`pinnff.physics.native.pair_energies` sums by; None without segments."""
    if segments is None:
        return None
    return segments.index.index_select(0, atoms), segments.index, segments.size


def segment_pairs(sizes, device=None) -> tuple[PairList, Segments]:
    """Every pair ``i < j`` within each of consecutive segments of ``sizes`` atoms (non-periodic).

    Returns the pair list and the :class:`Segments` of the concatenated
    atoms; cost is linear in the number of segments (one ``triu`` per
    distinct size).
    """
    sizes = torch.as_tensor(sizes, dtype=torch.long, device=device)
    starts = torch.cumsum(sizes, 0) - sizes
    index = torch.repeat_interleave(torch.arange(len(sizes), device=device), sizes)
    i_parts, j_parts = [], []
    for size in torch.unique(sizes).tolist():
        first = starts[sizes == size]
        a, b = torch.triu_indices(size, size, offset=1, device=device)
        i_parts.append((first[:, None] + a[None, :]).reshape(-1))
        j_parts.append((first[:, None] + b[None, :]).reshape(-1))
    i, j = torch.cat(i_parts), torch.cat(j_parts)
    order = torch.argsort(i * int(sizes.sum()) + j)
    return PairList(i[order], j[order]), Segments(index, len(sizes))


def check_cell(cell, dtype, device) -> torch.Tensor | None:
    """A (3, 3) cell tensor (rows are lattice vectors, A) or None; rejects degenerate cells."""
    if cell is None:
        return None
    cell = torch.as_tensor(cell, dtype=dtype, device=device)
    if cell.shape == (3,):
        cell = torch.diag(cell)
    if cell.shape != (3, 3) or abs(float(torch.linalg.det(cell.detach()))) < 1e-6:
        raise InputError(f"cell must be (3,) or (3, 3) with non-zero volume, got shape {tuple(cell.shape)}")
    return cell


def build_pairs(positions: torch.Tensor, cell=None, cutoff: float | None = None) -> PairList:
    """All pairs within ``cutoff`` A (every pair i < j when non-periodic and ``cutoff`` is None).

    Periodic systems (``cell`` (3, 3) rows = lattice vectors, or (3,) for an
    orthorhombic box) need a cutoff; pairs come from vesin with the minimum
    image and further images as the cutoff requires.
    """
    n = positions.shape[0]
    device = positions.device
    cell_t = check_cell(cell, positions.dtype, device)
    if cell_t is None:
        i, j = torch.triu_indices(n, n, offset=1, device=device)
        pl = PairList(i, j)
        if cutoff is not None:
            with torch.no_grad():
                _, r = pl.vectors(positions)
            pl.reference = r
            pl = pl.select(r <= cutoff)
        return pl
    if cutoff is None:
        raise InputError("periodic pair lists need a cutoff")
    from vesin import NeighborList

    pos = positions.detach().cpu().double().numpy()
    box = cell_t.detach().cpu().double().numpy()
    calc = NeighborList(cutoff=float(cutoff), full_list=False)
    i, j, s, d = calc.compute(points=pos, box=box, periodic=True, quantities="ijSd")
    i = torch.as_tensor(np.asarray(i, dtype=np.int64), device=device)
    j = torch.as_tensor(np.asarray(j, dtype=np.int64), device=device)
    s = torch.as_tensor(np.asarray(s, dtype=np.float64), dtype=positions.dtype, device=device)
    d = torch.as_tensor(np.asarray(d, dtype=np.float64), dtype=positions.dtype, device=device)
    order = torch.argsort(i * n + j)  # atom order: neighbouring pairs gather neighbouring memory
    i, j, s, d = i[order], j[order], s[order], d[order]
    return PairList(i, j, s @ cell_t, reference=d)


class NeighborCache:
    """Verlet list with a skin: pairs within ``cutoff + skin`` A, rebuilt only when the pairs may
    have moved by more than the skin since the last build. Terms apply their own cutoffs to the
    pairs they receive, so the extra pairs cost time, never accuracy.

    With a fixed cell that is when some atom has moved more than ``skin / 2``. A cell that changed
    since the build (a barostat's volume move) strains every pair vector of the build by at most
    ``|M| r`` with ``M = L_build^-1 L - 1`` (``|M|`` its spectral norm, rows are lattice
    vectors); with the atoms' displacements ``d`` taken in fractional coordinates (the strain
    removed), every pair that may now lie within the cutoff is still listed while
    ``2 max d + |M| (cutoff + skin) <= skin``. Cartesian shifts then follow the current cell.
    """

    def __init__(self, cutoff: float | None, skin: float = 1.0):
        self.cutoff, self.skin = cutoff, skin
        self._ref = None
        self._cell = None
        self._pairs: PairList | None = None
        self._strained: tuple[torch.Tensor, PairList] | None = None  # (cell, the list's shifts in it)
        self.builds = 0

    @property
    def reference(self) -> torch.Tensor | None:
        """Positions (n, 3) A of the last build (None before the first): with the cell they fix the list."""
        return self._ref

    @property
    def reference_cell(self) -> torch.Tensor | None:
        """Cell (3, 3) A of the last build (None before the first or without a cell)."""
        return self._cell

    def _stale(self, x: torch.Tensor, cell: torch.Tensor | None) -> bool:
        """Whether pairs of the list at ``x`` (n, 3) in ``cell`` may have moved by more than the skin."""
        if self._pairs is None or self._ref is None or self._ref.shape != x.shape or (cell is None) != (self._cell is None):
            return True
        if cell is None or torch.equal(cell, self._cell):
            return bool((x - self._ref).norm(dim=-1).max() > 0.5 * self.skin)
        deformation = torch.linalg.inv(self._cell) @ cell  # fractional coordinates of the build, now
        strain = deformation - torch.eye(3, dtype=cell.dtype, device=cell.device)
        moved = (x - self._ref @ deformation).norm(dim=-1).max()
        reach = (self.cutoff if self.cutoff is not None else 0.0) + self.skin
        return bool(2.0 * moved + torch.linalg.matrix_norm(strain, ord=2) * reach > self.skin)

    def get(self, positions: torch.Tensor, cell=None, rebuild: bool = False) -> PairList:
        """The pair list for ``positions`` (n, 3) A (shifts recomputed from the current cell);
        ``rebuild`` forces a new list built at ``positions`` in ``cell`` (e.g. a resumed run's last
        reference positions and cell)."""
        cell_t = check_cell(cell, positions.dtype, positions.device)
        x = positions.detach()
        current = None if cell_t is None else cell_t.detach()
        if rebuild or self._stale(x, current):
            cut = None if self.cutoff is None else self.cutoff + self.skin
            self._pairs = build_pairs(x, current, cut)
            self._pairs.skin = self.skin
            if current is not None:  # keep integer shifts; Cartesian shifts follow the current cell
                self._shift_int = torch.round(self._pairs.shift @ torch.linalg.inv(current))
            self._ref, self._cell = x.clone(), None if current is None else current.clone()
            self._strained = None
            self.builds += 1
        p = self._pairs
        if cell_t is None or (not cell_t.requires_grad and torch.equal(current, self._cell)):
            return p  # the build cell
        if cell_t.requires_grad:  # a differentiable cell (strain derivative): shifts follow it
            return PairList(p.i, p.j, self._shift_int @ cell_t, p.reference, p.skin, p.memo)
        if self._strained is None or not torch.equal(self._strained[0], current):  # once per new cell
            self._strained = (current.clone(), PairList(p.i, p.j, self._shift_int @ current, p.reference, p.skin,
                                                        p.memo))
        return self._strained[1]


def electrostatic_pairs(positions: torch.Tensor, cell, pairs: PairList | None, cutoff: float | None, ewald,
                        intermolecular_only: bool) -> tuple[torch.Tensor | None, PairList]:
    """Checked cell ``(3, 3)`` (or None) and the pair list for an electrostatic term.

    With Ewald (``ewald`` has a ``cutoff``) a cell is required and the pairs
    are those within the real-space cutoff; ``intermolecular_only`` is refused
    there, since excluded intramolecular pairs beyond the cutoff would keep
    their reciprocal-space part.
    """
    if ewald is not None and intermolecular_only:
        raise ValueError("intermolecular_only is not supported with Ewald (exclusions beyond the cutoff)")
    cell_t = check_cell(cell, positions.dtype, positions.device)
    if ewald is not None and cell_t is None:
        raise ValueError("Ewald summation needs a cell")
    if pairs is None:
        pairs = build_pairs(positions, cell_t, ewald.cutoff if ewald is not None else cutoff)
    return cell_t, pairs
