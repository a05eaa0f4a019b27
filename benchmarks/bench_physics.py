"""Benchmark of the AMOEBA+ physics engine: energy + forces of DEGDME liquid boxes.

Prints, for the 64-molecule box (1472 atoms, experimental density):

1. the error of the fast electrostatics (smooth PME) against the plain Ewald
   sum at the same splitting and against a converged Ewald sum, per term
   (energy difference, RMS and largest force difference);
2. wall-clock milliseconds per energy + forces evaluation (autograd backward
   included, warm Verlet list) for each term and the total, extrapolated
   (OPT3) and mutual polarization, float32 and float64, PME and (float64,
   for reference) plain Ewald;
3. OpenMM's AMOEBA (amoeba2018, CPU platform, PME) on a water box of about
   the same atom count, and the time per atom against pinnff's;
4. how the time grows from 32 to 256 molecules (the 32-molecule box tiled
   1, 2, 4 and 8 times).

Timings are medians of ``--repeats`` runs; the machine load is printed
with them, since other jobs on the same cores inflate them.

    python benchmarks/bench_physics.py [--molecules 64] [--scaling 1 2 4 8] [--threads 2] [--skip-openmm]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np
import torch

from pinnff.physics import PhysicsSettings, PolarizationSettings, degdme_topology, prior_parameters, total_energy
from pinnff.physics.settings import neighbor_list, periodic_settings

SMILES = "COCCOCCOC"
DENSITY = 0.94  # g/cm^3 (GESTIS, SCIENCE.md)
TERMS = ("multipole", "polarization", "vdw", "charge_transfer")


def degdme_box(n_molecules: int, seed: int = 0):
    """(positions (n, 3) A, edge A) of a packed, rigid-relaxed DEGDME box at the experimental density."""
    from pinnff.chem.molecule import embed_relaxed_conformers
    from pinnff.md.box import liquid_box

    pool, _ = embed_relaxed_conformers(SMILES, 4, seed=seed)
    atoms = liquid_box(SMILES, pool, n_molecules, DENSITY, seed, relax_iterations=50)
    return atoms.positions.copy(), float(atoms.cell[0, 0])


def tiled(box, reps: tuple[int, int, int]):
    """(positions, cell (3,) A) of a cubic box repeated ``reps`` times along x, y, z (molecule order kept)."""
    pos, edge = box
    shifts = [np.array([a, b, c]) * edge for a in range(reps[0]) for b in range(reps[1]) for c in range(reps[2])]
    return np.concatenate([pos + s for s in shifts]), np.array(reps, dtype=float) * edge


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(fn, repeats: int, cpu: bool = False):
    """Median wall-clock milliseconds of ``fn()`` over ``repeats`` runs after one warm-up; with ``cpu``
    also the median CPU time of this process (all its threads), ms: on a loaded machine the CPU time
    of a single-threaded run is the better guide to the unloaded wall time."""
    fn()
    wall, used = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        used.append(time.process_time() - c0)
    ms = 1e3 * float(np.median(wall))
    return (ms, 1e3 * float(np.median(used))) if cpu else ms


class System:
    """A DEGDME box as tensors, with a warm neighbour list per settings."""

    def __init__(self, positions, cell, n_molecules: int, dtype, params=None):
        self.topology = degdme_topology(n_molecules)
        params = params if params is not None else prior_parameters(n_molecules)
        self.params = {k: v.to(dtype) for k, v in params.items()}
        self.x = torch.tensor(positions, dtype=dtype)
        cell = np.asarray(cell, dtype=float)
        self.cell = torch.tensor(np.diag(cell) if cell.ndim == 1 else cell, dtype=dtype)
        self.neighbors = neighbor_list()

    def energy_forces(self, settings: PhysicsSettings):
        x = self.x.clone().requires_grad_(True)
        e, parts = total_energy(x, self.topology, self.params, self.cell, settings=settings, neighbors=self.neighbors)
        (g,) = torch.autograd.grad(e, x)
        return e.detach(), {k: v.detach() for k, v in parts.items()}, -g


def settings_for(method: str, terms, solver: str, dtype, tolerance: float = 1e-5, cutoff: float = 7.0):
    base = periodic_settings({"electrostatics": method, "polarization": solver, "ewald_tolerance": tolerance,
                              "real_cutoff_A": cutoff,
                              "polarization_tol_debye": 1e-5 if dtype == torch.float64 else 1e-4})
    return replace(base, terms=tuple(terms))


def accuracy(box, n_molecules: int, seed: int = 0):
    """PME against plain Ewald (same splitting) and a converged Ewald sum, per term, float64.

    Prior parameters (MMFF charges, no dipoles or quadrupoles) and, to exercise
    every multipole order, the same with random dipoles/quadrupoles (0.03 e*A, e*A^2 scale).
    """
    g = torch.Generator().manual_seed(seed)
    base = prior_parameters(n_molecules)
    n = base["charge"].shape[0]
    rich = dict(base)
    rich["dipole"] = 0.03 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    q = 0.03 * torch.randn(n, 3, 3, generator=g, dtype=torch.float64)
    q = 0.5 * (q + q.transpose(1, 2))
    rich["quadrupole"] = q - torch.eye(3, dtype=torch.float64) * q.diagonal(dim1=1, dim2=2).sum(-1)[:, None, None] / 3
    print("\nPME (7 A, tol 1e-5, 0.5 A grid, order 5) against plain Ewald: same splitting | converged (10 A, 1e-8)")
    print(f"{'parameters':10s} {'term':26s} {'E ref':>11s} {'dE same':>9s} {'dE conv':>9s} "
          f"{'F rms':>8s} {'dF rms same':>11s} {'dF max same':>11s} {'dF rms conv':>11s} {'dF max conv':>11s}")
    for label, params in (("priors", base), ("multipoles", rich)):
        system = System(box[0], [box[1]] * 3, n_molecules, torch.float64, params)
        for term, solver in (("multipole", "extrapolated"), ("polarization", "extrapolated"),
                             ("polarization", "mutual"), ("vdw", "extrapolated"), ("charge_transfer", "extrapolated")):
            runs = {}
            for name, method, tol, cut in (("pme", "pme", 1e-5, 7.0), ("same", "ewald", 1e-5, 7.0),
                                           ("conv", "ewald", 1e-8, 10.0)):
                s = settings_for(method, [term], solver, torch.float64, tol, cut)
                s = replace(s, polarization=PolarizationSettings(solver=solver, tol=1e-8))
                system.neighbors = neighbor_list({"real_cutoff_A": cut})
                e, _, f = system.energy_forces(s)
                runs[name] = (e.item(), f)
            e, f = runs["pme"]
            name = term if term != "polarization" else f"polarization ({solver})"
            frms = float((runs["conv"][1] ** 2).mean().sqrt())
            cols = []
            for ref in ("same", "conv"):
                d = f - runs[ref][1]
                cols.append((e - runs[ref][0], float((d ** 2).mean().sqrt()), float(d.abs().max())))
            print(f"{label:10s} {name:26s} {runs['conv'][0]:11.4f} {cols[0][0]:9.1e} {cols[1][0]:9.1e} {frms:8.3f} "
                  f"{cols[0][1]:11.1e} {cols[0][2]:11.1e} {cols[1][1]:11.1e} {cols[1][2]:11.1e}")


def timings(box, n_molecules: int, repeats: int, ewald_repeats: int):
    n_atoms = len(box[0])
    print(f"\nms per energy + forces, {n_atoms} atoms ({load()})")
    print(f"{'terms':34s} {'dtype':8s} {'method':7s} {'solver':13s} {'ms':>9s} {'us/atom':>8s} {'CPU ms':>9s}")
    rows = []
    for dtype in (torch.float32, torch.float64):
        dname = str(dtype).split(".")[-1]
        for method in ("pme", "ewald"):
            if method == "ewald" and dtype == torch.float32:
                continue
            reps = repeats if method == "pme" else ewald_repeats
            system = System(box[0], [box[1]] * 3, n_molecules, dtype)
            system.energy_forces(settings_for(method, TERMS, "extrapolated", dtype))  # builds the list
            rebuild = neighbor_list()
            t0 = time.perf_counter()
            rebuild.get(system.x, system.cell)
            build_ms = 1e3 * (time.perf_counter() - t0)
            print(f"{'neighbour list build (skin 1 A)':34s} {dname:8s} {'-':7s} {'-':13s} {build_ms:9.1f}")
            cases = [((t,), "extrapolated") for t in ("multipole", "vdw", "charge_transfer")]
            cases += [(("polarization",), "extrapolated"), (("polarization",), "mutual"),
                      (TERMS, "extrapolated"), (TERMS, "mutual")]
            if method == "pme":  # the shorter real-space cutoff with a finer grid (same force accuracy)
                cases.append((TERMS, "extrapolated", 6.0, 0.4))
            for terms, solver, *short in cases:
                s = settings_for(method, terms, solver, dtype, *(1e-5, short[0]) if short else ())
                if short:
                    s = replace(s, ewald=replace(s.ewald, pme_spacing=short[1]))
                ms, cpu = timed(lambda: system.energy_forces(s), reps, cpu=True)
                name = "total" if len(terms) > 1 else terms[0] + (" (+ long-range)" if terms[0] == "vdw" else "")
                if short:
                    name = "total (real 6 A, grid 0.4 A)"
                shown = solver if "polarization" in terms else "-"
                print(f"{name:34s} {dname:8s} {method:7s} {shown:13s} {ms:9.1f} {1e3 * ms / n_atoms:8.1f} {cpu:9.1f}")
                rows.append((name, dname, method, solver, ms))
    return rows


def bench_openmm(n_atoms_target: int, polarization: str, cutoff: float, ewald_tol: float, repeats: int, threads: int):
    """ms per energy+forces of an amoeba2018 water box with about ``n_atoms_target`` atoms (CPU platform)."""
    import openmm
    import openmm.app as app
    from openmm import unit

    n_waters = n_atoms_target // 3
    edge_nm = (n_waters * 29.9e-3) ** (1 / 3)
    ff = app.ForceField("amoeba2018.xml")
    modeller = app.Modeller(app.Topology(), [])
    modeller.addSolvent(ff, model="tip3p", boxSize=openmm.Vec3(edge_nm, edge_nm, edge_nm) * unit.nanometer)
    system = ff.createSystem(modeller.topology, nonbondedMethod=app.PME, nonbondedCutoff=cutoff / 10 * unit.nanometer,
                             polarization=polarization, mutualInducedTargetEpsilon=1e-5, ewaldErrorTolerance=ewald_tol)
    platform = openmm.Platform.getPlatformByName("CPU")
    ctx = openmm.Context(system, openmm.VerletIntegrator(1e-3), platform, {"Threads": str(threads)})
    ctx.setPositions(modeller.positions)
    ms = timed(lambda: ctx.getState(getEnergy=True, getForces=True), repeats)
    return ms, system.getNumParticles()


def openmm_comparison(n_atoms: int, pinnff_rows, repeats: int, threads: int):
    ours = {(r[0], r[1], r[3]): r[4] for r in pinnff_rows if r[2] == "pme"}
    print(f"\nOpenMM AMOEBA water, CPU platform, {threads} threads, PME tolerance 1e-4 ({load()})")
    for cutoff in (7.0, 9.0):
        for pol in ("extrapolated", "mutual"):
            ms, n = bench_openmm(n_atoms, pol, cutoff, 1e-4, repeats, threads)
            per_atom = 1e3 * ms / n
            line = f"  cutoff {cutoff:.0f} A, {pol:12s}: {n} atoms, {ms:8.1f} ms ({per_atom:.1f} us/atom)"
            for dname in ("float32", "float64"):
                mine = ours.get(("total", dname, pol))
                if mine is not None:
                    line += f"; OpenMM/pinnff {dname} per atom {per_atom / (1e3 * mine / n_atoms):.2f}"
            print(line)
    print("  (per-atom time ratio OpenMM / pinnff total with the same polarization: above 1, pinnff is faster)")


def scaling(box32, reps_list, repeats: int):
    print(f"\nscaling: total energy + forces, float32, PME, extrapolated; the 32-molecule box tiled ({load()})")
    for reps in reps_list:
        pos, cell = tiled(box32, reps)
        n_mol = 32 * int(np.prod(reps))
        system = System(pos, cell, n_mol, torch.float32)
        s = settings_for("pme", TERMS, "extrapolated", torch.float32)
        ms, cpu = timed(lambda: system.energy_forces(s), repeats, cpu=True)
        print(f"  {n_mol:4d} molecules ({len(pos):5d} atoms, cell {' x '.join(f'{c:.1f}' for c in cell)} A): "
              f"{ms:9.1f} ms  ({1e3 * ms / len(pos):.1f} us/atom, CPU {cpu:.1f} ms)")


REPS = {1: (1, 1, 1), 2: (2, 1, 1), 4: (2, 2, 1), 8: (2, 2, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=64)
    ap.add_argument("--scaling", type=int, nargs="*", default=[1, 2, 4, 8], choices=sorted(REPS),
                    help="tilings of the 32-molecule box")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ewald-repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-openmm", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}, {os.cpu_count()} CPUs, "
          f"{load()}")

    box = degdme_box(args.molecules)
    n_atoms = len(box[0])
    print(f"DEGDME box: {args.molecules} molecules, {n_atoms} atoms, edge {box[1]:.2f} A "
          f"(settings: pinnff.physics.settings defaults, config section 'physics')")
    if not args.skip_accuracy:
        accuracy(box, args.molecules)
    rows = timings(box, args.molecules, args.repeats, args.ewald_repeats)
    if not args.skip_openmm:
        openmm_comparison(n_atoms, rows, args.repeats, args.threads)
    if args.scaling:
        scaling(degdme_box(32), [REPS[k] for k in args.scaling], args.repeats)


if __name__ == "__main__":
    main()
