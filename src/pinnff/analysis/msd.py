"""Centre-of-mass trajectories and their mean-squared displacement (Angstrom, fs).

Shapes: atomic positions of one frame ``(n_atoms, 3)``; a trajectory
``(n_frames, n_atoms, 3)``; cells ``(3, 3)`` with the lattice vectors as rows
(ASE's convention) or ``(n_frames, 3, 3)``; centre-of-mass trajectories
``(n_frames, n_molecules, 3)``; MSDs ``(n_lags,)`` or ``(n_lags, n_molecules)``
in Angstrom^2, lag ``k`` meaning ``k`` frame spacings.

Unwrapping follows the displacement scheme of Kulke and Vermaas
(J. Chem. Theory Comput. 18, 6161 (2022)): the unwrapped position advances by
the minimum-image displacement between consecutive wrapped frames, taken in
the cell of the current frame. It is exact when no atom moves more than half
a box width between frames, is harmless on coordinates that are already
unwrapped, and stays correct when the cell changes (NPT).
"""

from __future__ import annotations

from collections import deque

import numpy as np


def minimum_image_displacement(delta: np.ndarray, cell: np.ndarray, pbc=(True, True, True)) -> np.ndarray:
    """Minimum-image version of displacements ``delta`` ``(..., 3)`` (Angstrom).

    ``cell`` is ``(3, 3)`` (rows are lattice vectors); only periodic directions
    (``pbc``) are folded. Exact for displacements shorter than half the
    smallest perpendicular width of the cell, which is all unwrapping needs.
    """
    mask = np.asarray(pbc, dtype=bool)
    if not mask.any():
        return np.asarray(delta, dtype=float)
    frac = np.asarray(delta) @ np.linalg.inv(cell)
    frac = frac - np.round(frac) * mask
    return frac @ cell


