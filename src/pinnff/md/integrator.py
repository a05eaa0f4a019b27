"""r-RESPA molecular dynamics in torch: fast valence forces on an inner step, the rest on the outer step,
optionally the short-range non-bonded forces on a middle step between them.

Units: positions Angstrom, velocities Angstrom/fs, masses amu, forces
kcal/mol/Angstrom, energies kcal/mol, times fs, temperatures K. Positions,
velocities and forces are float64 tensors on the potential's device (the
potential itself may compute in float32: its energy and forces are cast up),
so the integration does not accumulate float32 round-off.

One outer step of length ``dt = middle_steps * H``, ``H = inner_steps * h``
(BAOAB-RESPA, and with a middle level BAOAB-RESPA1: Lagardère, Aviat and
Piquemal, JPCL 10, 2593 (2019); Tinker-HP)::

    [Bussi: rescale for dt/2]
    v += dt/2 * F_slow / m
    middle_steps times:
        v += H/2 * F_middle / m
        inner_steps times:
            v += h/2 * F_fast / m
            x += h/2 * v;  [Langevin: Ornstein-Uhlenbeck step of length h];  x += h/2 * v
            v += h/2 * F_fast / m
        v += H/2 * F_middle / m
    v += dt/2 * F_slow / m
    [Bussi: rescale for dt/2]

Without a middle level (``F_middle = 0``, one middle step) this is two-level
RESPA; without a thermostat and with one inner step it is velocity Verlet;
with Langevin and one inner step it is BAOAB. With a middle level the slow
force is the non-bonded force minus the middle one, evaluated at the same
positions, so the three forces always add up to the total. The Langevin step
removes the centre-of-mass velocity it creates, so every thermostat keeps the
total momentum at zero and the kinetic energy lives in ``3 n - 3`` degrees of
freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pinnff.units import ACCELERATION_A_FS2 as ACCEL
from pinnff.units import BOLTZMANN_KCAL_PER_MOL_K as BOLTZMANN

THERMOSTATS = ("nve", "bussi", "langevin")


@dataclass(frozen=True)
class Thermostat:
    """Dynamics of a phase: ``nve``, ``bussi`` (stochastic velocity rescaling, time constant
    ``tau_fs``) or ``langevin`` (friction ``friction_per_fs`` 1/fs), at ``temperature_K``."""

    kind: str = "nve"
    temperature_K: float = 298.15
    tau_fs: float = 1000.0
    friction_per_fs: float = 0.0

    def __post_init__(self):
        if self.kind not in THERMOSTATS:
            raise ValueError(f"thermostat '{self.kind}' is not one of {', '.join(THERMOSTATS)}")


@dataclass
class State:
    """Everything the integrator carries between outer steps (float64 tensors on one device).

    positions, velocities and the forces: (n, 3); the energies: 0-d (the middle ones zero
    without a middle level).
    """

    positions: torch.Tensor
    velocities: torch.Tensor
    fast_forces: torch.Tensor
    middle_forces: torch.Tensor
    slow_forces: torch.Tensor
    fast_energy: torch.Tensor
    middle_energy: torch.Tensor
    slow_energy: torch.Tensor

    FIELDS = ("positions", "velocities", "fast_forces", "middle_forces", "slow_forces", "fast_energy",
              "middle_energy", "slow_energy")

    @property
    def potential_energy(self) -> torch.Tensor:
        return self.fast_energy + self.middle_energy + self.slow_energy


class NonFiniteEnergy(ArithmeticError):
    """A force evaluation gave an infinite or undefined energy (atoms driven into one another)."""


class SplitForces:
    """Fast, middle and slow energies and forces of a potential, float64 in and out.

    ``potential`` has ``fast_energy(positions)`` (the valence terms) and
    ``slow_energy(positions, cell)`` (everything else), both kcal/mol scalars
    of positions (n, 3) A in the potential's ``dtype``. With ``split=False``
    (one inner step) the slow part is the whole energy and the fast part zero:
    one force evaluation per step instead of two. With ``middle=True`` the
    potential also has ``middle_energy(positions, cell)`` (the short-range
    non-bonded part, :func:`pinnff.physics.short_range.short_range_energy`),
    and the slow part is ``slow_energy - middle_energy``.
    """

    def __init__(self, potential, cell: torch.Tensor | None, dtype: torch.dtype, split: bool = True,
                 middle: bool = False):
        self.potential, self.cell, self.dtype, self.split, self.middle_level = potential, cell, dtype, split, middle

    def _evaluate(self, energy_fn, positions: torch.Tensor, label: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Energy (0-d) and forces (n, 3) of ``energy_fn`` at ``positions``. With ``label`` (the middle and
        outer levels, a few host reads per outer step) positions and energy are checked to be finite
        first, so no atom moves by an infinite force and no term sees undefined positions; the valence
        energy of every inner step is not (``None``): a failure there shows in the next checked positions."""
        if label is not None and not bool(torch.isfinite(positions).all()):
            raise NonFiniteEnergy(f"positions are not finite before the {label} evaluation")
        x = positions.detach().to(self.dtype).requires_grad_(True)
        energy = energy_fn(x)
        if label is not None and not bool(torch.isfinite(energy)):
            raise NonFiniteEnergy(f"the {label} energy is {float(energy)}")
        (gradient,) = torch.autograd.grad(energy, x)
        return energy.detach().double(), -gradient.double()

    def fast(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Valence energy (0-d) and forces (n, 3) at ``positions``; zero when not split."""
        if not self.split:
            return positions.new_zeros(()), torch.zeros_like(positions)
        return self._evaluate(self.potential.fast_energy, positions)

    def middle(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Short-range energy (0-d) and forces (n, 3); zero without a middle level."""
        if not self.middle_level:
            return positions.new_zeros(()), torch.zeros_like(positions)
        return self._evaluate(lambda x: self.potential.middle_energy(x, self.cell), positions, "short-range")

    def slow(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Middle energy and forces, then outer-step energy and forces (0-d, (n, 3) each) at
        ``positions``: the whole energy when not split, minus the middle part when there is one."""
        if not self.split:
            energy, forces = self._evaluate(
                lambda x: self.potential.fast_energy(x) + self.potential.slow_energy(x, self.cell), positions, "total")
        else:
            energy, forces = self._evaluate(lambda x: self.potential.slow_energy(x, self.cell), positions, "outer-step")
        middle_energy, middle_forces = self.middle(positions)
        if self.middle_level:
            energy, forces = energy - middle_energy, forces - middle_forces
        return middle_energy, middle_forces, energy, forces

    def state(self, positions: torch.Tensor, velocities: torch.Tensor) -> State:
        """A :class:`State` at ``positions`` and ``velocities`` with fresh forces."""
        fast_energy, fast_forces = self.fast(positions)
        middle_energy, middle_forces, slow_energy, slow_forces = self.slow(positions)
        return State(positions.double(), velocities.double(), fast_forces, middle_forces, slow_forces, fast_energy,
                     middle_energy, slow_energy)


def kinetic_energy(velocities: torch.Tensor, masses: torch.Tensor) -> torch.Tensor:
    """0.5 sum m v^2 in kcal/mol (0-d tensor); velocities (n, 3) A/fs, masses (n,) amu."""
    return 0.5 * (masses[:, None] * velocities * velocities).sum() / ACCEL


def degrees_of_freedom(n_atoms: int) -> int:
    """Kinetic degrees of freedom with the centre-of-mass momentum held at zero."""
    return max(3 * n_atoms - 3, 1)


def temperature(velocities: torch.Tensor, masses: torch.Tensor) -> torch.Tensor:
    """Instantaneous temperature (K, 0-d tensor) over ``3 n - 3`` degrees of freedom."""
    return 2.0 * kinetic_energy(velocities, masses) / (degrees_of_freedom(len(masses)) * BOLTZMANN)


def remove_drift(velocities: torch.Tensor, masses: torch.Tensor) -> torch.Tensor:
    """Velocities minus the centre-of-mass velocity."""
    return velocities - (masses[:, None] * velocities).sum(0) / masses.sum()


def maxwell_boltzmann(masses: torch.Tensor, temperature_K: float, generator: torch.Generator) -> torch.Tensor:
    """Velocities (n, 3) A/fs drawn at ``temperature_K`` with zero total momentum."""
    sigma = torch.sqrt(BOLTZMANN * temperature_K * ACCEL / masses)
    noise = torch.randn((len(masses), 3), generator=generator, dtype=masses.dtype, device=masses.device)
    return remove_drift(noise * sigma[:, None], masses)


class RespaIntegrator:
    """BAOAB-RESPA outer steps of ``middle_steps * inner_steps * inner_step_fs`` fs (see the module docstring).

    ``forces``: a :class:`SplitForces`; ``masses`` (n,) amu float64 (hydrogen-repartitioned or
    not); ``generator``: the torch random generator of the thermostats (on the masses' device);
    ``middle_steps``: middle steps per outer step (more than one needs the forces' middle level).
    """

    def __init__(self, forces: SplitForces, masses: torch.Tensor, inner_step_fs: float, inner_steps: int,
                 generator: torch.Generator, middle_steps: int = 1):
        if inner_steps < 1 or middle_steps < 1 or inner_step_fs <= 0:
            raise ValueError("RESPA needs inner_steps >= 1, middle_steps >= 1 and a positive inner step")
        if middle_steps > 1 and not forces.middle_level:
            raise ValueError("middle steps need the forces' middle level")
        self.forces, self.masses, self.generator = forces, masses.double(), generator
        self.h, self.n, self.m = float(inner_step_fs), int(inner_steps), int(middle_steps)
        self.middle_step_fs = self.h * self.n
        self.outer_step_fs = self.middle_step_fs * self.m
        self.inverse_mass = (ACCEL / self.masses)[:, None]
        self.ndof = degrees_of_freedom(len(masses))

    def _bussi(self, velocities: torch.Tensor, thermostat: Thermostat, time_fs: float) -> torch.Tensor:
        """Stochastic velocity rescaling over ``time_fs`` (Bussi, Donadio, Parrinello, JCP 126, 014101 (2007))."""
        kinetic = kinetic_energy(velocities, self.masses)
        target = 0.5 * self.ndof * BOLTZMANN * thermostat.temperature_K
        c = math.exp(-time_fs / thermostat.tau_fs)
        noise = torch.randn(self.ndof, generator=self.generator, dtype=velocities.dtype, device=velocities.device)
        r1, rest = noise[0], (noise[1:] * noise[1:]).sum()
        ratio = target / (self.ndof * kinetic)
        alpha2 = c + (1 - c) * (rest + r1 * r1) * ratio + 2 * r1 * torch.sqrt(c * (1 - c) * ratio)
        sign = torch.sign(r1 + torch.sqrt(c / ((1 - c) * ratio)))
        return velocities * (sign * torch.sqrt(alpha2))

    def _langevin(self, velocities: torch.Tensor, thermostat: Thermostat, time_fs: float) -> torch.Tensor:
        """Exact Ornstein-Uhlenbeck step of length ``time_fs``, centre-of-mass velocity removed."""
        c1 = math.exp(-thermostat.friction_per_fs * time_fs)
        sigma = torch.sqrt((1 - c1 * c1) * BOLTZMANN * thermostat.temperature_K * self.inverse_mass)
        noise = torch.randn(velocities.shape, generator=self.generator, dtype=velocities.dtype,
                            device=velocities.device)
        return remove_drift(c1 * velocities + sigma * noise, self.masses)

    def step(self, state: State, thermostat: Thermostat) -> State:
        """One outer step; returns the new state (the input tensors are not modified)."""
        h, big, dt, inverse_mass = self.h, self.middle_step_fs, self.outer_step_fs, self.inverse_mass
        x, v = state.positions, state.velocities
        fast_energy, fast_forces = state.fast_energy, state.fast_forces
        middle_forces = state.middle_forces
        langevin, middle_level = thermostat.kind == "langevin", self.forces.middle_level
        if thermostat.kind == "bussi":
            v = self._bussi(v, thermostat, 0.5 * dt)
        v = v + (0.5 * dt) * state.slow_forces * inverse_mass
        for middle in range(self.m):
            if middle_level:
                v = v + (0.5 * big) * middle_forces * inverse_mass
            for _ in range(self.n):
                v = v + (0.5 * h) * fast_forces * inverse_mass
                if langevin:
                    x = x + (0.5 * h) * v
                    v = self._langevin(v, thermostat, h)
                    x = x + (0.5 * h) * v
                else:
                    x = x + h * v
                if self.forces.split:
                    fast_energy, fast_forces = self.forces.fast(x)
                v = v + (0.5 * h) * fast_forces * inverse_mass
            if middle < self.m - 1:  # the last middle force comes with the slow one
                middle_forces = self.forces.middle(x)[1]
                v = v + (0.5 * big) * middle_forces * inverse_mass
        middle_energy, middle_forces, slow_energy, slow_forces = self.forces.slow(x)
        if middle_level:
            v = v + (0.5 * big) * middle_forces * inverse_mass
        v = v + (0.5 * dt) * slow_forces * inverse_mass
        if thermostat.kind == "bussi":
            v = self._bussi(v, thermostat, 0.5 * dt)
        return State(x, v, fast_forces, middle_forces, slow_forces, fast_energy, middle_energy, slow_energy)


def repartition_hydrogen_masses(masses: torch.Tensor, bonds: torch.Tensor, hydrogen_mass_amu: float,
                                hydrogen: torch.Tensor) -> torch.Tensor:
    """Masses (n,) amu with every hydrogen set to ``hydrogen_mass_amu``, the difference taken from
    the heavy atom it is bonded to (so every molecule keeps its mass).

    ``bonds`` (m, 2) atom pairs; ``hydrogen`` (n,) bool. A hydrogen must have exactly one
    heavy-atom neighbour, and no heavy atom may end up lighter than its hydrogens.
    """
    masses = masses.clone().double()
    i, j = bonds[:, 0], bonds[:, 1]
    h_i, h_j = hydrogen.index_select(0, i), hydrogen.index_select(0, j)
    hydrogen_atoms = torch.cat([i[h_i & ~h_j], j[h_j & ~h_i]])
    parents = torch.cat([j[h_i & ~h_j], i[h_j & ~h_i]])
    if len(hydrogen_atoms) != int(hydrogen.sum()) or len(torch.unique(hydrogen_atoms)) != len(hydrogen_atoms):
        raise ValueError("hydrogen mass repartitioning needs every hydrogen bonded to exactly one heavy atom")
    moved = hydrogen_mass_amu - masses.index_select(0, hydrogen_atoms)
    masses = masses.index_add(0, parents, -moved)
    masses[hydrogen_atoms] = hydrogen_mass_amu
    if bool((masses[parents] < hydrogen_mass_amu).any()):
        raise ValueError(f"hydrogen mass {hydrogen_mass_amu} amu leaves a heavy atom lighter than its hydrogens")
    return masses
