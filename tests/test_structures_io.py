"""Structure files: schema-checked round trip, clear errors, atomic writes."""

import numpy as np
import pytest
from ase import Atoms

from pinnff.errors import InputError
from pinnff.io.structures import read_structures, write_structures


def frame(**extra):
    atoms = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    atoms.arrays["mol_id"] = np.zeros(3, dtype=int)
    atoms.info.update(sample_id="w-0", protocol="monomer", split="train", n_molecules=1,
                      conformer_ids=np.array([-1]), **extra)
    return atoms


def test_round_trip_keeps_every_key(tmp_path):
    original = frame(energy_kcal=-47000.123456789, level="xtb/gfn2-xtb", label_status="ok",
                     e_monomers_kcal=np.array([1.5, 2.5]))
    original.arrays["forces_kcal_A"] = np.arange(9.0).reshape(3, 3) / 7
    path = tmp_path / "w.extxyz"
    write_structures(path, [original, original])
    back = read_structures(path)
    assert len(back) == 2
    assert back[0].info["energy_kcal"] == pytest.approx(-47000.123456789, abs=1e-8)
    np.testing.assert_allclose(back[0].arrays["forces_kcal_A"], original.arrays["forces_kcal_A"], atol=1e-8)
    np.testing.assert_array_equal(back[0].info["e_monomers_kcal"], [1.5, 2.5])
    np.testing.assert_allclose(back[0].positions, original.positions, atol=1e-8)


def test_missing_required_key_is_named(tmp_path):
    bad = frame()
    del bad.info["split"]
    with pytest.raises(InputError, match="missing frame key 'split'"):
        write_structures(tmp_path / "x.extxyz", [bad])


def test_unknown_key_rejected(tmp_path):
    with pytest.raises(InputError, match="not in the schema"):
        write_structures(tmp_path / "x.extxyz", [frame(energy_ev=1.0)])


def test_garbage_file_gives_input_error(tmp_path):
    path = tmp_path / "junk.extxyz"
    path.write_text("this is not\nan xyz file\n")
    with pytest.raises(InputError, match="junk.extxyz"):
        read_structures(path)


def test_failed_write_leaves_old_file_intact(tmp_path):
    path = tmp_path / "w.extxyz"
    write_structures(path, [frame()])
    before = path.read_bytes()
    bad = frame()
    del bad.arrays["mol_id"]
    with pytest.raises(InputError):
        write_structures(path, [frame(), bad])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.extxyz"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    path = tmp_path / "w.extxyz"
    write_structures(path, [frame()])
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
