"""MD speed and energy conservation of the production integrator on the 64-molecule DEGDME box.

One run, ``--threads`` CPU threads (default 2) or ``--device cuda``:

1. the box (packmol + rigid MMFF94 relaxation at the experimental density),
   FIRE-minimized with the classical prior;
2. for a PINN and for the classical prior: ms per outer step and ns/day of
   the production integrator (r-RESPA with the ``md`` section's inner/outer
   steps, RESPA1 when it sets ``middle_step_fs``, and hydrogen mass repartitioning, Bussi thermostat, the
   ``physics`` section's numerics), and neighbour-list rebuilds per ps;
3. the NVE energy drift of the production settings with the prior, kcal/mol
   per ns per degree of freedom (linear fit of E_total over ``--nve-ps``
   after ``--equilibrate-ps`` of Langevin; the issue asks for >= 20 ps:
   ``--nve-ps 20`` on an idle machine or a GPU);
4. a profile of the outer step (torch profiler: the operators with the most
   self time, ms per outer step).

The PINN's cost does not depend on its training: ``--pinn PATH`` times a
trained checkpoint, otherwise a PINN of the default architecture is built
with its input normalization fitted on the first shipped set-A dimers (the
JSON says which).

5. OpenMM's AMOEBA on the same box (``benchmarks/openmm_diglyme.py``: the
   prior's multipoles, frames, polarizabilities, vdW and MMFF94 valence terms
   as an OpenMM ``System``, same cutoffs, PME grid and polarization scheme,
   charge penetration and transfer off, ``--threads`` CPU threads) at its
   1 fs velocity-Verlet step: ``openmm_ns_per_day``, and the per atom-step
   ratio ``pinnff_over_openmm_per_atom_step`` (pinnff's production ns/day
   over OpenMM's; both on the same atoms) and, without the time-step advantage,
   OpenMM's ms per step over pinnff's ms per outer step (one full force
   evaluation each). ``--skip-openmm`` leaves it out.

The pair kernels run as the ``physics.compile_kernels`` key says (compiled by
default, during the untimed warm-up steps); ``--eager`` times them uncompiled. The native C pair
kernels (:mod:`pinnff.physics.native`) serve the CPU by default; ``--no-native`` times the torch
formulas instead (run both back to back: this machine's speed drifts by 10-30 % between runs).

    python benchmarks/bench_md.py --json bench_md.json [--pinn model.pt] [--threads 2] [--device cuda] [--eager] [--no-native]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
DIMERS = ROOT / "resources/labels/dft_b3lyp-d3bj_def2-svp_df_grid2/set_A/chunk-000.extxyz"
SMILES = "COCCOCCOC"


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def liquid(n_molecules: int, seed: int):
    """The packed box as periodic ASE atoms with ``mol_id``."""
    from ase import Atoms
    from bench_physics import degdme_box

    from pinnff.chem.molecule import symbols

    positions, edge = degdme_box(n_molecules, seed)
    atoms = Atoms(symbols(SMILES) * n_molecules, positions=positions, cell=[edge] * 3, pbc=True)
    atoms.arrays["mol_id"] = np.repeat(np.arange(n_molecules), len(symbols(SMILES)))
    return atoms


def untrained_pinn(n_dimers: int):
    """A default-architecture PINN, normalization fitted on the first ``n_dimers`` shipped dimers."""
    from pinnff.model.physics_potential import PhysicsPotential
    from pinnff.model.clusters import load_clusters

    model = PhysicsPotential("pinn", SMILES)
    clusters = load_clusters(DIMERS)[:n_dimers]
    model.fit_normalization(model.prepare(clusters))
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, f"untrained default-architecture PINN, normalization fitted on {len(clusters)} dimers of " \
                  f"{DIMERS.relative_to(ROOT)}"


def minimize(atoms, potential, device: str, dtype, steps: int) -> None:
    """FIRE on the box with ``potential`` (in place)."""
    from ase.optimize import FIRE

    from pinnff.md.calculator import PotentialCalculator
    from pinnff.units import EV_TO_KCAL

    atoms.calc = PotentialCalculator(potential, dtype=dtype, device=device)
    FIRE(atoms, logfile=None).run(fmax=2.0 / EV_TO_KCAL, steps=steps)
    atoms.calc = None


def integrator(atoms, potential, md: dict, device: str, dtype, seed: int = 0):
    """The production r-RESPA integrator of ``md`` for ``potential``, and its start state at 298 K."""
    from pinnff.md.commands import md_settings
    from pinnff.md.driver import md_masses, split_forces
    from pinnff.md.integrator import RespaIntegrator, maxwell_boltzmann

    s = md_settings(md)
    masses = md_masses(atoms, potential, s.hydrogen_mass_amu).to(device)
    cell = torch.as_tensor(atoms.cell.array, dtype=dtype, device=device)
    forces = split_forces(potential, cell, dtype, s)
    generator = torch.Generator(device=device).manual_seed(seed)
    respa = RespaIntegrator(forces, masses, s.inner_step_fs, s.inner_steps, generator, s.middle_steps)
    positions = torch.as_tensor(atoms.positions, dtype=torch.float64, device=device)
    state = forces.state(positions, maxwell_boltzmann(masses, s.temperature_K, generator))
    return s, respa, state


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_production(atoms, potential, md: dict, device: str, dtype, steps: int) -> dict:
    """ms per outer step, ns/day and neighbour rebuilds per ps of the production dynamics."""
    from pinnff.md.integrator import Thermostat

    s, respa, state = integrator(atoms, potential, md, device, dtype)
    thermostat = Thermostat(s.production, s.temperature_K, tau_fs=s.bussi_tau_fs,
                            friction_per_fs=s.production_friction_per_fs)
    for _ in range(4):  # warm-up (the first steps compile the kernels)
        state = respa.step(state, thermostat)
    builds = potential.neighbors.builds
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        state = respa.step(state, thermostat)
    synchronize(device)
    seconds = (time.perf_counter() - start) / steps
    return {"ms_per_outer_step": round(seconds * 1e3, 2),
            "ns_per_day": round(s.outer_step_fs * 1e-6 * 86400 / seconds, 3),
            "neighbor_rebuilds_per_ps": round((potential.neighbors.builds - builds) / (steps * s.outer_step_fs / 1000), 2)}


def nve_drift(atoms, potential, md: dict, device: str, dtype, equilibrate_ps: float, nve_ps: float) -> dict:
    """Slope of E_total (kcal/mol per ns per degree of freedom) of NVE with the production steps."""
    from pinnff.md.integrator import Thermostat, degrees_of_freedom, kinetic_energy, temperature

    s, respa, state = integrator(atoms, potential, md, device, dtype, seed=1)
    langevin = Thermostat("langevin", s.temperature_K, friction_per_fs=s.equilibration_friction_per_fs)
    for _ in range(round(equilibrate_ps * 1000 / s.outer_step_fs)):
        state = respa.step(state, langevin)
    times, energies, temperatures = [], [], []
    nve = Thermostat("nve")
    n_steps = round(nve_ps * 1000 / s.outer_step_fs)
    every = max(1, round(10.0 / s.outer_step_fs))
    for step in range(n_steps + 1):
        if step % every == 0:
            times.append(step * s.outer_step_fs / 1e6)  # ns
            energies.append(float(state.potential_energy + kinetic_energy(state.velocities, respa.masses)))
            temperatures.append(float(temperature(state.velocities, respa.masses)))
        if step < n_steps:
            state = respa.step(state, nve)
    slope = np.polyfit(times, energies, 1)[0]
    ndof = degrees_of_freedom(len(respa.masses))
    return {"nve_drift_kcal_mol_ns_dof": float(slope / ndof), "nve_ps": nve_ps, "nve_equilibration_ps": equilibrate_ps,
            "nve_energy_std_kcal": float(np.std(energies)), "nve_mean_temperature_K": float(np.mean(temperatures))}


def profile(atoms, potential, md: dict, device: str, dtype, steps: int, top: int = 12) -> dict:
    """Operators with the most self time per outer step (torch profiler)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from pinnff.md.integrator import Thermostat

    s, respa, state = integrator(atoms, potential, md, device, dtype)
    thermostat = Thermostat(s.production, s.temperature_K, tau_fs=s.bussi_tau_fs)
    state = respa.step(state, thermostat)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        for _ in range(steps):
            state = respa.step(state, thermostat)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return {"steps": steps, "self_cpu_ms_per_outer_step": {e.key: round(e.self_cpu_time_total / 1e3 / steps, 2)
                                                           for e in events}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="write the figures here")
    parser.add_argument("--pinn", help="trained pinn checkpoint (default: untrained, see the module docstring)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--molecules", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="timed outer steps per potential")
    parser.add_argument("--equilibrate-ps", type=float, default=0.3)
    parser.add_argument("--nve-ps", type=float, default=1.5, help="NVE run of the drift (0: none)")
    parser.add_argument("--minimize-steps", type=int, default=60)
    parser.add_argument("--openmm-steps", type=int, default=10, help="timed OpenMM steps")
    parser.add_argument("--skip-openmm", action="store_true", help="leave OpenMM out (it is a test extra)")
    parser.add_argument("--settings", help="config file whose 'md' and 'physics' sections to use (default: defaults)")
    parser.add_argument("--eager", action="store_true", help="pair kernels eager (physics.compile_kernels off)")
    parser.add_argument("--no-native", action="store_true", help="torch formulas instead of the native C pair kernels")
    args = parser.parse_args(argv)

    from pinnff.config import section
    from pinnff.memory import keep_freed_memory
    from pinnff.md.commands import md_settings, short_range
    from pinnff.physics import native
    from pinnff.physics.kernels import compile_kernels
    from pinnff.md.potential import LiquidPotential
    from pinnff.model.store import PHYSICS_KINDS, load_model
    from pinnff.physics.settings import dtype as physics_dtype

    keep_freed_memory()  # as every pinnff command does
    torch.set_num_threads(args.threads)
    md, physics = section(args.settings, "md"), section(args.settings, "physics")
    dtype, device = physics_dtype(physics), args.device
    compile_kernels(physics["compile_kernels"] and not args.eager)
    native.use(not args.no_native)
    started = time.perf_counter()
    atoms = liquid(args.molecules, seed=args.molecules)
    middle = short_range(md, md_settings(md))
    prior = LiquidPotential(args.molecules, SMILES, physics, short_range=middle).to(device)
    minimize(atoms, prior, device, dtype, args.minimize_steps)
    if args.pinn:
        model, source = load_model(args.pinn, PHYSICS_KINDS), f"trained checkpoint {args.pinn}"
    else:
        model, source = untrained_pinn(n_dimers=8)
    pinn = LiquidPotential(args.molecules, SMILES, physics, model, short_range=middle).to(device)
    result = {"atoms": len(atoms), "molecules": args.molecules, "threads": args.threads, "device": device,
              "dtype": str(dtype), "inner_step_fs": md["inner_step_fs"], "middle_step_fs": md["middle_step_fs"],
              "outer_step_fs": md["outer_step_fs"], "short_range_A": middle,
              "hydrogen_mass_amu": md["hydrogen_mass_amu"], "production": md["production"], "pinn_source": source,
              "compile_kernels": physics["compile_kernels"] and not args.eager,
              "native_kernels": native.available(torch.zeros(1)),
              "load_average_start": load()}
    for name, potential in (("pinn", pinn), ("prior", prior)):
        timing = time_production(atoms, potential, md, device, dtype, args.steps)
        result[f"pinnff_{name}_ns_per_day"] = timing["ns_per_day"]
        result[f"{name}_ms_per_outer_step"] = timing["ms_per_outer_step"]
        result[f"{name}_neighbor_rebuilds_per_ps"] = timing["neighbor_rebuilds_per_ps"]
        print(f"{name}: {timing}", flush=True)
    if not args.skip_openmm and device == "cpu":
        from openmm_diglyme import openmm_speed

        box = (atoms.positions.copy(), float(atoms.cell[0, 0]))
        openmm = openmm_speed(args.molecules, threads=args.threads, steps=args.openmm_steps,
                              polarization=physics["polarization"], section=physics, box=box)
        result["openmm"] = openmm
        result["openmm_ns_per_day"] = openmm["ns_per_day"]
        result["pinnff_over_openmm_per_atom_step"] = {
            name: result[f"pinnff_{name}_ns_per_day"] / openmm["ns_per_day"] for name in ("pinn", "prior")}
        # one outer step evaluates every force once (plus the inner valence steps): the cost ratio per
        # full force evaluation, without the larger time step's advantage
        result["openmm_over_pinnff_ms_per_force_evaluation"] = {
            name: openmm["ms_per_step"] / result[f"{name}_ms_per_outer_step"] for name in ("pinn", "prior")}
        print(f"openmm: {openmm}", flush=True)
    if args.nve_ps > 0:
        result.update(nve_drift(atoms, prior, md, device, dtype, args.equilibrate_ps, args.nve_ps))
        print(f"NVE: {result['nve_drift_kcal_mol_ns_dof']:.4g} kcal/mol/ns/dof over {args.nve_ps} ps", flush=True)
    result["profile"] = {name: profile(atoms, potential, md, device, dtype, steps=3)
                         for name, potential in (("pinn", pinn), ("prior", prior))}
    result["load_average_end"] = load()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
