"""Frozen-density energy decomposition on a water dimer: rotated pool orbitals, asymptotics, variational bound."""

import numpy as np
import pytest

from label_helpers import PYSCF_SETTINGS, WATER_DIMER_A, WATER_DIMER_SYMBOLS
from pinnff.errors import InputError
from pinnff.geometry import kabsch_transform, random_rotation
from pinnff.label.backends import PySCFBackend
from pinnff.label.eda import FrozenDensity
from pinnff.units import HARTREE_TO_KCAL

MOL_ID = np.array([0, 0, 0, 1, 1, 1])
_R, _T = kabsch_transform(WATER_DIMER_A[:3], WATER_DIMER_A[3:])
DIMER = np.concatenate([WATER_DIMER_A[:3], WATER_DIMER_A[:3] @ _R + _T])
"""The hydrogen-bonded dimer of two rigid copies of the donor's geometry (A)."""


@pytest.fixture(scope="module")
def eda():
    return FrozenDensity(PySCFBackend(PYSCF_SETTINGS, threads=1))


@pytest.fixture(scope="module")
def pool_water(eda):
    """The water monomer converged once, at an orientation of its own (the 'pool')."""
    rotation = random_rotation(np.random.default_rng(7))
    return eda.monomer(WATER_DIMER_SYMBOLS[:3], (DIMER[:3] - 1.0) @ rotation.T)


def test_rotated_pool_orbitals_give_the_frozen_energy_of_monomers_converged_in_place(eda, pool_water):
    """Placing the pool orbitals by the per-shell rotation = SCF of each monomer at its own position."""
    a = eda.monomer(WATER_DIMER_SYMBOLS[:3], DIMER[:3])
    b = eda.monomer(WATER_DIMER_SYMBOLS[3:], DIMER[3:])
    direct = eda.frozen_energy(WATER_DIMER_SYMBOLS, DIMER, [a.c_occ, b.c_occ]) - a.energy - b.energy
    row = eda.decompose(WATER_DIMER_SYMBOLS, DIMER, MOL_ID, [pool_water, pool_water], e_int_kcal=0.0)
    assert row["e_frz_kcal"] == pytest.approx(direct * HARTREE_TO_KCAL, abs=5e-3)
    placed = eda.place(pool_water, DIMER[3:])
    density = placed @ placed.T
    assert np.abs(density - b.c_occ @ b.c_occ.T).max() < 1e-5


def test_frozen_energy_is_above_the_relaxed_one_and_everything_vanishes_far_apart(eda, pool_water):
    """E_frz >= E_int of the fully relaxed dimer SCF (same functional, no dispersion): the frozen density
    is a trial density. 30 A apart, E_frz and E_disp vanish."""
    mf = eda.backend._scf(WATER_DIMER_SYMBOLS, DIMER, 0, dispersion=False)
    relaxed = (mf.e_tot - 2 * pool_water.energy) * HARTREE_TO_KCAL
    row = eda.decompose(WATER_DIMER_SYMBOLS, DIMER, MOL_ID, [pool_water, pool_water], e_int_kcal=relaxed)
    assert row["e_frz_kcal"] > relaxed + 0.5  # polarization and charge transfer bind a hydrogen bond
    assert row["e_polct_kcal"] == pytest.approx(relaxed - row["e_frz_kcal"] - row["e_disp_kcal"])
    assert -1.0 < row["e_disp_kcal"] < -0.1
    far = DIMER + np.where(MOL_ID[:, None] == 1, [0.0, 0.0, 30.0], 0.0)
    row = eda.decompose(WATER_DIMER_SYMBOLS, far, MOL_ID, [pool_water, pool_water], e_int_kcal=0.0)
    assert abs(row["e_frz_kcal"]) < 5e-3 and abs(row["e_disp_kcal"]) < 1e-4


def test_a_copy_that_is_not_a_rigid_move_of_its_conformer_is_refused(eda, pool_water):
    bent = DIMER[3:].copy()
    bent[1] += 0.2
    with pytest.raises(InputError):
        eda.place(pool_water, bent)


def test_decompose_frames_resumes_from_its_cache_and_skips_other_splits(eda, tmp_path):
    from ase import Atoms

    from pinnff.label.eda import decompose_frames

    pool = [Atoms(WATER_DIMER_SYMBOLS[:3], positions=DIMER[:3], info={"conformer_ids": 0})]
    frames = []
    for sample, split in (("w-0", "val"), ("w-1", "train")):
        atoms = Atoms(WATER_DIMER_SYMBOLS, positions=DIMER, info={"sample_id": sample, "split": split, "label_status": "ok",
                                                                  "conformer_ids": np.array([0, 0]), "e_int_kcal": -5.0})
        atoms.arrays["mol_id"] = MOL_ID
        frames.append(atoms)
    rows = decompose_frames(frames, pool, eda, tmp_path, ("val",))
    assert [r["sample_id"] for r in rows] == ["w-0"]
    assert decompose_frames(frames, pool, eda, tmp_path, ("val", "train"), limit=1) == rows
    assert rows[0]["e_frz_kcal"] + rows[0]["e_polct_kcal"] + rows[0]["e_disp_kcal"] == pytest.approx(-5.0)

    class Refusing:
        def __getattr__(self, name):
            raise AssertionError("a cached sample was recomputed")

    assert decompose_frames(frames, pool, Refusing(), tmp_path, ("val",)) == rows
