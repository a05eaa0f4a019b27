"""``pinnff build-box`` and ``pinnff md``: the liquid stage.

- ``build-box``: N pool conformers packed at a density (packmol), rigid-body
  MMFF94 relaxation; a periodic extxyz with per-atom ``mol_id``.
- ``md``: energy minimization with the MD potential (FIRE), Langevin
  equilibration, production (``md`` config section), r-RESPA dynamics in
  torch (:mod:`pinnff.md.driver`); resumable; writes
  ``production.extxyz``, ``thermo.csv`` and, when finished, ``summary.json``
  (steps, wall time, ns/day, the production's mean temperature and potential
  energy with their errors).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pinnff.config import add_settings_argument, section
from pinnff.errors import InputError

log = logging.getLogger(__name__)


def _build_box(args) -> None:
    from pinnff.curate.frames import pool_positions
    from pinnff.io.structures import read_structures, write_structures
    from pinnff.md.box import liquid_box

    md = section(args.settings, "md")
    molecule = section(args.molecule, "molecule")
    pool = pool_positions(read_structures(args.pool))
    atoms = liquid_box(molecule["smiles"], pool, md["n_molecules"], molecule["density_g_cm3"], md["box_seed"],
                       md["packmol_tolerance_A"], md["relax_iterations"])
    atoms.info.update(sample_id=f"box-{md['n_molecules']}-seed{md['box_seed']}", protocol="liquid", split="md",
                      n_molecules=md["n_molecules"], density_g_cm3=molecule["density_g_cm3"], smiles=molecule["smiles"])
    write_structures(args.out, [atoms])
    log.info("%d molecules in a %.2f A box -> %s", md["n_molecules"], atoms.cell[0, 0], args.out)


def md_settings(md: dict):
    """:class:`pinnff.md.driver.MDSettings` of the ``md`` config section (times in fs -> outer steps)."""
    from pinnff.md.driver import MDSettings

    inner, middle, outer = md["inner_step_fs"], md["middle_step_fs"], md["outer_step_fs"]
    if middle is None:  # two levels: the valence forces inside, everything else outside
        inner_steps, middle_steps = _whole_multiple(outer, inner, "outer_step_fs", "inner_step_fs"), 1
    else:
        inner_steps = _whole_multiple(middle, inner, "middle_step_fs", "inner_step_fs")
        middle_steps = _whole_multiple(outer, middle, "outer_step_fs", "middle_step_fs")
    sample = max(1, round(md["sample_every_fs"] / outer))
    checkpoint = max(sample, round(md["checkpoint_every_fs"] / outer / sample) * sample)
    return MDSettings(inner_step_fs=inner, inner_steps=inner_steps, middle_steps=middle_steps,
                      hydrogen_mass_amu=md["hydrogen_mass_amu"],
                      temperature_K=md["temperature_K"],
                      anneal_steps=round(md["anneal_ps"] * 1000 / outer),
                      anneal_temperature_K=md["anneal_temperature_K"],
                      equilibration_steps=round(md["equilibration_ps"] * 1000 / outer),
                      equilibration_max_steps=round(max(md["equilibration_max_ps"], md["equilibration_ps"]) * 1000
                                                    / outer),
                      npt_steps=round(md["npt_ps"] * 1000 / outer),
                      production_steps=round(md["production_ps"] * 1000 / outer),
                      equilibration_friction_per_fs=md["equilibration_friction_per_fs"], production=md["production"],
                      bussi_tau_fs=md["bussi_tau_fs"], production_friction_per_fs=md["production_friction_per_fs"],
                      sample_every=sample, checkpoint_every=checkpoint, seed=md["box_seed"],
                      max_temperature_factor=md["max_temperature_factor"], max_force_kcal_A=md["max_force_kcal_A"],
                      max_drift_kcal_per_atom=md["max_drift_kcal_per_atom"])


def short_range(md: dict, settings) -> tuple[float, float] | None:
    """(cutoff, switch width) A of the middle step's short-range forces from the ``md`` section, None
    when its :class:`pinnff.md.driver.MDSettings` ``settings`` have no middle level."""
    if settings.middle_steps == 1:
        return None
    return md["short_range_cutoff_A"], md["short_range_switch_A"]


def _whole_multiple(long: float, short: float, long_key: str, short_key: str) -> int:
    """How many ``short`` steps make one ``long`` step (an InputError naming both keys if not whole)."""
    count = round(long / short)
    if count < 1 or abs(count * short - long) > 1e-9 * long:
        raise InputError(f"config: md.{long_key} {long} is not a whole multiple of md.{short_key} {short}")
    return count


def _barostat_hook(md: dict, atoms, settings):
    """The constant-pressure stage's hook (:mod:`pinnff.md.npt`), None when ``md.npt_ps`` is 0."""
    from pinnff.md.barostat import MonteCarloBarostat
    from pinnff.md.npt import BarostatHook

    if not settings.npt_steps:
        return None
    every = max(1, round(md["barostat_every_fs"] / settings.outer_step_fs))
    barostat = MonteCarloBarostat(atoms.arrays["mol_id"], atoms.get_masses(), pressure_atm=md["pressure_atm"],
                                  temperature_K=md["temperature_K"], seed=md["box_seed"] + 7)
    return BarostatHook(barostat, every, md["production_density"], atoms.get_volume())


