"""Resumable torch MD: phases of r-RESPA dynamics with checkpoints, samples and blow-up detection.

A run is a list of :class:`Phase` (name, outer steps, thermostat): optionally
``anneal`` (Langevin at a higher temperature: the packed box's slow structural
relaxation, crossing torsional barriers, done faster), then ``equilibration``
(Langevin at the target temperature), optionally ``npt``
(Langevin with a Monte Carlo barostat hook, :mod:`pinnff.md.stages`), then
``production`` with dynamics that are not distorted: NVE, stochastic
velocity rescaling (Bussi, weak coupling) or Langevin with a small friction.
A phase with a ``max_steps`` above its ``steps`` is gated: at its end the
potential energy and temperature of its samples are tested for a trend
(:func:`pinnff.md.stationarity.stationary`; the result is logged and kept in
:attr:`MDRun.gates`), and while there is one the phase is extended by
``steps`` more outer steps, up to ``max_steps``. Every outer step
is one :meth:`pinnff.md.integrator.RespaIntegrator.step` on tensors that
stay on the potential's device; nothing leaves it except at sampling. After
each outer step every ``hook(run, phase, step)`` is called (e.g. a Monte Carlo
barostat move; a hook that changes positions or the cell calls
:meth:`MDRun.refresh`).

Every ``sample_every`` outer steps a frame is appended to
``production.extxyz`` (production only; ``time_fs`` and ``step`` in its
info) and a row to ``thermo.csv``; every ``checkpoint_every`` outer steps the
full state (positions, velocities, both force parts, step, the torch
generator's state, the neighbour list's build positions, the phase
extensions and gate results, every hook's ``state_dict()``, the file sizes) is
written atomically to ``checkpoint.npz``. A killed run restarts from its
last checkpoint and continues bit for bit as if it had never stopped: output
written after the checkpoint is dropped and regenerated identically.

Blow-up detection stops the run with :class:`BlowUp` (and a clear message)
when the temperature, the largest force or the total-energy drift (NVE)
leaves its bound; the last good frame stays in the files.

Units: fs, K, Angstrom, amu, kcal/mol.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.io.atomic import atomic_open
from pinnff.md.stationarity import stationary
from pinnff.units import AVOGADRO
from pinnff.md.integrator import (THERMOSTATS, NonFiniteEnergy, RespaIntegrator, SplitForces, State, Thermostat,
                                  kinetic_energy, maxwell_boltzmann, repartition_hydrogen_masses, temperature)

log = logging.getLogger(__name__)

THERMO_COLUMNS = ["step", "time_fs", "phase", "temperature_K", "epot_kcal", "ekin_kcal", "etot_kcal", "max_force_kcal_A"]
PERIODIC_COLUMNS = ["density_g_cm3"]
"""Written too when the run has a cell (it changes under a barostat)."""


class BlowUp(RuntimeError):
    """The simulation left its physical bounds."""


@dataclass(frozen=True)
class Phase:
    """``steps`` outer steps of ``thermostat`` dynamics, called ``name`` in the outputs."""

    name: str
    steps: int
    thermostat: Thermostat
    max_steps: int | None = None
    """Gated phase (see the module docstring): extended by ``steps`` while its traces trend, up to this."""


@dataclass
class MDSettings:
    """MD protocol. Times in fs, temperature in K, friction in 1/fs, forces in kcal/mol/A, masses amu.

    The outer step is ``middle_steps * inner_steps * inner_step_fs``; step counts are outer steps.
    ``middle_steps`` > 1 puts the potential's short-range part (``middle_energy``) on a middle step
    of ``inner_steps * inner_step_fs``.
    ``hydrogen_mass_amu``: hydrogen mass repartitioning (None: natural masses).
    """

    inner_step_fs: float = 1.0
    inner_steps: int = 1
    middle_steps: int = 1
    hydrogen_mass_amu: float | None = None
    temperature_K: float = 298.15
    anneal_steps: int = 0
    anneal_temperature_K: float = 450.0
    equilibration_steps: int = 1000
    equilibration_max_steps: int | None = None
    npt_steps: int = 0
    production_steps: int = 10000
    equilibration_friction_per_fs: float = 0.01
    production: str = "bussi"  # nve | bussi | langevin
    bussi_tau_fs: float = 1000.0
    production_friction_per_fs: float = 0.0005
    sample_every: int = 10
    checkpoint_every: int = 100
    seed: int = 0
    max_temperature_factor: float = 3.0
    max_force_kcal_A: float = 500.0
    max_drift_kcal_per_atom: float = 0.5

    def __post_init__(self):
        if self.production not in THERMOSTATS:
            raise ValueError(f"production dynamics '{self.production}' is not one of {', '.join(THERMOSTATS)}")
        if self.checkpoint_every % self.sample_every:
            raise ValueError("checkpoint_every must be a multiple of sample_every")

    @property
    def middle_step_fs(self) -> float:
        """The middle step (fs); the outer step itself when ``middle_steps`` is 1."""
        return self.inner_step_fs * self.inner_steps

    @property
    def outer_step_fs(self) -> float:
        return self.middle_step_fs * self.middle_steps

    def phases(self) -> list[Phase]:
        """Langevin annealing at ``anneal_temperature_K`` (when ``anneal_steps``), Langevin
        equilibration (gated when ``equilibration_max_steps`` exceeds its steps), Langevin at constant
        pressure (``npt``, when ``npt_steps``; the barostat is a hook), then production."""
        t = self.temperature_K
        production = {"nve": Thermostat("nve", t),
                      "bussi": Thermostat("bussi", t, tau_fs=self.bussi_tau_fs),
                      "langevin": Thermostat("langevin", t, friction_per_fs=self.production_friction_per_fs)}
        langevin = Thermostat("langevin", t, friction_per_fs=self.equilibration_friction_per_fs)
        hot = Thermostat("langevin", self.anneal_temperature_K, friction_per_fs=self.equilibration_friction_per_fs)
        phases = [Phase("anneal", self.anneal_steps, hot)] if self.anneal_steps else []
        phases.append(Phase("equilibration", self.equilibration_steps, langevin, self.equilibration_max_steps))
        if self.npt_steps:
            phases.append(Phase("npt", self.npt_steps, langevin))
        return phases + [Phase("production", self.production_steps, production[self.production])]


def md_masses(atoms, potential, hydrogen_mass_amu: float | None) -> torch.Tensor:
    """(n,) amu float64: the atoms' masses, hydrogen-repartitioned along ``potential.bonds`` when asked."""
    masses = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    if hydrogen_mass_amu is None:
        return masses
    hydrogen = torch.as_tensor(np.array(atoms.get_chemical_symbols()) == "H")
    return repartition_hydrogen_masses(masses, potential.bonds.cpu(), hydrogen_mass_amu, hydrogen)


