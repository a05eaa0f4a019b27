"""``pinnff label``, ``pinnff merge-labels`` and ``pinnff ship-labels``."""

from __future__ import annotations

import logging
from pathlib import Path

from pinnff.config import add_settings_argument, section
from pinnff.errors import InputError

log = logging.getLogger(__name__)


def _label(args) -> None:
    from pinnff.io.structures import read_structures, write_structures
    from pinnff.label.backends import level_tag, make_backend
    from pinnff.label.runner import ChunkLabeller
    from pinnff.label.store import LabelStore

    s = section(args.settings, "label")
    if args.threads:
        s["threads"] = args.threads
    level = level_tag(s)
    frames = read_structures(args.structures)
    chunk = frames[args.chunk * args.chunk_size : (args.chunk + 1) * args.chunk_size]
    store = LabelStore(args.cache)
    for folder in args.shipped or []:
        for path in sorted(Path(folder).glob("**/*.extxyz")):
            store.add_shipped(read_structures(path), level)
    log.info("%d shipped labels at level %s", len(store.shipped), level)
    pool = read_structures(args.pool) if args.pool else None
    backend = make_backend(s) if s["compute_missing"] else None
    labeller = ChunkLabeller(backend, store, level, pool, s["monomers_from_pool"], s["compute_missing"])
    labelled, missing = labeller.label_all(chunk, forces=args.forces)
    if missing:
        log.warning("%d of %d samples have no shipped label and label.compute_missing is false: left out",
                    missing, len(chunk))
    write_structures(args.out, labelled)
    failed = sum(a.info["label_status"] == "failed" for a in labelled)
    log.info("chunk %d of %s: %d labelled (%d failed), %d missing; engines %s", args.chunk, args.structures,
             len(labelled), failed, missing, sorted(labeller.engines))


def _merge(args) -> None:
    from pinnff.io.structures import read_structures, write_structures

    frames = [atoms for path in args.chunks for atoms in read_structures(path)]
    ids = [a.info["sample_id"] for a in frames]
    if len(set(ids)) != len(ids):
        raise InputError(f"{args.out}: chunks repeat sample ids")
    write_structures(args.out, frames)
    log.info("merged %d chunks into %s (%d samples)", len(args.chunks), args.out, len(frames))


def _ship(args) -> None:
    from pinnff.label.shipping import ship_chunks

    ship_chunks([Path(p) for p in args.chunks], Path(args.to), section(args.settings, "label"), args.protocol)


def _eda(args) -> None:
    import pandas as pd

    from pinnff.io.atomic import write_json, write_text
    from pinnff.io.structures import read_structures
    from pinnff.label.backends import PySCFBackend, level_tag
    from pinnff.label.eda import FrozenDensity, decompose_frames
    from pinnff.io.digest import file_sha256 as sha256
    from pinnff.label.shipping import software

    s = section(args.settings, "label")
    if s["backend"] != "pyscf":
        raise InputError("the energy decomposition needs label.backend: pyscf")
    frames = [a for path in args.labels for a in read_structures(path)]
    pool = [a for path in args.pool for a in read_structures(path)]
    analysis = FrozenDensity(PySCFBackend(s["pyscf"], threads=args.threads or s["threads"]))
    rows = decompose_frames(frames, pool, analysis, args.cache, tuple(args.splits), args.limit)
    write_text(args.out, pd.DataFrame(rows).to_csv(index=False))
    write_json(args.manifest, {
        "level": level_tag(s), "settings": {k: v for k, v in s["pyscf"].items() if k != "device"},
        "method": "frozen density of the monomers' occupied KS orbitals (Loewdin-orthonormalized union), "
                  "one functional evaluation without dispersion minus the monomers' SCF energies; "
                  "E_disp = D3 of the cluster minus the monomers; E_pol+ct = E_int - E_frz - E_disp",
        "splits": list(args.splits), "limit": args.limit, "samples": len(rows), "labels": {str(p): sha256(p) for p in args.labels},
        "file": {"name": Path(args.out).name, "sha256": sha256(args.out)}, "software": software(),
        "wall_s_per_sample_median": float(pd.DataFrame(rows)["eda_wall_s"].median()) if rows else 0.0,
        "units": {"e_frz_kcal": "kcal/mol", "e_polct_kcal": "kcal/mol", "e_disp_kcal": "kcal/mol",
                  "e_int_kcal": "kcal/mol", "min_contact_A": "Angstrom", "eda_wall_s": "s"}})
    log.info("%d clusters decomposed into %s", len(rows), args.out)


def add_parser(subparsers) -> None:
    """Register the labelling subcommands."""
    p = subparsers.add_parser("label", help="label one chunk of a structure file (resumable)")
    p.add_argument("--structures", required=True, help="curated extended XYZ")
    p.add_argument("--chunk", type=int, default=0, help="chunk index, 0-based")
    p.add_argument("--chunk-size", type=int, default=10**9, help="samples per chunk")
    p.add_argument("--pool", help="labelled conformer pool, for monomer energies")
    p.add_argument("--shipped", nargs="*", help="folders of shipped labelled files, looked up before computing")
    p.add_argument("--cache", required=True, help="folder of per-structure results (resume point)")
    p.add_argument("--forces", action="store_true", help="compute forces too")
    p.add_argument("--threads", type=int, help="threads for the backend (overrides label.threads)")
    add_settings_argument(p, "label")
    p.add_argument("--out", required=True, help="labelled chunk, extended XYZ")
    p.set_defaults(func=_label)

    p = subparsers.add_parser("label-eda", help="decompose labelled DFT interaction energies: frozen density, "
                              "polarization + charge transfer, dispersion (resumable)")
    p.add_argument("--labels", nargs="+", required=True, help="labelled cluster files (shipped chunks)")
    p.add_argument("--pool", nargs="+", required=True, help="labelled conformer pool files")
    p.add_argument("--splits", nargs="+", default=["val", "test"], help="decompose the samples of these splits")
    p.add_argument("--limit", type=int, help="only the first this many samples of those splits (file order)")
    p.add_argument("--cache", required=True, help="folder of per-sample results (resume point)")
    p.add_argument("--threads", type=int, help="threads for PySCF (overrides label.threads)")
    add_settings_argument(p, "label")
    p.add_argument("--out", required=True, help="decomposition table (CSV, kcal/mol)")
    p.add_argument("--manifest", required=True, help="provenance of the table (JSON)")
    p.set_defaults(func=_eda)

    p = subparsers.add_parser("merge-labels", help="concatenate labelled chunks of one set")
    p.add_argument("chunks", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_merge)

    p = subparsers.add_parser("ship-labels", help="copy finished labelled chunks into resources/ with a manifest")
    p.add_argument("chunks", nargs="+", help="labelled chunk files (results/labels/...)")
    p.add_argument("--to", required=True, help="resources folder of this level and set")
    p.add_argument("--protocol", required=True, help="text: how the geometries were made (seed, config section)")
    add_settings_argument(p, "label")
    p.set_defaults(func=_ship)
