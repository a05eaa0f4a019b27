"""Counterpoise-corrected labels: ghost atoms, agreement with a plain-PySCF Boys-Bernardi calculation, reuse
of shipped energies, and clear refusals."""

import numpy as np
import pytest
from ase import Atoms

from label_helpers import PYSCF_SETTINGS, WATER_DIMER_A, WATER_DIMER_SYMBOLS, CountingBackend
from pinnff.errors import InputError
from pinnff.io.structures import read_structures, write_structures
from pinnff.label.backends import PySCFBackend, ghosted, level_tag
from pinnff.label.runner import ChunkLabeller
from pinnff.label.store import LabelStore
from pinnff.units import HARTREE_TO_KCAL

LEVEL = level_tag({"backend": "pyscf", "pyscf": PYSCF_SETTINGS})
CP_LEVEL = level_tag({"backend": "pyscf", "pyscf": PYSCF_SETTINGS, "counterpoise": True})


def water_dimer() -> Atoms:
    atoms = Atoms(WATER_DIMER_SYMBOLS, WATER_DIMER_A)
    atoms.arrays["mol_id"] = np.array([0, 0, 0, 1, 1, 1])
    atoms.info.update(sample_id="w-0", protocol="random", split="test", n_molecules=2)
    return atoms


def plain_pyscf_kcal(atom_spec: list, dispersion: bool) -> float:
    """Energy (kcal/mol) straight from PySCF; ``X-`` marks ghost atoms (PySCF's own notation)."""
    from pyscf import dft, gto

    mol = gto.M(atom=atom_spec, basis=PYSCF_SETTINGS["basis"], unit="Angstrom", verbose=0)
    mf = dft.RKS(mol, xc=PYSCF_SETTINGS["xc"]).density_fit()
    if dispersion:
        mf.disp = PYSCF_SETTINGS["dispersion"]
    mf.grids.level, mf.conv_tol = PYSCF_SETTINGS["grid_level"], PYSCF_SETTINGS["conv_tol"]
    return mf.kernel() * HARTREE_TO_KCAL


@pytest.fixture(scope="module")
def backend():
    return PySCFBackend(PYSCF_SETTINGS, threads=2)


def test_counterpoise_label_matches_a_plain_pyscf_boys_bernardi_calculation(backend, tmp_path):
    atoms = water_dimer()
    raw = ChunkLabeller(backend, LabelStore(tmp_path / "raw"), LEVEL, monomers_from_pool=False).label(atoms, False)
    cp = ChunkLabeller(backend, LabelStore(tmp_path / "cp"), CP_LEVEL, monomers_from_pool=False).label(atoms, False)
    # Boys-Bernardi: E_int = E_AB - sum_m E_m(AB basis); dispersion depends on the nuclei only, so each
    # ghost-basis monomer gets its own-basis dispersion (with minus without)
    expected = plain_pyscf_kcal(list(zip(WATER_DIMER_SYMBOLS, WATER_DIMER_A)), True)
    for real in (slice(0, 3), slice(3, 6)):
        mask = np.zeros(6, bool)
        mask[real] = True
        spec = [(s if keep else "X-" + s, p) for s, p, keep in zip(WATER_DIMER_SYMBOLS, WATER_DIMER_A, mask)]
        own = list(zip(WATER_DIMER_SYMBOLS[real], WATER_DIMER_A[real]))
        expected -= plain_pyscf_kcal(spec, False) + plain_pyscf_kcal(own, True) - plain_pyscf_kcal(own, False)
    assert cp.info["level"] == CP_LEVEL and cp.info["label_status"] == "ok"
    assert cp.info["e_int_kcal"] == pytest.approx(expected, abs=2e-3)
    assert cp.info["e_int_kcal"] == pytest.approx(raw.info["e_int_kcal"] + cp.info["bsse_kcal"], abs=1e-6)
    assert 1.0 < cp.info["bsse_kcal"] < 5.0  # borrowed functions lower each monomer: a few kcal/mol at def2-SVP


def test_ghost_atoms_far_away_change_nothing(backend):
    """Far ghosts carry no nuclei, electrons or dispersion: the monomer's energy, dispersion included, is kept."""
    far = WATER_DIMER_A.copy()
    far[3:] += [60.0, 0.0, 0.0]
    alone = backend.compute(WATER_DIMER_SYMBOLS[:3], WATER_DIMER_A[:3], False).energy_kcal
    with_ghosts = backend.compute(ghosted(WATER_DIMER_SYMBOLS, np.arange(6) < 3), far, False).energy_kcal
    assert with_ghosts == pytest.approx(alone, abs=1e-5)


def test_counterpoise_reuses_uncorrected_energies_and_its_own_shipped_labels(backend, tmp_path):
    atoms = water_dimer()
    shipped_raw = ChunkLabeller(backend, LabelStore(tmp_path / "a"), LEVEL, monomers_from_pool=False).label(atoms, False)
    store = LabelStore(tmp_path / "b")
    assert store.add_shipped([shipped_raw], CP_LEVEL) == 1
    counting = CountingBackend(backend)
    shipped_cp = ChunkLabeller(counting, store, CP_LEVEL, monomers_from_pool=False).label(atoms, False)
    assert counting.calls == 2  # the two monomers in the dimer's basis; dimer and own-basis monomers reused
    write_structures(tmp_path / "shipped.extxyz", [shipped_cp])
    shipped_cp = read_structures(tmp_path / "shipped.extxyz")[0]  # through the shipped file format
    store = LabelStore(tmp_path / "c")
    store.add_shipped([shipped_cp], CP_LEVEL)
    counting = CountingBackend(backend)
    again = ChunkLabeller(counting, store, CP_LEVEL, monomers_from_pool=False).label(atoms, False)
    assert counting.calls == 0
    assert again.info["e_int_kcal"] == shipped_cp.info["e_int_kcal"]
    assert again.info["cp_engine"] == shipped_cp.info["cp_engine"] == backend.engine
    moved = atoms.copy()
    moved.positions += 3e-6  # regenerated on another machine: matched by sample id
    moved.info["conformer_ids"] = [0, 1]
    pool = [Atoms(WATER_DIMER_SYMBOLS[:3], WATER_DIMER_A[part]) for part in (slice(0, 3), slice(3, 6))]
    for monomer, energy in zip(pool, shipped_cp.info["e_monomers_kcal"]):
        monomer.info.update(energy_kcal=energy, label_status="ok")
    store = LabelStore(tmp_path / "d")
    store.add_shipped([shipped_cp], CP_LEVEL)
    store.add_shipped([shipped_raw], CP_LEVEL)  # read after the corrected one: its ghost energies are kept
    counting = CountingBackend(backend)
    assert ChunkLabeller(counting, store, CP_LEVEL, pool).label(moved, False).info["e_int_kcal"] == again.info["e_int_kcal"]
    assert counting.calls == 0


def test_counterpoise_refusals(backend):
    with pytest.raises(InputError, match="counterpoise needs the pyscf backend"):
        level_tag({"backend": "xtb", "xtb": {"method": "GFN2-xTB", "accuracy": 1.0}, "counterpoise": True})
    with pytest.raises(ValueError, match="ghost atoms"):
        backend.compute(ghosted(WATER_DIMER_SYMBOLS, np.arange(6) < 3), WATER_DIMER_A, forces=True)
