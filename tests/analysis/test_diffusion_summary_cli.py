"""``pinnff diffusion-summary`` on D.json files of two sizes, and the liquid-stage figures drawn from it."""

import json

import numpy as np
import pandas as pd
import pytest

from pinnff.analysis.diffusion import yeh_hummer_correction
from pinnff.cli import main
from pinnff.analysis.md_figures import density_figure, diffusion_figure, finite_size_figure

T = 298.15


def _d_json(path, label, n, length, d, err):
    path.write_text(json.dumps({"label": label, "n_molecules": n, "box_length_A": length, "D": d, "D_err": err,
                                "n_replicas": 3, "duration_ps": 400.0, "temperature_K": T,
                                "no_diffusion": None if d is not None else {"reason": "no diffusive regime: short"}}))
    return str(path)


def test_summary_extrapolates_two_sizes_and_figures_draw(tmp_path):
    lengths = (20.0, 32.0)
    d = [2.0 - yeh_hummer_correction(T, 0.8, L) for L in lengths]
    files = [_d_json(tmp_path / "a.json", "pinn", 32, lengths[0], d[0], 0.03),
             _d_json(tmp_path / "b.json", "pinn", 128, lengths[1], d[1], 0.03),
             _d_json(tmp_path / "c.json", "prior", 32, 20.0, None, None)]
    assert main(["diffusion-summary", *files, "--out", str(tmp_path / "diffusion.json"),
                 "--csv", str(tmp_path / "diffusion.csv")]) == 0
    summary = json.loads((tmp_path / "diffusion.json").read_text())
    pinn = summary["potentials"]["pinn"]
    assert pinn["route"] == "extrapolation" and pinn["D_corrected"] == pytest.approx(2.0, rel=1e-9)
    assert pinn["viscosity_mPas"] == pytest.approx(0.8, rel=1e-9)
    assert summary["potentials"]["prior"]["route"] == "none"
    table = pd.read_csv(tmp_path / "diffusion.csv")
    assert list(table.potential) == ["pinn", "pinn", "prior"] and list(table.n_molecules) == [32, 128, 32]
    for draw, name in ((diffusion_figure, "d.png"), (finite_size_figure, "fs.png")):
        draw(summary, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG" and (tmp_path / name).stat().st_size > 10_000


def test_density_panel_means_replicas(tmp_path):
    runs = []
    for k, rho in enumerate((0.90, 0.94)):
        run = tmp_path / f"rep{k}"
        run.mkdir()
        t = np.arange(100) * 20.0
        frame = pd.DataFrame({"time_fs": t, "phase": "npt", "density_g_cm3": np.full(100, rho)})
        frame.to_csv(run / "thermo.csv", index=False)
        runs.append(run)
    density_figure(runs, ["pinn:n64", "pinn:n64"], None, tmp_path / "density.png", tmp_path / "density.csv")
    table = pd.read_csv(tmp_path / "density.csv")
    assert table.density_g_cm3.iloc[0] == pytest.approx(0.92) and table.error.iloc[0] == pytest.approx(0.02)
    assert table.n_runs.iloc[0] == 2 and table.volume.iloc[0] == "NPT"
