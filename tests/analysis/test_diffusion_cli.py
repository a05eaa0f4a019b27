"""``pinnff diffusion`` end to end on tiny trajectory files."""

import json
import subprocess
import sys

import numpy as np
import pytest
from diffusion_synthetic import blob_frames, langevin_com, lattice_sites

from pinnff.analysis.diffusion import yeh_hummer_correction
from pinnff.cli import main

BOX_A = 12.0
DT_FS = 10.0
N_FRAMES = 1500
DOCUMENTED_KEYS = {"D", "D_err", "fit_window_fs", "n_molecules", "n_frames", "method", "dt_fs", "replicas", "pooled",
                   "error_method", "criterion", "radius_of_gyration_A", "yeh_hummer", "units", "no_diffusion"}
REPLICA_KEYS = {"D", "D_err", "D_blocks", "fit_window_fs", "rms_displacement_at_window_A", "D_halves", "msd_curve",
                "slope_curve", "radius_of_gyration_A", "trajectory"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """8 water blobs, wrapped, some straddling the faces at frame 0; 1500 frames 10 fs apart."""
    start = lattice_sites(2, BOX_A / 2) - BOX_A / 4  # sites at 0 and 6 A: molecules cut by the faces
    com, d_true = langevin_com(8, N_FRAMES, 10, 1.0, 10.0, 0.005, seed=21, start=start)
    frames = blob_frames(com, BOX_A, seed=2, wrap=True, with_mol_id=True, frame_dt_fs=DT_FS)
    folder = tmp_path_factory.mktemp("tiny")
    import ase.io

    ase.io.write(folder / "traj.extxyz", frames, format="extxyz")
    for atoms in frames:  # plain xyz: no cell, no time, no mol_id
        del atoms.arrays["mol_id"]
    ase.io.write(folder / "traj.xyz", frames, format="xyz")
    ase.io.write(folder / "traj.traj", frames)
    assert main(["diffusion", str(folder / "traj.extxyz"), "--out", str(folder / "ref.json")]) == 0
    return folder, d_true


def run(argv, capsys):
    status = main(argv)
    return status, capsys.readouterr()


def test_extxyz_writes_documented_d_json(tiny, capsys):
    folder, d_true = tiny
    out = folder / "D.json"
    status, _ = run(["diffusion", str(folder / "traj.extxyz"), "--out", str(out), "--temperature-K", "298.15",
                     "--viscosity-mPas", "1.0"], capsys)
    assert status == 0
    d = json.loads(out.read_text())
    assert DOCUMENTED_KEYS | {"D_corrected"} <= set(d)
    assert REPLICA_KEYS <= set(d["replicas"][0]) and d["n_replicas"] == 1 and d["no_diffusion"] is None
    assert d["n_molecules"] == 8 and d["n_frames"] == N_FRAMES and d["dt_fs"] == DT_FS
    assert d["replicas"][0]["time_source"] == "frame times" and d["replicas"][0]["molecules_source"] == "mol_id"
    assert d["formulas"] == {"H2O": 8}
    assert abs(d["D"] - d_true) < 3 * d["D_err"]
    assert d["D"] == pytest.approx(d_true, rel=0.25)
    start, end = d["replicas"][0]["fit_window_fs"]
    assert 0 < 5 * start <= end <= 0.5 * (N_FRAMES // 5 - 1) * DT_FS + 1e-6
    rms_start = d["replicas"][0]["rms_displacement_at_window_A"][0]
    assert rms_start >= d["radius_of_gyration_A"]
    # water blobs: mass-weighted R_g of the O-H-H template, by hand
    from diffusion_synthetic import WATER

    masses = np.array([15.999, 1.008, 1.008])
    centre = masses @ WATER / masses.sum()
    assert d["radius_of_gyration_A"] == pytest.approx(np.sqrt(masses @ ((WATER - centre) ** 2).sum(1) / masses.sum()))
    # one replica: D and its error are that replica's; the halves agree with it within a few block errors
    assert d["D"] == d["replicas"][0]["D"] and d["D_err"] == d["replicas"][0]["D_err"]
    assert all(abs(h - d["D"]) < 5 * d["D_err"] * np.sqrt(2) for h in d["replicas"][0]["D_halves"])
    assert d["yeh_hummer"]["box_length_A"] == pytest.approx(BOX_A)
    assert d["D_corrected"] - d["D"] == pytest.approx(yeh_hummer_correction(298.15, 1.0, BOX_A), rel=1e-12)
    assert "FFT" in d["method"] and "time blocks" in d["method"]


def test_plain_xyz_with_perceived_molecules_and_given_cell_agrees(tiny, capsys):
    folder, _ = tiny
    reference = json.loads((folder / "ref.json").read_text())
    assert reference["yeh_hummer"]["applied"] is False and "D_corrected" not in reference
    status, _ = run(["diffusion", str(folder / "traj.xyz"), "--out", str(folder / "xyz.json"), "--dt-fs", "10",
                     "--cell-A", "12", "12", "12"], capsys)
    assert status == 0
    d = json.loads((folder / "xyz.json").read_text())
    assert d["replicas"][0]["molecules_source"] == "perceived" and d["n_molecules"] == 8
    assert d["D"] == pytest.approx(reference["D"], rel=1e-6)
    assert d["D_err"] == pytest.approx(reference["D_err"], rel=1e-5)


def test_ase_traj_file_is_read_too(tiny, capsys):
    folder, _ = tiny
    status, _ = run(["diffusion", str(folder / "traj.traj"), "--out", str(folder / "traj.json"), "--dt-fs", "10",
                     "--plot", str(folder / "msd.png")], capsys)
    assert status == 0
    d = json.loads((folder / "traj.json").read_text())
    reference = json.loads((folder / "ref.json").read_text())
    assert d["D"] == pytest.approx(reference["D"], rel=1e-9)
    png = (folder / "msd.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_missing_time_information_is_one_error_line(tiny, capsys):
    folder, _ = tiny
    status, captured = run(["diffusion", str(folder / "traj.xyz"), "--out", str(folder / "x.json"),
                            "--cell-A", "12", "12", "12"], capsys)
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "traj.xyz" in lines[0] and "--dt-fs" in lines[0]
    assert not (folder / "x.json").exists()


def test_malformed_file_exits_2_with_one_error_line(tmp_path):
    bad = tmp_path / "bad.extxyz"
    bad.write_text("3\nLattice=\"10 0 0 0 10 0 0 0 10\" Properties=species:S:1:pos:R:3\nO 0 0 0\nH 1 zero 0\n")
    result = subprocess.run([sys.executable, "-m", "pinnff.cli", "diffusion", str(bad), "--out",
                             str(tmp_path / "D.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pinnff diffusion: error: ") and str(bad) in lines[0]
    assert not (tmp_path / "D.json").exists()


def test_uncited_experimental_file_is_refused(tiny, tmp_path, capsys):
    folder, _ = tiny
    data = tmp_path / "uncited.yaml"
    data.write_text("properties:\n  viscosity: {value: 1.0, unit: mPa s, temperature_K: 298.15}\n")
    status, captured = run(["diffusion", str(folder / "traj.extxyz"), "--out", str(tmp_path / "D.json"),
                            "--experimental", str(data)], capsys)
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "uncited.yaml" in lines[0] and "citation" in lines[0]


def test_frames_with_different_atoms_are_refused(tmp_path, capsys):
    from ase import Atoms
    import ase.io

    water = [[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [-0.24, 0.9266, 0.0]]
    frames = [Atoms("OH2", positions=water), Atoms("H2", positions=np.eye(3)[:2])]
    ase.io.write(tmp_path / "mixed.xyz", frames)
    status, captured = run(["diffusion", str(tmp_path / "mixed.xyz"), "--out", str(tmp_path / "D.json"),
                            "--dt-fs", "1"], capsys)
    assert status == 2 and "frame 1 has different atoms" in captured.err


def test_experimental_file_supplies_viscosity_and_reference(tiny, tmp_path, capsys):
    import yaml

    from pinnff.analysis.experimental import default_path

    folder, _ = tiny
    citation = {"authors": "A. Tester", "title": "Loader fixture", "journal": "J. Test Fixtures", "volume": "1",
                "pages": "1-2", "year": 2000, "doi": "10.0000/fixture"}  # made up for the test: not data
    data = tmp_path / "fixture.yaml"
    data.write_text(yaml.safe_dump({"properties": {
        "viscosity": {"value": 0.5, "unit": "mPa s", "temperature_K": 298.15, "citation": citation},
        "self_diffusion": {"value": 2.0, "unit": "1e-9 m^2/s", "temperature_K": 298.15, "citation": citation}}}))
    status, _ = run(["diffusion", str(folder / "traj.extxyz"), "--out", str(tmp_path / "D.json"),
                     "--temperature-K", "298.15", "--experimental", str(data)], capsys)
    assert status == 0
    d = json.loads((tmp_path / "D.json").read_text())
    assert d["yeh_hummer"]["viscosity_mPas"] == 0.5 and "doi:10.0000/fixture" in d["yeh_hummer"]["viscosity_source"]
    assert d["D_corrected"] - d["D"] == pytest.approx(yeh_hummer_correction(298.15, 0.5, BOX_A), rel=1e-12)
    assert d["D_over_experiment"] == pytest.approx(d["D_corrected"] / 2.0, rel=1e-12)
    assert d["experimental"]["self_diffusion"]["citation"].startswith("A. Tester")

    # the shipped file has no sourced viscosity yet: no correction, and D.json says why
    status, _ = run(["diffusion", str(folder / "traj.extxyz"), "--out", str(tmp_path / "D2.json"),
                     "--temperature-K", "298.15", "--experimental", str(default_path("degdme"))], capsys)
    assert status == 0
    d2 = json.loads((tmp_path / "D2.json").read_text())
    shipped = yaml.safe_load(default_path("degdme").read_text())["properties"]
    assert ("D_corrected" in d2) == ("viscosity" in shipped)
    if "viscosity" not in shipped:
        assert d2["yeh_hummer"] == {"applied": False, "reason": "needs a viscosity"}