def _minimize(atoms, steps: int, fmax_kcal_A: float, out_dir: Path) -> None:
    from ase.optimize import FIRE

    from pinnff.io.structures import write_structures
    from pinnff.units import EV_TO_KCAL

    if steps:
        FIRE(atoms, logfile=str(out_dir / "minimize.log")).run(fmax=fmax_kcal_A / EV_TO_KCAL, steps=steps)
    minimized = atoms.copy()
    minimized.info["epot_kcal"] = atoms.get_potential_energy() * EV_TO_KCAL
    write_structures(out_dir / "minimized.extxyz", [minimized])


def _md(args) -> None:
    import numpy as np
    import torch

    from pinnff.io.atomic import write_json
    from pinnff.io.structures import read_structures
    from pinnff.md.calculator import PotentialCalculator
    from pinnff.md.driver import BlowUp, MDRun
    from pinnff.md.potential import load_liquid_potential
    from pinnff.physics.kernels import compile_kernels
    from pinnff.physics.settings import dtype as physics_dtype

    md, physics = section(args.settings, "md"), section(args.physics, "physics")
    compile_kernels(physics["compile_kernels"])
    if args.threads:
        torch.set_num_threads(args.threads)
    (atoms,) = read_structures(args.box)
    smiles = atoms.info.get("smiles", args.smiles)
    n_molecules = int(np.max(atoms.arrays["mol_id"])) + 1
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    dtype = physics_dtype(physics)
    settings = md_settings(md)
    potential = load_liquid_potential(args.model, n_molecules, smiles, physics, args.valence,
                                      short_range(md, settings))
    barostat = _barostat_hook(md, atoms, settings)
    run = MDRun(atoms, potential.to(device), settings, out, device=device, dtype=dtype,
                hooks=(barostat,) if barostat else ())
    _start_fresh_if_inputs_changed(run, out, _fingerprint(args, md, physics))
    if not run.checkpoint.exists():  # FIRE through ASE; the dynamics then start from the minimized positions
        atoms.calc = PotentialCalculator(potential, dtype=dtype, device=device)
        _minimize(atoms, md["minimize_steps"], md["minimize_fmax_kcal_A"], out)
        atoms.calc = None
    start, first = time.perf_counter(), run.completed_steps()
    try:
        run.run()
    except BlowUp as exc:
        raise InputError(f"{args.out_dir}: MD stopped: {exc} (last good frame kept in {run.trajectory})") from None
    wall = time.perf_counter() - start
    steps = run.completed_steps() - first
    ns_per_day = steps * settings.outer_step_fs * 1e-6 / (wall / 86400.0) if steps else float("nan")
    write_json(out / "summary.json", {
        "model": args.model, "valence": args.valence or "MMFF94", "potential": potential.name,
        "n_molecules": n_molecules, "n_atoms": len(atoms),
        "box_A": atoms.cell.lengths().tolist(), "device": device, "dtype": str(dtype),
        "inner_step_fs": settings.inner_step_fs, "outer_step_fs": settings.outer_step_fs,
        "middle_step_fs": settings.middle_step_fs if settings.middle_steps > 1 else None,
        "hydrogen_mass_amu": settings.hydrogen_mass_amu, "equilibration_steps": settings.equilibration_steps,
        "production_steps": settings.production_steps, "production": settings.production,
        "steps_this_call": steps, "wall_s_this_call": round(wall, 1), "ns_per_day": ns_per_day,
        "neighbor_rebuilds_per_ps": run.rebuilds / (steps * settings.outer_step_fs / 1000.0) if steps else None,
        "equilibration_gate": run.gates.get("equilibration", []),
        "anneal_steps": settings.anneal_steps, "anneal_temperature_K": settings.anneal_temperature_K,
        "equilibration_steps_run": run.phase_steps(next(p for p in run.phases if p.name == "equilibration")),
        "npt": barostat.summary(run.mass_g) if barostat else None,
        "production_averages": production_averages(run.thermo, settings.temperature_K),
        "trajectory": str(run.trajectory), "thermo": str(run.thermo), "threads": torch.get_num_threads()})
    log.info("%s: %d outer steps in %.0f s (%.3f ns/day) -> %s", args.model, steps, wall, ns_per_day, out)


