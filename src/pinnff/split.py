"""``pinnff split``: labelled sets into train / val / test files, failures excluded.

Roles were fixed at curation (the ``split`` key), so a partially labelled set
keeps the same proportions and a sample never changes role as more labels
arrive. Output: ``OUT/<set>/<role>.extxyz`` for roles train, val and test
(an empty file when a set has no sample in a role) and ``OUT/summary.csv|md``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pinnff.errors import InputError

log = logging.getLogger(__name__)

ROLES = ("train", "val", "test")


def split_sets(sets: dict[str, list]) -> dict[str, dict[str, list]]:
    """``{set: {role: frames}}`` keeping only successfully labelled frames."""
    out = {}
    for name, frames in sets.items():
        good = [a for a in frames if a.info.get("label_status") == "ok"]
        out[name] = {role: [a for a in good if a.info["split"] == role] for role in ROLES}
    return out


def _run(args) -> None:
    from pinnff.curate.summary import summarize, write_summary
    from pinnff.io.structures import read_structures, write_structures

    sets = {}
    for item in args.sets:
        name, sep, path = item.partition("=")
        if not sep or not name:
            raise InputError(f"'{item}': expected NAME=FILE")
        sets[name] = read_structures(path)
    out = Path(args.out_dir)
    for name, roles in split_sets(sets).items():
        for role, frames in roles.items():
            write_structures(out / name / f"{role}.extxyz", frames)
    table = summarize(sets)
    write_summary(table, out / "summary.csv", out / "summary.md")
    log.info("splits (failed samples excluded):\n%s", table.to_string(index=False))


def add_parser(subparsers) -> None:
    """Register ``pinnff split``."""
    p = subparsers.add_parser("split", help="write train/val/test files of labelled sets")
    p.add_argument("sets", nargs="+", metavar="NAME=FILE", help="labelled set files")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=_run)
