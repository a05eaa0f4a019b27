"""MD speed of the liquid potential: ns/day for DEGDME boxes of 32 to 256 molecules.

For each box size: pack a box (packmol + rigid MMFF94 relaxation), then time
velocity-Verlet steps (energy + forces through the ASE calculator, as in
``pinnff md``) with the classical prior or a trained checkpoint, with the
numerics of the ``physics`` config section. Prints ms/step and ns/day at a
1 fs step, per device (CPU with the given threads; CUDA when available).

    python benchmarks/bench_md.py --threads 2 --sizes 32 64 128 256 [--model results/models/.../model.pt]
"""

from __future__ import annotations

import argparse
import time

import torch


def box(n_molecules: int, seed: int):
    """The packed, rigid-relaxed box of :func:`bench_physics.degdme_box` as periodic ASE atoms."""
    from ase import Atoms
    from bench_physics import SMILES, degdme_box

    from pinnff.chem.molecule import symbols

    positions, edge = degdme_box(n_molecules, seed)
    return Atoms(symbols(SMILES) * n_molecules, positions=positions, cell=[edge] * 3, pbc=True)


def time_steps(atoms, model: str, device: str, steps: int, physics: dict | None) -> float:
    """Seconds per MD step (mean over ``steps`` after two warm-up steps)."""
    from ase import units
    import numpy as np
    from ase.md.velocitydistribution import thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    from pinnff.md.calculator import PotentialCalculator
    from pinnff.md.potential import load_liquid_potential
    from pinnff.physics.settings import dtype

    n_molecules = len(atoms) // 23
    potential = load_liquid_potential(model, n_molecules, "COCCOCCOC", physics)
    atoms.calc = PotentialCalculator(potential, dtype=dtype(physics), device=device)
    thermalize_momenta(atoms, 298.15, rng=np.random.default_rng(0))
    dynamics = VelocityVerlet(atoms, 1.0 * units.fs)
    dynamics.run(2)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    dynamics.run(steps)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--model", default="prior", help="'prior' or a trained pinn/physics checkpoint")
    parser.add_argument("--settings", help="config file whose 'physics' section to use (default: defaults)")
    args = parser.parse_args(argv)
    from pinnff.config import section

    physics = section(args.settings, "physics")
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"model {args.model}; physics {physics['electrostatics']}, {physics['polarization']}, {physics['dtype']}; "
          f"CPU threads {args.threads}; {args.steps} timed steps")
    print(f"{'molecules':>9} {'atoms':>6} {'device':>6} {'ms/step':>9} {'ns/day':>8}")
    for n in args.sizes:
        atoms = box(n, seed=n)
        for device in devices:
            seconds = time_steps(atoms.copy(), args.model, device, args.steps, physics)
            print(f"{n:9d} {len(atoms):6d} {device:>6} {seconds * 1e3:9.1f} {86400 / seconds * 1e-6:8.3f}", flush=True)


if __name__ == "__main__":
    main()
