"""The diffusive regime: refusal on a short caged trajectory, acceptance on a long one, and what D.json records."""

import json

import numpy as np
import pytest
from diffusion_synthetic import blob_frames, caged_com, caged_msd, langevin_com, lattice_sites

from pinnff.analysis.diffusion import NoDiffusiveRegime, self_diffusion
from pinnff.cli import main

D_TRUE, CAGE_A, TAU_FS, DT_FS, RG_A = 2e-4, 0.3, 500.0, 100.0, 3.0  # A^2/fs (2e-9 m^2/s), A, fs, fs, A
BLOCKS = {"error_method": "molecules", "n_blocks": 4}


def test_short_caged_run_is_refused_with_how_far_and_how_long():
    com, _ = caged_com(64, 100, DT_FS, D_TRUE, CAGE_A, TAU_FS, seed=2)  # 9.9 ps
    with pytest.raises(NoDiffusiveRegime) as refusal:
        self_diffusion(com, DT_FS, radius_of_gyration_A=RG_A, where="short.extxyz", **BLOCKS)
    message, info = str(refusal.value), refusal.value.details
    assert message.startswith("short.extxyz: no diffusive regime") and "\n" not in message
    assert "radius of gyration of 3.00 A" in message and "must be at least about" in message
    # the RMS displacement at the longest usable lag (half the run) is that of the exact MSD, below R_g
    assert info["longest_usable_lag_ps"] == pytest.approx(4.9)
    exact = np.sqrt(caged_msd(4900.0, D_TRUE, CAGE_A, TAU_FS))
    assert info["rms_displacement_at_longest_lag_A"] == pytest.approx(exact, rel=0.1) and exact < RG_A
    # the exact requirement: the MSD reaches R_g^2 at t*, the window lasts 5 t*, and ends by half the run
    t_star = (RG_A**2 - 6 * CAGE_A**2) / (6 * D_TRUE)
    assert info["estimated_run_needed_ps"] == pytest.approx(2 * 5 * t_star / 1000, rel=0.3)


def test_long_caged_run_gives_d_after_the_molecules_left_their_size():
    com, d_true = caged_com(64, 1000, DT_FS, D_TRUE, CAGE_A, TAU_FS, seed=1)  # 99.9 ps
    result = self_diffusion(com, DT_FS, radius_of_gyration_A=RG_A, **BLOCKS)
    assert abs(result.D - d_true) < 3 * result.D_err and result.D == pytest.approx(d_true, rel=0.1)
    start, end = result.fit_window_fs
    assert end / start >= 5 and end <= 0.5 * 999 * DT_FS + 1e-6
    assert result.rms_displacement_at_window_A[0] >= RG_A
    assert np.sqrt(caged_msd(start, D_TRUE, CAGE_A, TAU_FS)) >= 0.95 * RG_A
    assert all(h == pytest.approx(d_true, rel=0.25) for h in result.D_halves)
    # without the size condition the window would start inside the caging shoulder's tail
    assert self_diffusion(com, DT_FS, **BLOCKS).fit_window_fs[0] < 0.7 * start


BOX_A = 24.0
MOLECULE_BLOCKS = ["--error-blocks", "molecules", "--n-blocks", "3"]


def _write(folder, name, com, size, with_mol_id=True, dt=DT_FS, box=BOX_A):
    """Blobs of ``size`` x water in an extxyz; large blobs (atoms too far apart to count as bonded) unwrapped,
    since only bonded molecules can be made whole again (and kept inside the cell: the reader makes the first
    frame's molecules whole from bonds)."""
    import ase.io

    frames = blob_frames(com, box, seed=4, wrap=size <= 1.0, with_mol_id=with_mol_id, frame_dt_fs=dt, size=size)
    ase.io.write(folder / name, frames, format="extxyz")
    return folder / name


def test_cli_refuses_a_short_run_in_one_line_and_records_it_when_allowed(tmp_path, capsys):
    start = lattice_sites(2, 30.0)  # sites at 15 and 45 A in a 60 A box
    com, _ = caged_com(8, 100, DT_FS, D_TRUE, CAGE_A, TAU_FS, seed=5)
    path = _write(tmp_path, "short.extxyz", com + start, size=10.0, box=60.0)  # blobs of R_g 3.13 A
    assert main(["diffusion", str(path), "--out", str(tmp_path / "D.json"), "--error-blocks", "molecules",
                 "--n-blocks", "2"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "no diffusive regime" in lines[0] and "radius of gyration of 3.13" in lines[0]
    assert not (tmp_path / "D.json").exists()

    assert main(["diffusion", str(path), "--out", str(tmp_path / "D.json"), "--error-blocks", "molecules",
                 "--n-blocks", "2", "--allow-no-diffusion", "--plot", str(tmp_path / "msd.png"),
                 "--label", "prior"]) == 0
    d = json.loads((tmp_path / "D.json").read_text())
    assert d["D"] is None and d["D_err"] is None and "D_corrected" not in d
    assert d["no_diffusion"]["reason"] == lines[0].split("error: ", 1)[1]
    assert d["no_diffusion"]["rms_displacement_at_longest_lag_A"] < d["radius_of_gyration_A"]
    assert d["radius_of_gyration_A"] == pytest.approx(10 * 0.31342, rel=1e-3)
    assert d["yeh_hummer"]["applied"] is False and "a diffusive regime" in d["yeh_hummer"]["reason"]
    assert (tmp_path / "msd.png").stat().st_size > 10_000


def test_cli_replicas_give_mean_and_standard_error(tmp_path):
    start = lattice_sites(3, BOX_A / 3)
    paths, singles = [], []
    for seed in (11, 12, 13):
        com, d_true = langevin_com(27, 400, 20, 1.0, 10.0, 0.005, seed=seed, start=start)
        paths.append(_write(tmp_path, f"rep{seed}.extxyz", com, size=1.0, dt=20.0))
        singles.append(self_diffusion(com, 20.0, error_method="molecules", n_blocks=3, radius_of_gyration_A=0.31342).D)
    assert main(["diffusion", *map(str, paths), "--out", str(tmp_path / "D.json"), "--label", "pinn", *MOLECULE_BLOCKS,
                 "--plot", str(tmp_path / "msd.png")]) == 0
    d = json.loads((tmp_path / "D.json").read_text())
    assert d["n_replicas"] == 3 and [r["D"] for r in d["replicas"]] == pytest.approx(singles, rel=1e-4)
    assert d["D"] == pytest.approx(np.mean([r["D"] for r in d["replicas"]]), rel=1e-12)
    assert d["D_err"] == pytest.approx(np.std([r["D"] for r in d["replicas"]], ddof=1) / np.sqrt(3), rel=1e-9)
    assert "3 independent replicas" in d["error_method"] and abs(d["D"] - d_true) < 4 * d["D_err"]
    assert d["pooled"]["n_replicas"] == 3 and d["pooled"]["D"] == pytest.approx(d["D"], rel=0.1)


def test_merged_molecules_from_bond_perception_are_refused(tmp_path, capsys):
    com = np.repeat(lattice_sites(2, BOX_A / 2)[None], 20, axis=0)
    com[:, 1] = com[:, 0] + [0.8, 0.0, 0.0]  # two molecules overlap: perceived as one H4O2 cluster
    path = _write(tmp_path, "merged.extxyz", com, size=1.0, with_mol_id=False, dt=10.0)
    assert main(["diffusion", str(path), "--out", str(tmp_path / "D.json")]) == 2
    err = capsys.readouterr().err
    assert "different formulas" in err and "merged" in err and "mol_id" in err
