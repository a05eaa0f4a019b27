"""MD cost of the contact correction: energy + forces of a liquid box with a PINN, with and without it.

Times ``LiquidPotential`` (energy and autograd forces, the MD step's work) on the packed box of
:func:`bench_physics.degdme_box` for an untrained PINN (the cost does not depend on the weights)
and for the same PINN carrying a :class:`pinnff.model.contact.ContactCorrection`; prints ms per
evaluation of each, their ratio, and the machine load, as text and JSON.

    PYTHONPATH=src python benchmarks/bench_contact_md.py --molecules 32 --repeats 5 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch


def evaluate_ms(potential, positions, cell, repeats: int) -> float:
    """Median ms of one energy + forces evaluation (after one warm-up)."""
    times = []
    for k in range(repeats + 1):
        x = positions.clone().requires_grad_(True)
        start = time.perf_counter()
        (grad,) = torch.autograd.grad(potential(x, cell), x)
        if k:
            times.append(1e3 * (time.perf_counter() - start))
    return sorted(times)[len(times) // 2]


def main(argv=None) -> None:
    from bench_physics import SMILES, degdme_box

    from pinnff.md.potential import LiquidPotential
    from pinnff.model.contact import ContactConfig
    from pinnff.model.physics_potential import PhysicsPotential

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    positions, edge = degdme_box(args.molecules, 0)
    x, cell = torch.tensor(positions, dtype=torch.float32), torch.eye(3) * float(edge)
    result = {"molecules": args.molecules, "threads": args.threads, "load": os.getloadavg()}
    for name, contact in (("pinn", None), ("pinn+contact", ContactConfig())):
        model = PhysicsPotential("pinn", contact=contact).float().eval()
        result[f"{name}_ms"] = evaluate_ms(LiquidPotential(args.molecules, SMILES, None, model), x, cell, args.repeats)
    result["ratio"] = result["pinn+contact_ms"] / result["pinn_ms"]
    print(f"{args.molecules} molecules, {args.threads} thread(s), load {result['load'][0]:.1f}: "
          f"pinn {result['pinn_ms']:.0f} ms, pinn+contact {result['pinn+contact_ms']:.0f} ms per energy+forces, "
          f"ratio {result['ratio']:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
