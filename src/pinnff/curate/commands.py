"""``pinnff conformers``, ``pinnff monomers`` and ``pinnff dimers``: the curation stage."""

from __future__ import annotations

import logging
from pathlib import Path

from pinnff.config import add_settings_argument, section

log = logging.getLogger(__name__)


def _conformers(args) -> None:
    from pinnff.curate.conformers import conformer_pool
    from pinnff.io.structures import write_structures

    s = section(args.settings, "conformers")
    frames = conformer_pool(args.smiles, s["n_embed"], s["seed"], s["rmsd_threshold_A"],
                            s["energy_window_kcal"], s["max_count"])
    write_structures(args.out, frames)
    log.info("wrote %d conformers to %s", len(frames), args.out)


def _monomers(args) -> None:
    from pinnff.curate.conformers import monomer_conformations
    from pinnff.io.structures import write_structures

    s = section(args.settings, "monomers")
    frames = monomer_conformations(args.smiles, s["count"], s["seed"], s["displacement_A"], s["n_val"], s["n_test"])
    write_structures(args.out, frames)
    log.info("wrote %d monomer conformations to %s", len(frames), args.out)


def _dimers(args) -> None:
    from pinnff.curate.dimers import curate_clusters
    from pinnff.curate.summary import summarize, write_summary
    from pinnff.io.structures import read_structures, write_structures

    s = section(args.settings, "dimers")
    pool = read_structures(args.pool)
    if not pool:
        from pinnff.errors import InputError

        raise InputError(f"{args.pool}: the conformer pool is empty")
    sets = curate_clusters(args.smiles, args.density_g_cm3, pool, s)
    out = Path(args.out_dir)
    for name, frames in sets.items():
        write_structures(out / f"{name}.extxyz", frames)
    table = summarize(sets)
    write_summary(table, out / "summary.csv", out / "summary.md")
    log.info("curated sets:\n%s", table.to_string(index=False))


def add_parser(subparsers) -> None:
    """Register the curation subcommands."""
    p = subparsers.add_parser("conformers", help="distinct low-energy monomer conformers (the pool)")
    p.add_argument("--smiles", default="COCCOCCOC")
    add_settings_argument(p, "conformers")
    p.add_argument("--out", required=True, help="output extended XYZ")
    p.set_defaults(func=_conformers)

    p = subparsers.add_parser("monomers", help="displaced monomer conformations for the intramolecular fit")
    p.add_argument("--smiles", default="COCCOCCOC")
    add_settings_argument(p, "monomers")
    p.add_argument("--out", required=True, help="output extended XYZ")
    p.set_defaults(func=_monomers)

    p = subparsers.add_parser("dimers", help="sets A and B, short/long-range dimers, trimers and scans from the pool")
    p.add_argument("--pool", required=True, help="conformer pool (from `pinnff conformers`)")
    p.add_argument("--smiles", default="COCCOCCOC")
    p.add_argument("--density-g-cm3", type=float, default=0.94, help="liquid density for set A boxes")
    add_settings_argument(p, "dimers")
    p.add_argument("--out-dir", required=True, help="folder for <set>.extxyz and summary.csv/.md")
    p.set_defaults(func=_dimers)
