"""The constant-pressure stage of a liquid run: Monte Carlo volume moves as an MD hook, and the
density that production then runs at.

:class:`BarostatHook` is a hook of :class:`pinnff.md.driver.MDRun` (called
after every outer step). During the ``npt`` phase it attempts a
:class:`pinnff.md.barostat.MonteCarloBarostat` move every ``every`` outer
steps (the trial energy is the run's whole potential at the scaled
positions and cell, without forces) and records the density after each
attempt. At the last step of the phase it sets the production volume by
scaling the molecules' centres (whole molecules moved rigidly): ``model``,
the mean volume of the second half of the phase's samples (the model's own
density), or ``experimental``, the volume the box was built at (the
configured density). The model's density, its error (standard error with
the statistical inefficiency of the samples) and the acceptance rate are in
:meth:`BarostatHook.summary`. The hook's state (generator, step size,
samples) is checkpointed with the run, so a resumed run continues bit for bit.

Units: Angstrom, Angstrom^3, g/cm^3, kcal/mol.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.md.barostat import MonteCarloBarostat
from pinnff.md.stationarity import correlated_mean

log = logging.getLogger(__name__)

PRODUCTION_DENSITIES = ("model", "experimental")


class BarostatHook:
    """Monte Carlo barostat during the phase ``phase`` of an MD run (see the module docstring).

    ``barostat``: the move generator (pressure, temperature, seed);
    ``every``: outer steps between attempts; ``production_density``:
    ``model`` or ``experimental``; ``initial_volume_A3``: the box's volume
    when built (the experimental density's).
    """

    def __init__(self, barostat: MonteCarloBarostat, every: int, production_density: str,
                 initial_volume_A3: float, phase: str = "npt"):
        if every < 1:
            raise InputError(f"barostat interval must be at least one outer step, got {every}")
        if production_density not in PRODUCTION_DENSITIES:
            raise InputError(f"production density '{production_density}' is not one of {list(PRODUCTION_DENSITIES)}")
        self.barostat, self.every, self.phase = barostat, int(every), phase
        self.production_density, self.initial_volume = production_density, float(initial_volume_A3)
        self.densities: list[float] = []
        self.production_volume: float | None = None

    def __call__(self, run, phase, step: int) -> None:
        if phase.name != self.phase:
            return
        if step % self.every == 0:
            self._attempt(run)
        if run.phase_end(step):
            self._set_production_volume(run)

    def _attempt(self, run) -> None:
        state = run.state
        potential, dtype = run.potential, run.dtype

        def energy(positions: torch.Tensor, cell: torch.Tensor) -> float:
            x = positions.to(dtype)
            return float(potential.fast_energy(x) + potential.slow_energy(x, cell.to(dtype)))

        positions, cell, _, accepted = self.barostat.attempt(state.positions, run.cell.double(), energy,
                                                             float(state.potential_energy))
        if accepted:
            run.set_cell(cell.cpu().numpy())
            run.state.positions = positions
            run.refresh()
        self.densities.append(run.density_g_cm3())

    def _set_production_volume(self, run) -> None:
        volume = abs(float(torch.linalg.det(run.cell.double())))
        if self.production_density == "experimental":
            target = self.initial_volume
        else:
            mean_density = self.summary(run.mass_g)["density_g_cm3"]
            target = run.mass_g / (mean_density * 1e-24)
        factor = (target / volume) ** (1.0 / 3.0)
        positions, cell = self.barostat.scaled(run.state.positions, run.cell.double(), factor)
        run.set_cell(cell.cpu().numpy())
        run.state.positions = positions
        run.refresh()
        self.production_volume = target
        log.info("npt: %d volume moves, %.0f %% accepted, density %.4f g/cm^3; production at the %s density "
                 "(%.4f g/cm^3)", self.barostat.n_attempted, 100 * self.barostat.acceptance_rate,
                 self.summary(run.mass_g)["density_g_cm3"], self.production_density, run.density_g_cm3())

    def summary(self, mass_g: float) -> dict:
        """The model's density (g/cm^3): mean of the second half of the samples, its standard error
        (corrected for correlation), the sample count and the acceptance rate."""
        half = np.asarray(self.densities[len(self.densities) // 2:], dtype=float)
        if len(half) < 2:
            raise InputError(f"npt: {len(self.densities)} volume samples cannot give a density; lengthen md.npt_ps "
                             "or attempt moves more often (md.barostat_every_fs)")
        mean, error, g = correlated_mean(half)
        return {"density_g_cm3": mean, "density_err_g_cm3": error, "samples": len(half),
                "statistical_inefficiency": g, "moves": self.barostat.n_attempted,
                "acceptance": self.barostat.acceptance_rate, "pressure_atm": self.barostat.pressure_atm,
                "production_density": self.production_density,
                "production_density_g_cm3": None if self.production_volume is None
                else mass_g / (self.production_volume * 1e-24)}

    def state_dict(self) -> dict:
        return {"barostat": self.barostat.state_dict(), "densities": list(self.densities),
                "production_volume": self.production_volume}

    def load_state_dict(self, state: dict) -> None:
        self.barostat.load_state_dict(state["barostat"])
        self.densities = [float(d) for d in state["densities"]]
        self.production_volume = state["production_volume"]
