"""Every shipped label file matches its manifest: hash, sample count, level."""

import json
from pathlib import Path

import pytest

from pinnff.io.structures import read_structures
from pinnff.io.digest import file_sha256

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "resources/labels").glob("*/*/manifest.json"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_labels_match_their_manifest(manifest):
    record = json.loads(manifest.read_text())
    shipped = sorted(p.name for p in manifest.parent.glob("*.extxyz"))
    assert shipped == sorted(record["chunks"]), "files and manifest disagree"
    for name, chunk in record["chunks"].items():
        path = manifest.parent / name
        assert file_sha256(path) == chunk["sha256"], f"{path} changed since it was shipped"
        frames = read_structures(path)
        assert len(frames) == chunk["samples"]
        assert sum(f.info["label_status"] == "failed" for f in frames) == chunk["failed"]
        assert {f.info["level"] for f in frames} == {record["level"]}
        assert not record["level"].startswith("xtb"), "xTB labels are never shipped as reference data"


def test_shipped_label_folders_all_have_manifests():
    folders = {p.parent for p in (ROOT / "resources/labels").glob("*/*/*.extxyz")}
    assert folders == {m.parent for m in MANIFESTS}


def test_default_level_ships_every_sample_the_default_config_curates():
    """The issue's dataset: the default config's curated counts, all labelled, monomers with forces."""
    import yaml

    from pinnff.label.backends import level_slug, level_tag

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    folder = ROOT / "resources/labels" / level_slug(level_tag(config["label"]))
    frames = {p.name: [a for c in sorted(p.glob("*.extxyz")) for a in read_structures(c)]
              for p in folder.iterdir() if p.is_dir()}
    dimers = config["dimers"]
    expected = {f"set_{s}": {"train": dimers[f"set_{s}"]["n_train"], "val": dimers[f"set_{s}"]["n_val"],
                             "test": dimers[f"set_{s}"]["n_test"]} for s in "AB"}
    expected |= {name: {"test": dimers[name]["count"]} for name in ("short", "long", "trimers")}
    expected["scans"] = {"test": dimers["scans"]["count"] * dimers["scans"]["n_points"]}
    monomers = config["monomers"]
    expected["monomers"] = {"train": monomers["count"] - monomers["n_val"] - monomers["n_test"],
                            "val": monomers["n_val"], "test": monomers["n_test"]}
    for name, splits in expected.items():
        ok = [a for a in frames[name] if a.info["label_status"] == "ok"]
        assert len({a.info["sample_id"] for a in ok}) == len(ok), name
        counts = {split: sum(a.info["split"] == split for a in ok) for split in splits}
        assert counts == splits, name
    assert all("forces_kcal_A" in a.arrays for a in frames["monomers"])
    assert len(frames["conformers"]) == config["conformers"]["max_count"]
