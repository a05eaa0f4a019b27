"""Basis-set superposition error of shipped DFT dimer labels (counterpoise, Boys-Bernardi).

The shipped E_int are E(AB) - E(A) - E(B) with every monomer in its own
basis. With a small basis (def2-SVP) each monomer borrows its partner's
functions in the dimer, which lowers E(AB) by the BSSE. This script prints,
for chosen dimers of a labelled structure file,

    BSSE = sum_m [E_m(own basis) - E_m(dimer basis)]   (kcal/mol, >= 0)

and the counterpoise-corrected E_int^CP = E_int + BSSE, with the labelling
backend at the level of the config's ``label.pyscf`` section without
dispersion (D3 depends on the nuclei only and cancels in the BSSE). Ghost atoms carry basis functions and
integration grids, no nuclear charge and no electrons. A spread of the BSSE
across dimers that no pairwise physics term can follow bounds what any model
trained on uncorrected labels can reach.

    python benchmarks/bsse_check.py results/splits/set_A/test.extxyz A-0276 A-0243 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def bsse_kcal(atoms, backend) -> float:
    """Counterpoise BSSE (kcal/mol) of a labelled cluster (ASE atoms with ``mol_id``) with a
    :class:`pinnff.label.backends.PySCFBackend` (symbols ``ghost-X`` are ghost atoms)."""
    symbols, mol_id = np.array(atoms.get_chemical_symbols(), dtype=object), atoms.arrays["mol_id"]
    total = 0.0
    for molecule in np.unique(mol_id):
        own = mol_id == molecule
        alone = backend.compute(list(symbols[own]), atoms.positions[own], forces=False).energy_kcal
        ghosts = np.where(own, symbols, ["ghost-" + s for s in symbols])
        total += alone - backend.compute(list(ghosts), atoms.positions, forces=False).energy_kcal
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("structures", help="labelled clusters (extxyz with sample_id, mol_id, e_int_kcal)")
    parser.add_argument("samples", nargs="+", help="sample ids")
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from pinnff.config import section
    from pinnff.geometry import cross_distances
    from pinnff.io.structures import read_structures
    from pinnff.label.backends import PySCFBackend

    settings = section(args.config, "label")["pyscf"]
    backend = PySCFBackend(dict(settings, dispersion="none"), threads=args.threads)
    frames = {atoms.info["sample_id"]: atoms for atoms in read_structures(args.structures)}
    missing = [s for s in args.samples if s not in frames]
    if missing:
        raise SystemExit(f"bsse_check: samples {missing} are not in {args.structures}")
    print(f"level {settings['xc']}/{settings['basis']} (density fitting {settings['density_fit']}, "
          f"grid {settings['grid_level']}), {args.threads} threads")
    print(f"{'sample':>10} {'contact/A':>9} {'E_int':>8} {'BSSE':>7} {'E_int_CP':>9} {'wall/s':>7}")
    for sample in args.samples:
        atoms = frames[sample]
        mol_id = atoms.arrays["mol_id"]
        contact = cross_distances(atoms.positions[mol_id == 0], atoms.positions[mol_id == 1]).min()
        start = time.perf_counter()
        bsse = bsse_kcal(atoms, backend)
        e_int = float(atoms.info["e_int_kcal"])
        print(f"{sample:>10} {contact:9.2f} {e_int:8.2f} {bsse:7.2f} {e_int + bsse:9.2f} "
              f"{time.perf_counter() - start:7.0f}", flush=True)


if __name__ == "__main__":
    main()
