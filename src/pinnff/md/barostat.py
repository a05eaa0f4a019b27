"""Monte Carlo barostat: isotropic volume moves with whole molecules translated rigidly.

A move draws ``delta`` uniformly in ``[-step, step]`` and proposes
``V' = V exp(delta)``: the cell (any shape, scaled isotropically; pinnff's
boxes are cubic) is scaled by ``s = exp(delta / 3)``, and every molecule is
translated so that its centre of mass is scaled by ``s`` while its internal
geometry is kept (no bond is stretched, so the intramolecular energy does
not spoil the acceptance rate). The move is accepted with probability
``min(1, exp(-w / k_B T))``,

    w = U' - U + P (V' - V) - (N_mol + 1) k_B T ln(V' / V),

the isothermal-isobaric weight ``V^N_mol exp(-(U + P V) / k_B T)`` of the
molecular centres times the Jacobian ``V`` of a step uniform in ln V (Frenkel
and Smit, Understanding Molecular Simulation, 2nd ed., section 5.4). For an
ideal gas (U = 0) the sampled volume follows a Gamma distribution with
``<V> = (N_mol + 1) k_B T / P``. (OpenMM's barostat draws steps uniform in V
itself and so uses ``N ln(V'/V)``; both sample the same ensemble.)

The step size adapts every ``adapt_every`` attempts toward an acceptance rate
inside ``target_acceptance`` (default 30-50 %). Random numbers come from the
barostat's own numpy generator, seeded, whose state is part of
:meth:`MonteCarloBarostat.state_dict` so a resumed run continues exactly.

Units: Angstrom, Angstrom^3, kcal/mol, K, atm.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.units import ATM_A3_IN_KCAL_PER_MOL, BOLTZMANN_KCAL_PER_MOL_K



class MonteCarloBarostat:
    """Isotropic Monte Carlo volume moves at fixed pressure and temperature (see the module docstring).

    ``mol_id``: ``(n_atoms,)`` molecule index of every atom; ``masses``:
    ``(n_atoms,)`` amu (only ratios within a molecule matter);
    ``pressure_atm``, ``temperature_K``: the ensemble; ``initial_step``: half
    width of the uniform ln V step; ``target_acceptance``: ``(low, high)``
    acceptance band the step adapts toward, by a factor ``adapt_factor``
    every ``adapt_every`` attempts, up to ``max_step``; ``seed``: the
    generator's seed.
    """

    def __init__(self, mol_id, masses, pressure_atm: float = 1.0, temperature_K: float = 298.15,
                 initial_step: float = 0.01, target_acceptance: tuple[float, float] = (0.3, 0.5),
                 adapt_every: int = 10, adapt_factor: float = 1.1, max_step: float = 0.5, seed: int = 0):
        mol_id = np.asarray(mol_id)
        masses = np.asarray(masses, dtype=float)
        if mol_id.ndim != 1 or mol_id.shape != masses.shape or mol_id.size == 0:
            raise InputError(f"mol_id and masses must be equally long 1-D arrays, got {mol_id.shape}, {masses.shape}")
        if not (pressure_atm > 0 and temperature_K > 0 and 0 < initial_step <= max_step and np.all(masses > 0)):
            raise InputError("barostat needs positive pressure, temperature and masses, "
                             "and 0 < initial_step <= max_step")
        low, high = target_acceptance
        if not 0 < low < high < 1 or adapt_every < 1 or adapt_factor <= 1:
            raise InputError("target_acceptance must be 0 < low < high < 1, adapt_every >= 1, adapt_factor > 1")
        labels, index = np.unique(mol_id, return_inverse=True)
        self.n_molecules = len(labels)
        self._index = torch.as_tensor(index, dtype=torch.long)
        self._masses = torch.as_tensor(masses, dtype=torch.float64)
        self.pressure_atm = float(pressure_atm)
        self.temperature_K = float(temperature_K)
        self.kT = BOLTZMANN_KCAL_PER_MOL_K * self.temperature_K
        self.pressure = self.pressure_atm * ATM_A3_IN_KCAL_PER_MOL  # kcal/mol/A^3
        self.target_acceptance = (float(low), float(high))
        self.adapt_every, self.adapt_factor, self.max_step = int(adapt_every), float(adapt_factor), float(max_step)
        self.step = float(initial_step)
        self.rng = np.random.default_rng(seed)
        self.n_attempted = self.n_accepted = 0
        self._window_attempted = self._window_accepted = 0

    @property
    def acceptance_rate(self) -> float:
        """Accepted fraction of all attempts so far (NaN before the first)."""
        return self.n_accepted / self.n_attempted if self.n_attempted else float("nan")

    def centres_of_mass(self, positions: torch.Tensor) -> torch.Tensor:
        """Molecular centres of mass ``(n_molecules, 3)`` of whole-molecule ``positions`` ``(n_atoms, 3)``."""
        m = self._masses.to(device=positions.device, dtype=positions.dtype)
        index = self._index.to(positions.device)
        total = torch.zeros(self.n_molecules, dtype=positions.dtype, device=positions.device).index_add_(0, index, m)
        weighted = torch.zeros(self.n_molecules, 3, dtype=positions.dtype, device=positions.device)
        weighted.index_add_(0, index, positions * m[:, None])
        return weighted / total[:, None]

    def scaled(self, positions: torch.Tensor, cell: torch.Tensor, factor: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions with every centre of mass scaled by ``factor`` (molecules rigidly moved), and the scaled cell."""
        com = self.centres_of_mass(positions)
        shift = (factor - 1.0) * com
        return positions + shift[self._index.to(positions.device)], cell * factor

    def attempt(self, positions: torch.Tensor, cell: torch.Tensor, energy_fn, current_energy: float):
        """One volume move: ``(positions, cell, energy, accepted)``, the old state returned when rejected.

        ``positions``: ``(n_atoms, 3)`` Angstrom with whole molecules
        (unwrapped); ``cell``: ``(3, 3)`` Angstrom, rows are lattice vectors;
        ``energy_fn(positions, cell)``: potential energy in kcal/mol (a float
        or a scalar tensor); ``current_energy``: its value now, kcal/mol.
        Draws two uniform numbers per call (the step, then the acceptance test).
        """
        if positions.shape != (self._index.numel(), 3) or cell.shape != (3, 3):
            raise InputError(f"barostat: positions must be ({self._index.numel()}, 3) and cell (3, 3), "
                             f"got {tuple(positions.shape)} and {tuple(cell.shape)}")
        delta = float(self.rng.uniform(-self.step, self.step))
        u = float(self.rng.uniform())
        volume = abs(float(torch.linalg.det(cell.double())))
        new_volume = volume * math.exp(delta)
        with torch.no_grad():
            new_positions, new_cell = self.scaled(positions, cell, math.exp(delta / 3.0))
            new_energy = float(energy_fn(new_positions, new_cell))
        w = (new_energy - float(current_energy) + self.pressure * (new_volume - volume)
             - (self.n_molecules + 1) * self.kT * delta)
        accepted = bool(math.isfinite(w) and (w <= 0.0 or u < math.exp(-w / self.kT)))
        self._count(accepted)
        if accepted:
            return new_positions, new_cell, new_energy, True
        return positions, cell, float(current_energy), False

    def _count(self, accepted: bool) -> None:
        self.n_attempted += 1
        self._window_attempted += 1
        self.n_accepted += accepted
        self._window_accepted += accepted
        if self._window_attempted >= self.adapt_every:
            rate = self._window_accepted / self._window_attempted
            if rate < self.target_acceptance[0]:
                self.step /= self.adapt_factor
            elif rate > self.target_acceptance[1]:
                self.step = min(self.max_step, self.step * self.adapt_factor)
            self._window_attempted = self._window_accepted = 0

    def state_dict(self) -> dict:
        """Everything a resumed run needs: generator state, step size, counters (plain Python types)."""
        return {"rng": self.rng.bit_generator.state, "step": self.step, "n_attempted": self.n_attempted,
                "n_accepted": self.n_accepted, "window_attempted": self._window_attempted,
                "window_accepted": self._window_accepted}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`'s output."""
        try:
            self.rng.bit_generator.state = state["rng"]
            self.step = float(state["step"])
            self.n_attempted, self.n_accepted = int(state["n_attempted"]), int(state["n_accepted"])
            self._window_attempted = int(state["window_attempted"])
            self._window_accepted = int(state["window_accepted"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"barostat state is malformed ({exc})") from exc