def split_forces(potential, cell, dtype: torch.dtype, settings: MDSettings) -> SplitForces:
    """The force split of ``settings``: valence on the inner step when there are several, the
    potential's short-range part on a middle step when there are several."""
    middle = settings.middle_steps > 1
    return SplitForces(potential, cell, dtype, split=settings.inner_steps > 1 or middle, middle=middle)


def _hook_state(hook) -> dict | None:
    """A hook's checkpointable state (its ``state_dict()``), None for a stateless hook."""
    return hook.state_dict() if hasattr(hook, "state_dict") else None


class MDRun:
    """One MD run of ``potential`` (``fast_energy``/``slow_energy``, see
    :class:`pinnff.md.integrator.SplitForces`) from ``atoms`` (start positions, cell, symbols,
    per-atom arrays such as ``mol_id`` for the frames) in ``out_dir``; call :meth:`run` (again
    after a kill to resume). ``phases`` default to ``settings.phases()``.
    """

    def __init__(self, atoms, potential, settings: MDSettings, out_dir: str | Path, *, device: str = "cpu",
                 dtype: torch.dtype = torch.float64, phases: list[Phase] | None = None,
                 hooks: tuple[Callable, ...] = ()):
        self.atoms, self.potential, self.settings, self.out = atoms, potential, settings, Path(out_dir)
        self.device, self.dtype = torch.device(device), dtype
        self.phases = settings.phases() if phases is None else phases
        self.hooks = hooks
        self.out.mkdir(parents=True, exist_ok=True)
        self.trajectory = self.out / "production.extxyz"
        self.thermo = self.out / "thermo.csv"
        self.checkpoint = self.out / "checkpoint.npz"
        self.masses = md_masses(atoms, potential, settings.hydrogen_mass_amu).to(self.device)
        self.cell = torch.as_tensor(atoms.cell.array, dtype=dtype, device=self.device) if atoms.pbc.any() else None
        self.forces = split_forces(potential, self.cell, dtype, settings)
        self.generator = torch.Generator(device=self.device)
        self.integrator = RespaIntegrator(self.forces, self.masses, settings.inner_step_fs, settings.inner_steps,
                                          self.generator, settings.middle_steps)
        self.state: State | None = None
        self.rebuilds = 0
        self.extensions: dict[str, int] = {}
        """Outer steps added to each gated phase so far."""
        self.gates: dict[str, list[dict]] = {}
        """Each gated phase's stationarity tests, in order (:func:`pinnff.md.stationarity.stationary` details)."""
        self.mass_g = float(atoms.get_masses().sum()) / AVOGADRO

    @property
    def neighbors(self):
        """The potential's Verlet list (None when it keeps none)."""
        return getattr(self.potential, "neighbors", None)

    def set_cell(self, cell) -> None:
        """Use the (3, 3) cell ``cell`` (A, rows are lattice vectors) from now on (frames and forces)."""
        self.atoms.cell = np.asarray(cell, dtype=float)
        self.cell = torch.as_tensor(self.atoms.cell.array, dtype=self.dtype, device=self.device)
        self.forces.cell = self.cell

    def refresh(self) -> None:
        """Recompute both force parts at the current positions (after a hook moved atoms or, through
        :meth:`set_cell`, the cell)."""
        self.state = self.forces.state(self.state.positions, self.state.velocities)

    # --- state -------------------------------------------------------------
    def _save_checkpoint(self, step: int, reference_etot: float | None) -> None:
        arrays = {name: getattr(self.state, name).cpu().numpy() for name in State.FIELDS}
        neighbors = self.neighbors
        if neighbors is not None and neighbors.reference is not None:
            arrays["neighbor_reference"] = neighbors.reference.cpu().numpy()
            if neighbors.reference_cell is not None:
                arrays["neighbor_reference_cell"] = neighbors.reference_cell.cpu().numpy()
        buffer = io.BytesIO()
        np.savez(buffer, **arrays, cell=self.atoms.cell.array, step=step,
                 rng_state=self.generator.get_state().numpy(), extensions=json.dumps(self.extensions),
                 gates=json.dumps(self.gates), hooks=json.dumps([_hook_state(hook) for hook in self.hooks]),
                 reference_etot=np.nan if reference_etot is None else reference_etot,
                 trajectory_bytes=self.trajectory.stat().st_size if self.trajectory.exists() else 0,
                 thermo_bytes=self.thermo.stat().st_size if self.thermo.exists() else 0)
        with atomic_open(self.checkpoint, "wb") as handle:
            handle.write(buffer.getvalue())

    def _restore(self) -> tuple[int, float | None]:
        if not self.checkpoint.exists():
            self.generator.manual_seed(self.settings.seed)
            positions = torch.as_tensor(self.atoms.positions, dtype=torch.float64, device=self.device)
            first = self.phases[0].thermostat.temperature_K if self.phases else self.settings.temperature_K
            velocities = maxwell_boltzmann(self.masses, first, self.generator)
            self.state = self.forces.state(positions, velocities)
            for path in (self.trajectory, self.thermo):
                path.unlink(missing_ok=True)
            self.extensions, self.gates = {}, {}
            return 0, None
        data = np.load(self.checkpoint)
        missing = [name for name in State.FIELDS if name not in data]
        if missing:
            raise InputError(f"{self.checkpoint}: written by an older pinnff (no {', '.join(missing)}); "
                             f"remove the run folder to start it again")
        self.extensions, self.gates = json.loads(str(data["extensions"])), json.loads(str(data["gates"]))
        for hook, state in zip(self.hooks, json.loads(str(data["hooks"]))):
            if state is not None:
                hook.load_state_dict(state)
        self.state = State(**{name: torch.as_tensor(data[name], device=self.device) for name in State.FIELDS})
        if self.cell is not None:  # a barostat hook may have changed it
            self.set_cell(data["cell"])
        self.generator.set_state(torch.as_tensor(data["rng_state"]))
        if "neighbor_reference" in data and self.neighbors is not None:  # the very list the run was using
            built = data["neighbor_reference_cell"] if "neighbor_reference_cell" in data else self.cell
            self.neighbors.get(torch.as_tensor(data["neighbor_reference"], device=self.device), built, rebuild=True)
        for path, size in ((self.trajectory, int(data["trajectory_bytes"])), (self.thermo, int(data["thermo_bytes"]))):
            if path.exists():
                with open(path, "r+b") as handle:  # drop output written after the checkpoint
                    handle.truncate(size)
        reference = float(data["reference_etot"])
        step = int(data["step"])
        log.info("resuming from step %d", step)
        return step, None if np.isnan(reference) else reference

    def completed_steps(self) -> int:
        """Outer steps finished and checkpointed so far (0 before the first checkpoint)."""
        if not self.checkpoint.exists():
            return 0
        return int(np.load(self.checkpoint)["step"])

    # --- output ------------------------------------------------------------
    def _record(self, step: int, phase: str, reference_etot: float | None) -> float:
        from ase.io import write

        s, state = self.settings, self.state
        epot = float(state.potential_energy)
        ekin = float(kinetic_energy(state.velocities, self.masses))
        t = float(temperature(state.velocities, self.masses))
        max_force = self._max_force()
        time_fs = step * s.outer_step_fs
        row = [step, time_fs, phase, t, epot, ekin, epot + ekin, max_force]
        if self.cell is not None:
            row.append(self.density_g_cm3())
        new = not self.thermo.exists()
        with open(self.thermo, "a") as handle:
            if new:
                handle.write(",".join(THERMO_COLUMNS + (PERIODIC_COLUMNS if self.cell is not None else [])) + "\n")
            handle.write(",".join(str(v) if isinstance(v, str) else f"{v:.10g}" for v in row) + "\n")
        if phase == "production" and step % s.sample_every == 0:  # evenly spaced frames (the MSD needs them)
            frame = self.atoms.copy()
            frame.calc = None
            frame.positions = state.positions.cpu().numpy()
            frame.info = {"time_fs": time_fs, "step": step}
            frame.arrays.pop("momenta", None)
            with open(self.trajectory, "a") as handle:
                write(handle, frame, format="extxyz")
        target = self._phase_at(step)[0].thermostat.temperature_K
        if t > s.max_temperature_factor * target:
            raise BlowUp(f"step {step}: temperature {t:.0f} K exceeds {s.max_temperature_factor} x target")
        if max_force > s.max_force_kcal_A:
            raise BlowUp(f"step {step}: force {max_force:.0f} kcal/mol/A exceeds {s.max_force_kcal_A}")
        if self._phase_at(step)[0].thermostat.kind == "nve" and reference_etot is not None:
            drift = abs(epot + ekin - reference_etot) / len(self.masses)
            if drift > s.max_drift_kcal_per_atom:
                raise BlowUp(f"step {step}: energy drift {drift:.3f} kcal/mol/atom exceeds {s.max_drift_kcal_per_atom}")
        return epot + ekin

    def _max_force(self) -> float:
        """Largest total force on an atom of the current state, kcal/mol/A."""
        state = self.state
        return float(torch.linalg.norm(state.fast_forces + state.middle_forces + state.slow_forces, dim=1).max())

    def density_g_cm3(self) -> float:
        """Mass density of the periodic box now (g/cm^3)."""
        return self.mass_g / (abs(float(torch.linalg.det(self.cell.double()))) * 1e-24)

    def phase_steps(self, phase: Phase) -> int:
        """Outer steps of ``phase``, its extensions included."""
        return phase.steps + self.extensions.get(phase.name, 0)

    def total_steps(self) -> int:
        return sum(self.phase_steps(phase) for phase in self.phases)

    def _phase_at(self, step: int) -> tuple[Phase, int]:
        """The phase that outer step ``step`` (1-based; 0 = the start) belongs to, and that phase's last step."""
        end = 0
        for phase in self.phases:
            end += self.phase_steps(phase)
            if step <= end and self.phase_steps(phase):
                return phase, end
        return self.phases[-1], end

    def phase_end(self, step: int) -> bool:
        """Whether outer step ``step`` is the last of its phase."""
        return self._phase_at(step)[1] == step

    def _extend_if_trending(self, phase: Phase) -> bool:
        """Stationarity test of a gated phase's samples (potential energy and temperature, the last
        half); extends the phase by ``phase.steps`` while either trends and ``max_steps`` allows."""
        import pandas as pd

        if phase.max_steps is None or phase.max_steps <= phase.steps:
            return False
        thermo = pd.read_csv(self.thermo)
        rows = thermo[thermo["phase"] == phase.name]
        verdicts = {}
        for column in ("epot_kcal", "temperature_K"):
            try:
                ok, details = stationary(rows["time_fs"].to_numpy(), rows[column].to_numpy())
            except InputError as exc:  # too few samples to test: not shown stationary
                ok, details = False, {"error": str(exc)}
            verdicts[column] = {"stationary": ok, **details}
        stationary_now = all(v["stationary"] for v in verdicts.values())
        self.gates.setdefault(phase.name, []).append(
            {"steps": self.phase_steps(phase), "stationary": stationary_now, **verdicts})
        longer = self.phase_steps(phase) + phase.steps <= phase.max_steps
        log.info("%s: %s after %d outer steps (potential energy slope %.3g +- %.2g kcal/mol/fs, temperature "
                 "slope %.3g +- %.2g K/fs)%s", phase.name, "stationary" if stationary_now else "still trending",
                 self.phase_steps(phase), verdicts["epot_kcal"].get("slope", np.nan),
                 verdicts["epot_kcal"].get("slope_err", np.nan), verdicts["temperature_K"].get("slope", np.nan),
                 verdicts["temperature_K"].get("slope_err", np.nan),
                 "" if stationary_now else ("; extended by %d steps" % phase.steps if longer
                                            else "; at its maximum length, going on (see summary.json)"))
        if stationary_now or not longer:
            return False
        self.extensions[phase.name] = self.extensions.get(phase.name, 0) + phase.steps
        return True

    # --- main loop -----------------------------------------------------------
    def run(self) -> None:
        """Run (or resume) every phase to the end; raises :class:`BlowUp` on instability."""
        from tqdm import tqdm

        s = self.settings
        step, reference = self._restore()
        first = step
        neighbors = self.neighbors
        builds_before = neighbors.builds if neighbors is not None else 0
        if step == 0:
            self._record(0, self._phase_at(0)[0].name, None)
            self._save_checkpoint(0, None)
        with tqdm(total=self.total_steps(), initial=step, desc="MD", unit="step", mininterval=10) as bar:
            while step < self.total_steps():
                phase, boundary = self._phase_at(step + 1)
                try:
                    self.state = self.integrator.step(self.state, phase.thermostat)
                except NonFiniteEnergy as exc:
                    raise BlowUp(f"step {step + 1}: {exc} (max force {self._max_force():.0f} kcal/mol/A at "
                                 f"step {step})") from None
                step += 1
                bar.update(1)
                for hook in self.hooks:
                    hook(self, phase, step)
                if step % s.sample_every == 0 or step == boundary:
                    etot = self._record(step, phase.name, reference)
                    if phase.thermostat.kind == "nve" and reference is None:
                        reference = etot  # drift is measured from the phase's first sample
                if step == boundary:
                    reference = None
                    if self._extend_if_trending(phase):
                        bar.total = self.total_steps()
                if step % s.checkpoint_every == 0 or step == self.total_steps():
                    self._save_checkpoint(step, reference)
        if neighbors is not None:
            self.rebuilds = neighbors.builds - builds_before
            picoseconds = (step - first) * s.outer_step_fs / 1000.0
            log.info("neighbour list: %d rebuilds in %.2f ps (%.1f per ps)", self.rebuilds, picoseconds,
                     self.rebuilds / picoseconds if picoseconds else float("nan"))
