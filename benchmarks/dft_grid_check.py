"""Is the shipped DFT grid good enough? E_int at the shipped grid vs PySCF's default grid.

For the first N samples of a labelled set (shipped grid, monomer energies from
the conformer pool), recompute E_int at a reference grid with every monomer
computed in place, and print the differences in kcal/mol. Results are cached
under results/grid_check/ so the script resumes after a kill.

    python benchmarks/dft_grid_check.py results/labels/<level>/set_A.extxyz --n 3 --grid 3
"""

from __future__ import annotations

import argparse
import copy

import numpy as np

from pinnff import config
from pinnff.io.structures import read_structures
from pinnff.label.backends import PySCFBackend
from pinnff.label.runner import ChunkLabeller
from pinnff.label.store import LabelStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labelled", help="labelled set at the shipped grid")
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--grid", type=int, default=3, help="reference grid level (PySCF default: 3)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    frames = [a for a in read_structures(args.labelled) if a.info["label_status"] == "ok"][: args.n]
    settings = copy.deepcopy(config.validate({})["label"]["pyscf"])
    settings["grid_level"] = args.grid
    backend = PySCFBackend(settings, threads=args.threads)
    labeller = ChunkLabeller(backend, LabelStore("results/grid_check/cache"), backend.level, monomers_from_pool=False)
    print(f"{'sample':<10} {'E_int shipped':>14} {'E_int grid' + str(args.grid):>14} {'diff':>8}  (kcal/mol)")
    diffs = []
    for atoms in frames:
        reference = labeller.label(atoms, forces=False)
        diff = atoms.info["e_int_kcal"] - reference.info["e_int_kcal"]
        diffs.append(diff)
        print(f"{atoms.info['sample_id']:<10} {atoms.info['e_int_kcal']:14.4f} {reference.info['e_int_kcal']:14.4f} {diff:8.4f}",
              flush=True)
    print(f"max |diff| = {np.max(np.abs(diffs)):.4f} kcal/mol over {len(diffs)} samples ({atoms.info['level']} vs {backend.level})")


if __name__ == "__main__":
    main()
