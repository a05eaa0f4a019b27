"""Benchmark of the AMOEBA+ physics engine: energy + forces of DEGDME liquid boxes.

Prints wall-clock milliseconds per energy+forces evaluation (autograd
backward included) for each term and the total, float32 and float64,
mutual (CG) and extrapolated polarization; the growth with box size; and,
in the same run, OpenMM's AMOEBA (amoeba2018, CPU platform, PME) on a water
box of about the same atom count with the same cutoffs.

    python benchmarks/bench_physics.py [--molecules 64] [--scaling 32 64 128 256] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pinnff.physics import PhysicsSettings, PolarizationSettings, degdme_topology, prior_parameters, total_energy
from pinnff.physics.ewald import EwaldSettings

SMILES = "COCCOCCOC"
DENSITY = 0.94  # g/cm^3 (GESTIS, SCIENCE.md)


def degdme_box(n_molecules: int, seed: int = 0):
    """(positions (n, 3) A, edge A) of a packed, rigid-relaxed DEGDME box at the experimental density."""
    from pinnff.chem.molecule import embed_relaxed_conformers
    from pinnff.md.box import liquid_box

    pool, _ = embed_relaxed_conformers(SMILES, 4, seed=seed)
    atoms = liquid_box(SMILES, pool, n_molecules, DENSITY, seed, relax_iterations=50)
    return atoms.positions.copy(), float(atoms.cell[0, 0])


def timed(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def energy_forces(positions, topo, params, cell, settings):
    x = positions.clone().requires_grad_(True)
    e, parts = total_energy(x, topo, params, cell, settings=settings)
    (g,) = torch.autograd.grad(e, x)
    return e, parts, -g


def bench_pinnff(n_molecules: int, dtype, solver: str, terms, repeats: int, cutoff: float, ewald_cutoff: float,
                 ewald_tol: float, box=None):
    pos, edge = box if box is not None else degdme_box(n_molecules)
    topo = degdme_topology(n_molecules)
    params = {k: v.to(dtype) for k, v in prior_parameters(n_molecules).items()}
    x = torch.tensor(pos, dtype=dtype)
    cell = torch.eye(3, dtype=dtype) * edge
    settings = PhysicsSettings(cutoff=cutoff, terms=tuple(terms),
                               ewald=EwaldSettings(cutoff=ewald_cutoff, tolerance=ewald_tol),
                               polarization=PolarizationSettings(solver=solver, tol=1e-5 if dtype == torch.float64 else 1e-4))
    return timed(lambda: energy_forces(x, topo, params, cell, settings), repeats)


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=64)
    ap.add_argument("--scaling", type=int, nargs="*", default=[32, 64, 128, 256])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cutoff", type=float, default=9.0, help="vdW cutoff, A")
    ap.add_argument("--ewald-cutoff", type=float, default=7.0, help="real-space Ewald cutoff, A")
    ap.add_argument("--ewald-tol", type=float, default=1e-5)
    ap.add_argument("--skip-openmm", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    common = dict(repeats=args.repeats, cutoff=args.cutoff, ewald_cutoff=args.ewald_cutoff, ewald_tol=args.ewald_tol)

    box = degdme_box(args.molecules)
    n_atoms = len(box[0])
    print(f"DEGDME box: {args.molecules} molecules, {n_atoms} atoms, edge {box[1]:.2f} A, "
          f"cutoffs vdW {args.cutoff} A / Ewald real {args.ewald_cutoff} A, Ewald tol {args.ewald_tol}, "
          f"{args.threads} threads")
    print(f"{'terms':38s} {'dtype':8s} {'solver':13s} {'ms':>9s}")
    for dtype in (torch.float64, torch.float32):
        name = str(dtype).split(".")[-1]
        for term in ("multipole", "vdw", "charge_transfer"):
            ms = bench_pinnff(args.molecules, dtype, "extrapolated", [term], box=box, **common)
            print(f"{term:38s} {name:8s} {'-':13s} {ms:9.1f}")
        for solver in ("extrapolated", "mutual", "direct"):
            ms = bench_pinnff(args.molecules, dtype, solver, ["polarization"], box=box, **common)
            print(f"{'polarization':38s} {name:8s} {solver:13s} {ms:9.1f}")
        for solver in ("extrapolated", "mutual"):
            ms = bench_pinnff(args.molecules, dtype, solver,
                              ["multipole", "polarization", "vdw", "charge_transfer"], box=box, **common)
            print(f"{'total':38s} {name:8s} {solver:13s} {ms:9.1f}   ({1e3 * ms / n_atoms:.1f} us/atom)")

    if not args.skip_openmm:
        for pol in ("extrapolated", "mutual"):
            ms, n = bench_openmm(n_atoms, pol, args.ewald_cutoff, args.ewald_tol, args.repeats, args.threads)
            print(f"OpenMM AMOEBA water ({n} atoms, {pol}, CPU): {ms:.1f} ms ({1e3 * ms / n:.1f} us/atom)")

    print("scaling (total, float32, extrapolated):")
    for n_mol in args.scaling:
        ms = bench_pinnff(n_mol, torch.float32, "extrapolated", ["multipole", "polarization", "vdw", "charge_transfer"],
                          **common)
        print(f"  {n_mol:4d} molecules ({23 * n_mol:5d} atoms): {ms:9.1f} ms")


if __name__ == "__main__":
    main()
