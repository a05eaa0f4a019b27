"""The production integrators against a 1 fs single-step reference, from one equilibrated liquid state.

Three ``pinnff md`` runs, side by side (one CPU thread each), from the same box
(``--box``: a frame of an equilibrated run, with ``mol_id``, cell and the
``build-box`` frame keys), the same potential (``--model``, ``--valence``) and
the ``md`` section's defaults otherwise: no minimization and no anneal, 1 ps of Langevin,
``--production-ps`` of Bussi production at 298.15 K, then

- ``reference_1fs``: velocity Verlet, every force every 1 fs, hydrogen masses 1.008 amu;
- ``respa_0.5_3``: two-level r-RESPA 0.5 fs (valence) / 3 fs, hydrogen mass 3.024 amu;
- ``respa1_0.5_3_6``: the default, RESPA1 0.5 / 3 (short range) / 6 fs, hydrogen mass 3.024 amu.

Static averages do not depend on the masses, so an integrator that samples the
right ensemble gives the reference's mean potential energy and temperature
(errors from the statistical inefficiency of each series) and its O-O and C-C
intermolecular RDFs (compared with the reference's two halves, the noise
floor); the centre-of-mass MSD at short lags compares the dynamics (hydrogen
mass repartitioning slows them slightly by itself). Prints one line per run and
writes the figures as JSON (``--json``).

    python benchmarks/integrator_check.py --box state.extxyz --model model.pt --valence valence.pt \\
        --out-dir runs/ --json integrators.json [--production-ps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

VARIANTS = {
    "reference_1fs": {"inner_step_fs": 1.0, "middle_step_fs": None, "outer_step_fs": 1.0, "hydrogen_mass_amu": 1.008},
    "respa_0.5_3": {"inner_step_fs": 0.5, "middle_step_fs": None, "outer_step_fs": 3.0, "hydrogen_mass_amu": 3.024},
    "respa1_0.5_3_6": {"inner_step_fs": 0.5, "middle_step_fs": 3.0, "outer_step_fs": 6.0, "hydrogen_mass_amu": 3.024},
}
RDF_MAX_A, RDF_BINS = 9.5, 95
MSD_LAGS_PS = (0.3, 1.0, 2.0, 5.0)


def run_variants(args) -> None:
    """The three ``pinnff md`` runs at once, one thread each; a finished run is not repeated."""
    from pinnff.config import section

    md = section(None, "md")
    md.update(minimize_steps=0, anneal_ps=0.0, equilibration_ps=1.0, equilibration_max_ps=1.0, npt_ps=0.0,
              production_ps=args.production_ps, production="bussi", box_seed=args.seed)
    jobs = []
    for name, steps in VARIANTS.items():
        folder = Path(args.out_dir) / name
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pinnff.cli", "md", "--model", args.model, "--box", args.box,
                   "--settings", json.dumps(dict(md, **steps)), "--threads", "1", "--out-dir", str(folder)]
        if args.valence:
            command += ["--valence", args.valence]
        with open(folder / "md.log", "w") as log:  # the child keeps its own handle
            jobs.append((name, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                env=dict(os.environ, OMP_NUM_THREADS="1"))))
    for name, job in jobs:
        if job.wait():
            raise SystemExit(f"integrator_check: the {name} run failed (see {Path(args.out_dir) / name / 'md.log'})")


def rms_difference(a, b) -> float:
    """Root-mean-square difference of two equally long curves."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def figures(folder: Path) -> dict:
    """Production averages, RDFs and COM MSD of one run folder."""
    import pandas as pd
    from ase.io import read

    from pinnff.analysis.msd import msd_fft
    from pinnff.analysis.rdf import intermolecular_rdf
    from pinnff.analysis.trajectory import read_com_trajectory
    from pinnff.config import section
    from pinnff.md.commands import production_averages

    thermo = pd.read_csv(folder / "thermo.csv")
    production = thermo[thermo["phase"] == "production"]
    out = {"production_ps": float(production["time_fs"].iloc[-1] - production["time_fs"].iloc[0]) / 1000}
    averages = production_averages(folder / "thermo.csv", section(None, "md")["temperature_K"])
    if averages is None:
        raise SystemExit(f"integrator_check: {folder} holds fewer than 20 production samples; lengthen --production-ps")
    for column in ("epot_kcal", "temperature_K"):
        out[column] = [averages[column], averages[f"{column}_err"]]
    frames = read(folder / "production.extxyz", index=":")
    out["frames"] = len(frames)
    for a, b in (("O", "O"), ("C", "C")):
        out[f"rdf_{a}{b}"] = intermolecular_rdf(frames, a, b, RDF_MAX_A, RDF_BINS)[1].tolist()
        half = len(frames) // 2
        out[f"rdf_{a}{b}_halves_rms"] = rms_difference(intermolecular_rdf(frames[:half], a, b, RDF_MAX_A, RDF_BINS)[1],
                                                       intermolecular_rdf(frames[half:], a, b, RDF_MAX_A, RDF_BINS)[1])
    trajectory = read_com_trajectory(folder / "production.extxyz")
    msd = msd_fft(trajectory.com).mean(axis=1)
    lags = np.arange(len(msd)) * trajectory.dt_fs / 1000
    out["msd_A2"] = {str(lag): float(np.interp(lag, lags, msd)) for lag in MSD_LAGS_PS if lag <= lags[-1]}
    out["ns_per_day"] = json.loads((folder / "summary.json").read_text()).get("ns_per_day")
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", required=True, help="equilibrated liquid frame (extxyz with mol_id and cell)")
    parser.add_argument("--model", required=True, help="trained pinn/physics checkpoint, or 'prior'")
    parser.add_argument("--valence", help="refitted valence parameters (pinnff fit-intramolecular)")
    parser.add_argument("--out-dir", required=True, help="folder of the three runs")
    parser.add_argument("--production-ps", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=77, help="velocities (md.box_seed)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    run_variants(args)
    result = {name: figures(Path(args.out_dir) / name) for name in VARIANTS}
    reference = result["reference_1fs"]
    for name, row in result.items():
        compared = ""
        if row is not reference:
            for pair in ("OO", "CC"):
                row[f"rdf_{pair}_rms_to_reference"] = rms_difference(row[f"rdf_{pair}"], reference[f"rdf_{pair}"])
            compared = (f"to the reference O-O {row['rdf_OO_rms_to_reference']:.3f} "
                        f"C-C {row['rdf_CC_rms_to_reference']:.3f}, ")
        print(f"{name}: {row['production_ps']:.1f} ps, E_pot {row['epot_kcal'][0]:.1f} +- {row['epot_kcal'][1]:.1f} "
              f"kcal/mol, T {row['temperature_K'][0]:.1f} +- {row['temperature_K'][1]:.1f} K, RMS g(r) difference "
              f"{compared}between its own halves O-O {row['rdf_OO_halves_rms']:.3f} "
              f"C-C {row['rdf_CC_halves_rms']:.3f}, COM MSD "
              + ", ".join(f"{lag} ps {value:.2f}" for lag, value in row["msd_A2"].items())
              + f" A^2, {row['ns_per_day']:.2f} ns/day", flush=True)
    if args.json:
        from pinnff.io.atomic import write_json

        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
