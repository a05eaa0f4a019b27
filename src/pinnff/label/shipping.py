"""Shipping finished labels into resources/, each folder with a manifest.

A manifest (``manifest.json`` beside the chunk files) records the level of
theory, the settings, the software versions, how the geometries were made,
and for each chunk file its sha256, sample count, failures, engines and wall
times. Tests re-hash every shipped file against its manifest.
"""

from __future__ import annotations

import datetime
import json
import platform
import shutil
from pathlib import Path

import numpy as np

from pinnff.io.atomic import write_json
from pinnff.io.digest import file_sha256
from pinnff.io.structures import read_structures
from pinnff.label.backends import level_tag

MANIFEST = "manifest.json"


def software() -> dict:
    """Versions of the software that made and shipped the labels."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in ("pinnff", "pyscf", "pyscf-dispersion", "tblite", "numpy", "ase", "rdkit", "packmol", "torch"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def chunk_record(path: Path) -> dict:
    """Manifest entry of one labelled chunk file."""
    frames = read_structures(path)
    walls = [a.info.get("label_wall_s", 0.0) for a in frames]
    engines = {a.info.get("label_engine", "?") for a in frames}
    engines |= {a.info["cp_engine"] for a in frames if "cp_engine" in a.info}  # counterpoise levels
    return {
        "file": path.name,
        "sha256": file_sha256(path),
        "samples": len(frames),
        "failed": sum(a.info["label_status"] == "failed" for a in frames),
        "engines": sorted(engines),
        "wall_s_total": round(float(np.sum(walls)), 1),
        "wall_s_per_sample_median": round(float(np.median(walls)), 1) if walls else 0.0,
    }


def ship_chunks(chunks: list[Path], destination: Path, label_settings: dict, protocol: str) -> dict:
    """Copy ``chunks`` into ``destination`` and rewrite its manifest; returns the manifest."""
    destination.mkdir(parents=True, exist_ok=True)
    manifest_path = destination / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"chunks": {}}
    level = level_tag(label_settings)
    if manifest.get("level", level) != level:
        raise ValueError(f"{destination}: holds level {manifest['level']}, not {level}")
    for chunk in chunks:
        frames = read_structures(chunk)
        if any(a.info.get("level") != level for a in frames):
            raise ValueError(f"{chunk}: not labelled at {level}")
        target = destination / chunk.name
        shutil.copyfile(chunk, target)
        manifest["chunks"][chunk.name] = chunk_record(target)
    backend = label_settings["backend"]
    # the device (CPU or GPU) is not part of the level: each chunk's record names its engines
    level_settings = {k: v for k, v in label_settings[backend].items() if k != "device"}
    manifest.update(
        level=level,
        settings={"backend": backend, backend: level_settings, "monomers_from_pool": label_settings["monomers_from_pool"],
                  "counterpoise": label_settings.get("counterpoise", False)},
        software=software(),
        geometry_protocol=protocol,
        updated=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        units={"energy_kcal": "kcal/mol", "e_int_kcal": "kcal/mol", "forces_kcal_A": "kcal/mol/Angstrom",
               "positions": "Angstrom", "label_wall_s": "s"},
    )
    write_json(manifest_path, manifest)
    write_level_summary(destination.parent)
    return manifest


def write_level_summary(level_dir: Path) -> None:
    """``summary.csv``/``summary.md`` of every shipped set of one level: counts, failures, E_int ranges."""
    from pinnff.curate.summary import summarize, write_summary

    sets = {folder.name: [a for path in sorted(folder.glob("*.extxyz")) for a in read_structures(path)]
            for folder in sorted(p for p in level_dir.iterdir() if (p / MANIFEST).is_file())}
    write_summary(summarize(sets), level_dir / "summary.csv", level_dir / "summary.md")