def perpendicular_widths(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell, shape ``(3,)`` (Angstrom)."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)])


class Unwrapper:
    """Turns wrapped frames, fed in order, into continuous (unwrapped) ones.

    ``push(positions, cell)`` takes one frame's wrapped positions
    ``(n_atoms, 3)`` and its cell ``(3, 3)`` and returns the unwrapped
    positions ``(n_atoms, 3)``. The first frame is returned as given, or as
    ``start`` (its molecules made whole with :func:`make_whole`). ``max_step_fraction``
    records the largest per-frame atomic displacement seen, as a fraction of
    half the smallest perpendicular cell width: values near 1 mean frames are
    too far apart to unwrap reliably.
    """

    def __init__(self, pbc=(True, True, True)):
        self.pbc = np.asarray(pbc, dtype=bool)
        self._wrapped = None
        self._unwrapped = None
        self.max_step_fraction = 0.0

    def push(self, positions: np.ndarray, cell: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """Unwrapped positions of the next frame; ``start`` replaces the first frame's output (e.g. made whole)."""
        positions = np.asarray(positions, dtype=float)
        if self._wrapped is None:
            self._wrapped = positions.copy()
            self._unwrapped = positions.copy() if start is None else np.asarray(start, dtype=float).copy()
            return self._unwrapped.copy()
        if positions.shape != self._wrapped.shape:
            raise ValueError(f"frame has {positions.shape[0]} atoms, the first had {self._wrapped.shape[0]}")
        step = minimum_image_displacement(positions - self._wrapped, cell, self.pbc)
        if self.pbc.any():
            half_width = 0.5 * perpendicular_widths(cell)[self.pbc].min()
            self.max_step_fraction = max(self.max_step_fraction, float(np.abs(step).max() / half_width))
        self._wrapped = positions.copy()
        self._unwrapped = self._unwrapped + step
        return self._unwrapped.copy()


def unwrap(positions: np.ndarray, cells: np.ndarray, pbc=(True, True, True)) -> np.ndarray:
    """Unwrap a whole trajectory ``(n_frames, n_atoms, 3)``; cells ``(3, 3)`` or ``(n_frames, 3, 3)``."""
    positions = np.asarray(positions, dtype=float)
    cells = np.broadcast_to(np.asarray(cells, dtype=float), (len(positions), 3, 3))
    unwrapper = Unwrapper(pbc)
    return np.stack([unwrapper.push(frame, cell) for frame, cell in zip(positions, cells)])


def make_whole(atoms, mol_id: np.ndarray, scale: float = 1.2) -> np.ndarray:
    """Positions ``(n_atoms, 3)`` of ``atoms`` with every molecule made whole.

    Bonds are perceived as in :func:`pinnff.chem.topology.perceive_molecules`
    (distance below ``scale`` times the sum of covalent radii, minimum image);
    each molecule is rebuilt by walking its bond graph from its first atom, so
    molecules longer than half the box are handled. Atoms of a molecule that
    no bond reaches are placed at the minimum image of the molecule's first
    atom. Without periodic directions the positions are returned unchanged.
    """
    positions = atoms.get_positions()
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if not pbc.any():
        return positions
    from ase.neighborlist import natural_cutoffs, neighbor_list

    mol_id = np.asarray(mol_id)
    first, second, vectors = neighbor_list("ijD", atoms, natural_cutoffs(atoms, mult=scale))
    same = mol_id[first] == mol_id[second]
    neighbours: dict[int, list[tuple[int, np.ndarray]]] = {}
    for i, j, d in zip(first[same], second[same], vectors[same]):
        neighbours.setdefault(int(i), []).append((int(j), d))
    cell = atoms.cell.array
    whole = positions.copy()
    placed = np.zeros(len(atoms), dtype=bool)
    for molecule in np.unique(mol_id):
        members = np.flatnonzero(mol_id == molecule)
        anchor = members[0]
        for root in members:
            if placed[root]:
                continue
            if root != anchor:
                whole[root] = whole[anchor] + minimum_image_displacement(positions[root] - whole[anchor], cell, pbc)
            placed[root] = True
            queue = deque([root])
            while queue:
                i = queue.popleft()
                for j, d in neighbours.get(i, ()):
                    if not placed[j]:
                        whole[j] = whole[i] + d
                        placed[j] = True
                        queue.append(j)
    return whole


def com_weights(mol_id: np.ndarray, masses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(n_molecules, n_atoms)`` whose product with positions gives centres of mass.

    Returns the weight matrix and the molecule labels in its row order
    (sorted). ``masses`` in any unit (only ratios matter).
    """
    mol_id = np.asarray(mol_id)
    labels = np.unique(mol_id)
    weights = (mol_id[None, :] == labels[:, None]) * np.asarray(masses, dtype=float)[None, :]
    return weights / weights.sum(axis=1, keepdims=True), labels


def msd_fft(positions: np.ndarray) -> np.ndarray:
    """MSD of each particle averaged over all time origins, by FFT.

    ``positions``: unwrapped trajectory ``(n_frames, n_particles, 3)``
    (Angstrom). Returns ``(n_frames, n_particles)``: entry ``[k, i]`` is the
    mean over origins ``t`` of ``|r_i(t + k) - r_i(t)|^2`` (Angstrom^2), all
    ``n_frames - k`` origins counted. Algorithm: MSD(k) = S1(k) - 2 S2(k), S2
    the position autocorrelation by zero-padded FFT, S1 by a running sum
    (Calandrini et al., Collection SFN 12, 201 (2011); the same algorithm as
    MDAnalysis' ``EinsteinMSD(fft=True)``), O(n_frames log n_frames).
    """
    x = np.asarray(positions, dtype=float)
    n = x.shape[0]
    size = 2 * n
    spectrum = np.fft.rfft(x, n=size, axis=0)
    autocorr = np.fft.irfft(spectrum * spectrum.conj(), n=size, axis=0)[:n].sum(axis=-1)
    counts = (n - np.arange(n))[:, None]
    s2 = autocorr / counts
    squares = np.sum(x * x, axis=-1)  # (n, particles)
    prefix = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(squares, axis=0)])  # prefix[m] = sum_{t<m}
    total = prefix[-1]
    lags = np.arange(n)
    # sum over origins t of |r(t)|^2 + |r(t+k)|^2 = (total - tail k terms) + (total - head k terms)
    s1 = (2 * total[None, :] - prefix[lags] - (total[None, :] - prefix[n - lags])) / counts
    msd = s1 - 2 * s2
    msd[0] = 0.0
    return np.maximum(msd, 0.0)
