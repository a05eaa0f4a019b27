"""Every shipped energy-decomposition table matches its manifest: hash, sample count, and the
decomposition adds up to the shipped DFT interaction energies."""

import json
from pathlib import Path

import pandas as pd
import pytest

from pinnff.io.structures import read_structures
from pinnff.io.digest import file_sha256 as sha256

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "resources/eda").glob("*/*/manifest.json"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_decompositions_match_manifest_and_labels(manifest):
    record = json.loads(manifest.read_text())
    table = manifest.parent / record["file"]["name"]
    assert sha256(table) == record["file"]["sha256"]
    rows = pd.read_csv(table)
    assert len(rows) == record["samples"]
    for path, digest in record["labels"].items():
        assert sha256(ROOT / path) == digest
    labels = {a.info["sample_id"]: a.info["e_int_kcal"] for path in record["labels"] for a in read_structures(ROOT / path)}
    total = rows["e_frz_kcal"] + rows["e_polct_kcal"] + rows["e_disp_kcal"]
    assert total.tolist() == pytest.approx([labels[s] for s in rows["sample_id"]], abs=1e-6)