def production_averages(thermo: Path, target_K: float) -> dict | None:
    """Mean kinetic temperature (K) and potential energy (kcal/mol) of the production samples of a
    ``thermo.csv``, each with its standard error from the statistical inefficiency
    (:func:`pinnff.md.stationarity.correlated_mean`), and the temperature's distance from
    ``target_K`` in those errors; None with fewer than 20 production samples (logged)."""
    import pandas as pd

    from pinnff.md.stationarity import correlated_mean

    rows = pd.read_csv(thermo)
    rows = rows[rows["phase"] == "production"]
    if len(rows) < 20:
        log.warning("production averages: %d production samples, fewer than 20: none reported", len(rows))
        return None
    averages = {"samples": len(rows), "target_K": target_K}
    for column in ("temperature_K", "epot_kcal"):
        mean, error, g = correlated_mean(rows[column].to_numpy())
        averages.update({column: mean, f"{column}_err": error, f"{column}_statistical_inefficiency": g})
    averages["temperature_off_target_in_errors"] = (averages["temperature_K"] - target_K) / averages["temperature_K_err"]
    log.info("production: T %.2f +- %.2f K (target %.2f K, %.1f standard errors off; statistical inefficiency %.1f "
             "of %d samples), E_pot %.2f +- %.2f kcal/mol", averages["temperature_K"], averages["temperature_K_err"],
             target_K, averages["temperature_off_target_in_errors"], averages["temperature_K_statistical_inefficiency"],
             len(rows), averages["epot_kcal"], averages["epot_kcal_err"])
    return averages


def _fingerprint(args, md: dict, physics: dict) -> str:
    """sha256 of everything that defines an MD run: model, box, valence files and both config sections."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps([md, physics], sort_keys=True).encode())
    for path in (args.model, args.box, args.valence):
        digest.update(Path(path).read_bytes() if path and Path(path).is_file() else str(path).encode())
    return digest.hexdigest()


def _start_fresh_if_inputs_changed(run, out: Path, fingerprint: str) -> None:
    """A checkpoint made from other inputs is never resumed: its run files are removed first."""
    from pinnff.io.atomic import atomic_open

    stamp = out / "inputs.sha256"
    recorded = stamp.read_text().strip() if stamp.exists() else None
    if recorded == fingerprint:
        return
    if recorded is not None:
        log.warning("%s: inputs changed since the checkpoint; starting a fresh run", out)
        for path in (run.checkpoint, run.trajectory, run.thermo, out / "summary.json"):
            path.unlink(missing_ok=True)
    with atomic_open(stamp, "w") as handle:
        handle.write(fingerprint + "\n")


def add_parser(subparsers) -> None:
    """Register the liquid-stage subcommands."""
    p = subparsers.add_parser("build-box", help="pack N pool conformers into a periodic liquid box")
    p.add_argument("--pool", required=True, help="conformer pool (curated extxyz)")
    p.add_argument("--molecule", metavar="JSON|FILE", help="the 'molecule' config section (SMILES, density)")
    add_settings_argument(p, "md")
    p.add_argument("--out", required=True, help="box, extended XYZ")
    p.set_defaults(func=_build_box)

    p = subparsers.add_parser("md", help="minimize, equilibrate and run production MD (resumable)")
    p.add_argument("--model", required=True, help="trained pinn/physics checkpoint, or 'prior' (classical force field)")
    p.add_argument("--box", required=True, help="periodic box from build-box")
    p.add_argument("--valence", help="refitted valence parameters (pinnff fit-intramolecular); default MMFF94")
    p.add_argument("--smiles", default="COCCOCCOC", help="molecule, when the box file does not name it")
    p.add_argument("--physics", metavar="JSON|FILE", help="the 'physics' config section (PME, cutoffs, solver)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    add_settings_argument(p, "md")
    p.add_argument("--out-dir", required=True, help="run folder: trajectory, thermo log, checkpoint, summary.json")
    p.set_defaults(func=_md)
