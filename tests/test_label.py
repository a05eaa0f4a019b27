"""Labelling: interaction energies, pool reuse, resumability, shipped labels, failures, DFT forces."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from label_helpers import PYSCF_SETTINGS, WATER_DIMER_A, WATER_DIMER_SYMBOLS, CountingBackend
from pinnff.curate.frames import cluster_frame
from pinnff.io.structures import read_structures, write_structures
from pinnff.label.backends import Label, LabelFailure, XTBBackend, ghosted
from pinnff.label.runner import ChunkLabeller
from pinnff.label.store import LabelStore
from pinnff.geometry import random_rotation

SMILES = "COCCOCCOC"  # DEGDME, the molecule of the study

XTB = {"method": "GFN2-xTB", "accuracy": 1.0}
LEVEL = "xtb/gfn2-xtb"


@pytest.fixture(scope="module")
def dimers(pool):
    rng = np.random.default_rng(5)
    frames = []
    for k in range(6):
        ids = [k % len(pool), (k + 1) % len(pool)]
        a = pool[ids[0]] @ random_rotation(rng).T
        b = pool[ids[1]] @ random_rotation(rng).T + np.array([0.0, 0.0, 6.5 + 0.3 * k])
        frames.append(cluster_frame(SMILES, [a, b], f"d-{k}", "random", "train", ids))
    return frames


@pytest.fixture(scope="module")
def labelled_pool(pool_frames, tmp_path_factory):
    store = LabelStore(tmp_path_factory.mktemp("pool-cache"))
    labeller = ChunkLabeller(XTBBackend(XTB), store, LEVEL)
    return labeller.label_all(pool_frames, forces=False)[0]


def test_interaction_energy_is_cluster_minus_monomers(dimers, tmp_path):
    backend = XTBBackend(XTB)
    labelled = ChunkLabeller(backend, LabelStore(tmp_path), LEVEL, monomers_from_pool=False).label(dimers[0], False)
    mol_id = dimers[0].arrays["mol_id"]
    symbols = dimers[0].get_chemical_symbols()
    whole = backend.compute(symbols, dimers[0].positions, False).energy_kcal
    parts = [backend.compute(symbols[:23], dimers[0].positions[mol_id == m], False).energy_kcal for m in (0, 1)]
    assert labelled.info["e_int_kcal"] == pytest.approx(whole - sum(parts), abs=1e-6)
    assert labelled.info["level"] == LEVEL and labelled.info["label_status"] == "ok"


def test_pool_monomer_energies_equal_in_place_ones(dimers, labelled_pool, tmp_path):
    """xTB is exactly rotation invariant, so reusing pool energies must change nothing."""
    from_pool = ChunkLabeller(XTBBackend(XTB), LabelStore(tmp_path / "a"), LEVEL, labelled_pool, True)
    in_place = ChunkLabeller(XTBBackend(XTB), LabelStore(tmp_path / "b"), LEVEL, labelled_pool, False)
    for atoms in dimers[:3]:
        assert from_pool.label(atoms, False).info["e_int_kcal"] == pytest.approx(
            in_place.label(atoms, False).info["e_int_kcal"], abs=1e-5)
    assert len(list((tmp_path / "a").iterdir())) == 3  # clusters only: monomers came from the pool
    assert len(list((tmp_path / "b").iterdir())) == 3 + 6


def test_shipped_labels_are_never_recomputed(dimers, labelled_pool, tmp_path):
    first = ChunkLabeller(XTBBackend(XTB), LabelStore(tmp_path / "a"), LEVEL, labelled_pool)
    shipped, _ = first.label_all(dimers, False)
    store = LabelStore(tmp_path / "b")
    assert store.add_shipped(shipped, LEVEL) == len(dimers)
    counting = CountingBackend(XTBBackend(XTB))
    again, missing = ChunkLabeller(counting, store, LEVEL, labelled_pool).label_all(dimers, False)
    assert counting.calls == 0 and missing == 0
    assert [a.info["e_int_kcal"] for a in again] == [a.info["e_int_kcal"] for a in shipped]


def test_missing_labels_are_left_out_when_computing_is_off(dimers, labelled_pool, tmp_path):
    labeller = ChunkLabeller(None, LabelStore(tmp_path), LEVEL, labelled_pool, compute_missing=False)
    labelled, missing = labeller.label_all(dimers, False)
    assert labelled == [] and missing == len(dimers)


class FailingBackend:
    engine, level = "failing-1", LEVEL

    def compute(self, symbols, positions, forces):
        if len(symbols) > 23:
            raise LabelFailure("SCF did not converge")
        return Label(-1.0, None, 0.0)


def test_failures_are_recorded_then_excluded_by_split(dimers, tmp_path):
    from pinnff.split import split_sets

    labelled, _ = ChunkLabeller(FailingBackend(), LabelStore(tmp_path), LEVEL).label_all(dimers[:2], False)
    assert [a.info["label_status"] for a in labelled] == ["failed", "failed"]
    assert split_sets({"x": labelled})["x"]["train"] == []
    # the failure is cached like a result: not retried on resume
    assert len(list(tmp_path.iterdir())) == 2


def _label_command(structures, pool, cache, out):
    return [sys.executable, "-m", "pinnff.cli", "label", "--structures", str(structures), "--pool", str(pool),
            "--cache", str(cache), "--out", str(out), "--settings", '{"backend": "xtb", "compute_missing": true}']


def test_killed_labelling_resumes_to_the_same_result(dimers, labelled_pool, tmp_path):
    structures, pool = tmp_path / "dimers.extxyz", tmp_path / "pool.extxyz"
    write_structures(structures, dimers)
    write_structures(pool, labelled_pool)
    cache = tmp_path / "cache"
    out = tmp_path / "resumed.extxyz"
    process = subprocess.Popen(_label_command(structures, pool, cache, out), stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not cache.is_dir() or len(list(cache.glob("*.json"))) < 2):
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.json")}
    assert 2 <= len(done) < len(dimers) and not out.exists()
    assert not list(cache.glob(".*tmp"))  # no half-written result survives

    subprocess.run(_label_command(structures, pool, cache, out), check=True, stderr=subprocess.DEVNULL)
    for name, mtime in done.items():  # finished samples were not recomputed
        assert (cache / name).stat().st_mtime_ns == mtime
    fresh = tmp_path / "fresh.extxyz"
    subprocess.run(_label_command(structures, pool, tmp_path / "cache2", fresh), check=True, stderr=subprocess.DEVNULL)
    resumed, uninterrupted = read_structures(out), read_structures(fresh)
    assert len(resumed) == len(dimers)
    for a, b in zip(resumed, uninterrupted):
        assert a.info["sample_id"] == b.info["sample_id"]
        assert a.info["e_int_kcal"] == b.info["e_int_kcal"]
        np.testing.assert_array_equal(a.info["e_monomers_kcal"], b.info["e_monomers_kcal"])


def test_pyscf_forces_are_minus_the_energy_gradient():
    from pinnff.label.backends import PySCFBackend

    backend = PySCFBackend(PYSCF_SETTINGS, threads=2)
    assert backend.level == "dft/b3lyp-d3bj/def2-svp/df/grid3"
    symbols = ["O", "H", "H"]
    positions = np.array([[0.0, 0.0, 0.1], [0.77, 0.0, -0.45], [-0.74, 0.05, -0.5]])
    label = backend.compute(symbols, positions, forces=True)
    h = 1e-3
    for atom, axis in [(0, 2), (1, 0)]:
        plus, minus = positions.copy(), positions.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        numeric = -(backend.compute(symbols, plus, False).energy_kcal - backend.compute(symbols, minus, False).energy_kcal) / (2 * h)
        assert label.forces_kcal_A[atom, axis] == pytest.approx(numeric, abs=0.05)
    np.testing.assert_allclose(label.forces_kcal_A.sum(axis=0), 0.0, atol=0.05)


def test_gpu4pyscf_and_pyscf_agree_on_interaction_energy_and_forces():
    """Runs where a CUDA GPU and gpu4pyscf exist (the labelling machines), skipped elsewhere."""
    cupy = pytest.importorskip("cupy")
    pytest.importorskip("gpu4pyscf")
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("no CUDA device")
    from pinnff.label.backends import PySCFBackend

    symbols, dimer = WATER_DIMER_SYMBOLS, WATER_DIMER_A
    results = {}
    for device in ("cpu", "gpu"):
        backend = PySCFBackend(dict(PYSCF_SETTINGS, grid_level=2, device=device), threads=2)
        total = backend.compute(symbols, dimer, forces=True)
        monomers = [backend.compute(symbols[:3], dimer[:3], False), backend.compute(symbols[3:], dimer[3:], False)]
        # counterpoise: the first water in the dimer's basis (ghost atoms need the element's grid radii)
        ghost = backend.compute(ghosted(symbols, np.arange(6) < 3), dimer, False)
        results[device] = (total.energy_kcal - sum(m.energy_kcal for m in monomers), total.forces_kcal_A,
                           monomers[0].energy_kcal - ghost.energy_kcal)
    assert results["gpu"][0] == pytest.approx(results["cpu"][0], abs=0.01)
    assert -10.0 < results["cpu"][0] < -3.0  # a hydrogen-bonded water dimer (no counterpoise correction)
    np.testing.assert_allclose(results["gpu"][1], results["cpu"][1], atol=0.01)
    assert results["gpu"][2] == pytest.approx(results["cpu"][2], abs=0.01) and results["cpu"][2] > 0.3


def test_shipped_labels_survive_floating_point_noise_in_regenerated_geometries(dimers, labelled_pool, tmp_path):
    shipped, _ = ChunkLabeller(XTBBackend(XTB), LabelStore(tmp_path / "a"), LEVEL, labelled_pool).label_all(dimers, False)
    store = LabelStore(tmp_path / "b")
    store.add_shipped(shipped, LEVEL)
    regenerated = [a.copy() for a in dimers]
    for atoms in regenerated:
        atoms.positions += np.random.default_rng(0).uniform(-2e-6, 2e-6, atoms.positions.shape)
    far = dimers[0].copy()
    far.positions[:23] += 0.01  # a genuinely different geometry under the same id is not matched
    counting = CountingBackend(XTBBackend(XTB))
    labeller = ChunkLabeller(counting, store, LEVEL, labelled_pool)
    again, _ = labeller.label_all(regenerated, False)
    assert counting.calls == 0
    assert [a.info["e_int_kcal"] for a in again] == [a.info["e_int_kcal"] for a in shipped]
    labeller.label(far, False)
    assert counting.calls == 1
