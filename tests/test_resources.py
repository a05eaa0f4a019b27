"""Every shipped label file matches its manifest: hash, sample count, level."""

import json
from pathlib import Path

import pytest

from pinnff.io.structures import read_structures
from pinnff.label.shipping import sha256

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "resources/labels").glob("*/*/manifest.json"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_labels_match_their_manifest(manifest):
    record = json.loads(manifest.read_text())
    shipped = sorted(p.name for p in manifest.parent.glob("*.extxyz"))
    assert shipped == sorted(record["chunks"]), "files and manifest disagree"
    for name, chunk in record["chunks"].items():
        path = manifest.parent / name
        assert sha256(path) == chunk["sha256"], f"{path} changed since it was shipped"
        frames = read_structures(path)
        assert len(frames) == chunk["samples"]
        assert sum(f.info["label_status"] == "failed" for f in frames) == chunk["failed"]
        assert {f.info["level"] for f in frames} == {record["level"]}
        assert not record["level"].startswith("xtb"), "xTB labels are never shipped as reference data"


def test_shipped_label_folders_all_have_manifests():
    folders = {p.parent for p in (ROOT / "resources/labels").glob("*/*/*.extxyz")}
    assert folders == {m.parent for m in MANIFESTS}
