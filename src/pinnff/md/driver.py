"""Resumable MD for any ASE calculator: equilibration, then production.

Phases run back to back: ``equilibration`` (Langevin at the target
temperature) then ``production`` with dynamics that are not distorted: NVE
(velocity Verlet), stochastic velocity rescaling (Bussi, weak coupling) or
Langevin with a small friction. Every ``sample_every`` steps a frame is
appended to ``production.extxyz`` (production only) and a row to
``thermo.csv``; every ``checkpoint_every`` steps the full state (positions,
velocities, step, phase, random-generator state) is written atomically to
``checkpoint.npz``. A killed run restarts from its last checkpoint and
continues exactly as if it had never stopped: output written after the
checkpoint is dropped and regenerated identically.

Blow-up detection stops the run with :class:`BlowUp` (and a clear message)
when the temperature, the largest force or the total-energy drift (NVE)
leaves its bound; the last good frame stays in the files.

Units: fs, K, Angstrom; energies in the logs are kcal/mol (ASE's eV are
converted here, at the boundary).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinnff.io.atomic import atomic_open
from pinnff.units import EV_TO_KCAL

log = logging.getLogger(__name__)

THERMO_COLUMNS = ["step", "time_fs", "phase", "temperature_K", "epot_kcal", "ekin_kcal", "etot_kcal", "max_force_kcal_A"]


class BlowUp(RuntimeError):
    """The simulation left its physical bounds."""


@dataclass
class MDSettings:
    """MD protocol. Times in fs, temperature in K, friction in 1/fs, forces in kcal/mol/A."""

    timestep_fs: float = 1.0
    temperature_K: float = 298.15
    equilibration_steps: int = 1000
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
        if self.production not in ("nve", "bussi", "langevin"):
            raise ValueError(f"production dynamics '{self.production}' is not one of nve, bussi, langevin")
        if self.checkpoint_every % self.sample_every:
            raise ValueError("checkpoint_every must be a multiple of sample_every")


def _integrator(atoms, phase: str, s: MDSettings, rng: np.random.Generator):
    from ase import units
    from ase.md.bussi import Bussi
    from ase.md.langevin import Langevin
    from ase.md.verlet import VelocityVerlet

    dt = s.timestep_fs * units.fs
    if phase == "equilibration":
        return Langevin(atoms, dt, temperature_K=s.temperature_K, friction=s.equilibration_friction_per_fs / units.fs,
                        fixcm=False, rng=rng)
    if s.production == "nve":
        return VelocityVerlet(atoms, dt)
    if s.production == "bussi":
        return Bussi(atoms, dt, temperature_K=s.temperature_K, taut=s.bussi_tau_fs * units.fs, rng=rng)
    return Langevin(atoms, dt, temperature_K=s.temperature_K, friction=s.production_friction_per_fs / units.fs,
                    fixcm=False, rng=rng)


class MDRun:
    """One MD run in ``out_dir``; call :meth:`run` (again after a kill to resume)."""

    def __init__(self, atoms, calculator, settings: MDSettings, out_dir: str | Path):
        self.atoms, self.settings, self.out = atoms, settings, Path(out_dir)
        self.atoms.calc = calculator
        self.out.mkdir(parents=True, exist_ok=True)
        self.trajectory = self.out / "production.extxyz"
        self.thermo = self.out / "thermo.csv"
        self.checkpoint = self.out / "checkpoint.npz"

    # --- state -------------------------------------------------------------
    def _save_checkpoint(self, step: int, rng: np.random.Generator, reference_etot: float | None) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, positions=self.atoms.positions, momenta=self.atoms.get_momenta(), cell=self.atoms.cell.array,
                 step=step, rng_state=json.dumps(rng.bit_generator.state),
                 reference_etot=np.nan if reference_etot is None else reference_etot,
                 trajectory_bytes=self.trajectory.stat().st_size if self.trajectory.exists() else 0,
                 thermo_bytes=self.thermo.stat().st_size if self.thermo.exists() else 0)
        with atomic_open(self.checkpoint, "wb") as handle:
            handle.write(buffer.getvalue())

    def _restore(self) -> tuple[int, np.random.Generator, float | None]:
        rng = np.random.default_rng(self.settings.seed)
        if not self.checkpoint.exists():
            from ase.md.velocitydistribution import Stationary, thermalize_momenta

            thermalize_momenta(self.atoms, self.settings.temperature_K, rng=rng)
            Stationary(self.atoms)
            for path in (self.trajectory, self.thermo):
                path.unlink(missing_ok=True)
            return 0, rng, None
        data = np.load(self.checkpoint)
        self.atoms.positions = data["positions"]
        self.atoms.set_momenta(data["momenta"])
        self.atoms.cell = data["cell"]
        rng.bit_generator.state = json.loads(str(data["rng_state"]))
        for path, size in ((self.trajectory, int(data["trajectory_bytes"])), (self.thermo, int(data["thermo_bytes"]))):
            if path.exists():
                with open(path, "r+b") as handle:  # drop output written after the checkpoint
                    handle.truncate(size)
        reference = float(data["reference_etot"])
        step = int(data["step"])
        log.info("resuming from step %d", step)
        return step, rng, None if np.isnan(reference) else reference

    def completed_steps(self) -> int:
        """Steps finished and checkpointed so far (0 before the first checkpoint)."""
        if not self.checkpoint.exists():
            return 0
        return int(np.load(self.checkpoint)["step"])

    # --- output ------------------------------------------------------------
    def _record(self, step: int, phase: str, reference_etot: float | None) -> float:
        from ase.io import write

        s = self.settings
        epot = self.atoms.get_potential_energy() * EV_TO_KCAL
        ekin = self.atoms.get_kinetic_energy() * EV_TO_KCAL
        temperature = self.atoms.get_temperature()
        max_force = float(np.linalg.norm(self.atoms.get_forces(), axis=1).max()) * EV_TO_KCAL
        row = [step, step * s.timestep_fs, phase, temperature, epot, ekin, epot + ekin, max_force]
        new = not self.thermo.exists()
        with open(self.thermo, "a") as handle:
            if new:
                handle.write(",".join(THERMO_COLUMNS) + "\n")
            handle.write(",".join(str(v) if isinstance(v, str) else f"{v:.10g}" for v in row) + "\n")
        if phase == "production":
            frame = self.atoms.copy()
            frame.calc = None
            frame.info = {"time_fs": step * s.timestep_fs, "step": step}
            frame.arrays.pop("momenta", None)
            with open(self.trajectory, "a") as handle:
                write(handle, frame, format="extxyz")
        if temperature > s.max_temperature_factor * s.temperature_K:
            raise BlowUp(f"step {step}: temperature {temperature:.0f} K exceeds {s.max_temperature_factor} x target")
        if max_force > s.max_force_kcal_A:
            raise BlowUp(f"step {step}: force {max_force:.0f} kcal/mol/A exceeds {s.max_force_kcal_A}")
        if phase == "production" and s.production == "nve" and reference_etot is not None:
            drift = abs(epot + ekin - reference_etot) / len(self.atoms)
            if drift > s.max_drift_kcal_per_atom:
                raise BlowUp(f"step {step}: energy drift {drift:.3f} kcal/mol/atom exceeds {s.max_drift_kcal_per_atom}")
        return epot + ekin

    # --- main loop -----------------------------------------------------------
    def run(self) -> None:
        """Run (or resume) both phases to the end; raises :class:`BlowUp` on instability."""
        from tqdm import tqdm

        s = self.settings
        step, rng, reference = self._restore()
        total = s.equilibration_steps + s.production_steps
        if step == 0:
            self._record(0, "equilibration" if s.equilibration_steps else "production", None)
            self._save_checkpoint(0, rng, None)
        with tqdm(total=total, initial=step, desc="MD", unit="step") as bar:
            while step < total:
                phase = "equilibration" if step < s.equilibration_steps else "production"
                boundary = s.equilibration_steps if phase == "equilibration" else total
                dynamics = _integrator(self.atoms, phase, s, rng)
                while step < boundary:
                    block = min(s.sample_every - step % s.sample_every, boundary - step)
                    dynamics.run(block)
                    step += block
                    bar.update(block)
                    if step % s.sample_every == 0 or step == boundary:
                        etot = self._record(step, phase, reference)
                        if phase == "production" and reference is None:
                            reference = etot
                    if step % s.checkpoint_every == 0 or step == total:
                        self._save_checkpoint(step, rng, reference)
