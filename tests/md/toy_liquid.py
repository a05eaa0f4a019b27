"""A small periodic liquid of C-H diatomics for MD tests, with the fast/slow split of the MD potentials.

Fast: harmonic C-H bonds (k 300 kcal/mol/A^2, r0 1.1 A: a ~17 fs vibration).
Slow: Lennard-Jones between atoms of different molecules, switched smoothly
to zero between 4 and 5 A, over the pairs of a :class:`NeighborCache` (so a
resumed run must restore its neighbour list to continue bit for bit).
Middle (RESPA1): the same Lennard-Jones switched off between 3 and 3.5 A.
"""

import numpy as np
import torch
from ase import Atoms

from pinnff.physics.pairs import NeighborCache


def toy_box(n_molecules: int = 16, edge_A: float = 12.0, seed: int = 0) -> Atoms:
    """``n_molecules`` C-H molecules on a jittered lattice in a cubic box, with ``mol_id``."""
    rng = np.random.default_rng(seed)
    per_side = int(np.ceil(n_molecules ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n_molecules]
    centres = (grid + 0.5) * edge_A / per_side + rng.normal(scale=0.1, size=(n_molecules, 3))
    directions = rng.normal(size=(n_molecules, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    positions = np.stack([centres - 0.55 * directions, centres + 0.55 * directions], 1).reshape(-1, 3)
    atoms = Atoms("CH" * n_molecules, positions=positions, cell=[edge_A] * 3, pbc=True)
    atoms.arrays["mol_id"] = np.repeat(np.arange(n_molecules), 2)
    return atoms


class ToyLiquid(torch.nn.Module):
    """Energies (kcal/mol) of the :func:`toy_box` liquid; ``slow_calls`` counts outer force evaluations."""

    def __init__(self, n_molecules: int, epsilon: float = 0.2, sigma: float = 2.5, k: float = 300.0, r0: float = 1.1,
                 slow: bool = True):
        super().__init__()
        self.epsilon, self.sigma, self.k, self.r0, self.with_slow = epsilon, sigma, k, r0, slow
        self.bonds = torch.arange(2 * n_molecules).reshape(-1, 2)
        self.mol = torch.arange(n_molecules).repeat_interleave(2)
        self.neighbors = NeighborCache(cutoff=5.0, skin=0.5)
        self.slow_calls = 0

    def fast_energy(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.linalg.norm(x[self.bonds[:, 1]] - x[self.bonds[:, 0]], dim=-1)
        return 0.5 * self.k * ((r - self.r0) ** 2).sum()

    def _switched_lj(self, x: torch.Tensor, cell: torch.Tensor, on: float, off: float) -> torch.Tensor:
        pairs = self.neighbors.get(x, cell)
        _, r = pairs.vectors(x)
        keep = (self.mol[pairs.i] != self.mol[pairs.j]) & (r < off)
        r = r[keep]
        s6 = (self.sigma / r) ** 6
        t = ((r - on) / (off - on)).clamp(0.0, 1.0)
        switch = 1 - t ** 3 * (10 - 15 * t + 6 * t * t)
        return (4 * self.epsilon * (s6 * s6 - s6) * switch).sum()

    def slow_energy(self, x: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        self.slow_calls += 1
        if not self.with_slow:
            return (x * 0).sum()
        return self._switched_lj(x, cell, 4.0, 5.0)

    def middle_energy(self, x: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        return self._switched_lj(x, cell, 3.0, 3.5)

    def forward(self, x: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        return self.fast_energy(x) + self.slow_energy(x, cell)


class Interrupting(ToyLiquid):
    """Raises KeyboardInterrupt (a kill) after ``calls`` outer force evaluations."""

    def __init__(self, n_molecules: int, calls: int):
        super().__init__(n_molecules)
        self.remaining = calls

    def slow_energy(self, x, cell):
        self.remaining -= 1
        if self.remaining < 0:
            raise KeyboardInterrupt
        return super().slow_energy(x, cell)
