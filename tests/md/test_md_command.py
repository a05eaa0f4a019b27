"""``pinnff md`` never resumes a checkpoint made from other inputs."""

from types import SimpleNamespace

from pinnff.md.commands import _start_fresh_if_inputs_changed


def test_changed_inputs_discard_the_old_run_and_same_inputs_keep_it(tmp_path):
    run = SimpleNamespace(checkpoint=tmp_path / "checkpoint.npz", trajectory=tmp_path / "production.extxyz",
                          thermo=tmp_path / "thermo.csv")
    _start_fresh_if_inputs_changed(run, tmp_path, "aaa")
    for path in (run.checkpoint, run.trajectory, run.thermo):
        path.write_text("partial run")
    _start_fresh_if_inputs_changed(run, tmp_path, "aaa")  # same inputs: resume
    assert run.checkpoint.exists() and run.trajectory.exists()
    _start_fresh_if_inputs_changed(run, tmp_path, "bbb")  # another model, box or setting: start over
    assert not run.checkpoint.exists() and not run.trajectory.exists() and not run.thermo.exists()
    assert (tmp_path / "inputs.sha256").read_text().strip() == "bbb"


def test_md_settings_count_outer_steps_and_refuse_a_fractional_inner_step():
    import pytest

    from pinnff.config import section
    from pinnff.errors import InputError
    from pinnff.md.commands import md_settings

    md = section(None, "md")
    md.update(inner_step_fs=0.5, outer_step_fs=3.0, equilibration_ps=1.5, production_ps=6.0, sample_every_fs=30.0,
              checkpoint_every_fs=300.0)
    s = md_settings(md)
    assert (s.inner_steps, s.outer_step_fs, s.equilibration_steps, s.production_steps) == (6, 3.0, 500, 2000)
    assert (s.sample_every, s.checkpoint_every) == (10, 100)
    md.update(outer_step_fs=2.2)
    with pytest.raises(InputError, match="whole multiple"):
        md_settings(md)


def test_md_settings_with_a_middle_step_count_middle_and_inner_steps():
    import pytest

    from pinnff.config import section
    from pinnff.errors import InputError
    from pinnff.md.commands import md_settings

    md = section(None, "md")
    md.update(inner_step_fs=0.5, middle_step_fs=3.0, outer_step_fs=9.0, production_ps=9.0)
    s = md_settings(md)
    assert (s.inner_steps, s.middle_steps, s.outer_step_fs, s.production_steps) == (6, 3, 9.0, 1000)
    md.update(outer_step_fs=10.0)
    with pytest.raises(InputError, match="outer_step_fs 10.0 is not a whole multiple of md.middle_step_fs"):
        md_settings(md)


def test_pinnff_md_runs_resumes_and_reports_a_three_level_respa(tmp_path):
    """The command with ``middle_step_fs`` set: RESPA1 through the CLI, a summary that names the middle
    step, the planned number of frames, and a second call that finds the run complete."""
    import json

    import numpy as np
    from ase.io import read

    from pinnff.cli import main
    from pinnff.io.structures import write_structures
    from test_respa_liquid import two_molecule_box

    atoms = two_molecule_box()
    atoms.arrays["mol_id"] = np.repeat([0, 1], len(atoms) // 2)
    atoms.info.update(sample_id="box-2", protocol="liquid", split="md", n_molecules=2, density_g_cm3=0.94,
                      smiles="COCCOCCOC")
    box = tmp_path / "box.extxyz"
    write_structures(box, [atoms])
    physics = {"real_cutoff_A": 6.0, "vdw_cutoff_A": 6.0, "ct_cutoff_A": 6.0, "compile_kernels": False,
               "polarization": "direct"}
    md = {"inner_step_fs": 0.5, "middle_step_fs": 1.5, "outer_step_fs": 3.0, "minimize_steps": 3, "anneal_ps": 0.0,
          "equilibration_ps": 0.03, "equilibration_max_ps": 0.0, "npt_ps": 0.0, "production_ps": 0.03,
          "sample_every_fs": 6.0, "checkpoint_every_fs": 15.0}
    argv = ["md", "--model", "prior", "--box", str(box), "--physics", json.dumps(physics),
            "--settings", json.dumps(md), "--threads", "1", "--out-dir", str(tmp_path / "run")]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["inner_step_fs"], summary["middle_step_fs"], summary["outer_step_fs"]) == (0.5, 1.5, 3.0)
    assert summary["production_steps"] == 10 and summary["steps_this_call"] == 20  # 30 fs + 30 fs of 3 fs steps
    frames = read(tmp_path / "run" / "production.extxyz", index=":")
    assert len(frames) == 5  # at 6, 12, ..., 30 fs of the production
    assert main(argv) == 0  # complete: nothing left to run
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps_this_call"] == 0


def test_production_averages_are_the_production_rows_means_with_correlated_errors(tmp_path):
    import numpy as np
    import pandas as pd
    import pytest

    from pinnff.md.commands import production_averages
    from pinnff.md.stationarity import correlated_mean

    rng = np.random.default_rng(0)
    temperature = 300.0 + np.convolve(rng.normal(size=240), np.ones(8) / 8, mode="same") * 5.0
    rows = pd.DataFrame({"phase": ["equilibration"] * 40 + ["production"] * 200, "temperature_K": temperature,
                         "epot_kcal": -1000.0 + 0.5 * np.arange(240)})
    thermo = tmp_path / "thermo.csv"
    rows.to_csv(thermo, index=False)
    averages = production_averages(thermo, target_K=298.15)
    mean, error, g = correlated_mean(temperature[40:])
    assert averages["samples"] == 200 and averages["temperature_K"] == pytest.approx(temperature[40:].mean())
    assert (averages["temperature_K_err"], averages["temperature_K_statistical_inefficiency"]) == (error, g)
    assert g > 3  # the moving average correlates neighbouring samples
    assert averages["temperature_off_target_in_errors"] == pytest.approx((mean - 298.15) / error)
    assert averages["epot_kcal"] == pytest.approx(-1000.0 + 0.5 * np.arange(40, 240).mean())
    rows.iloc[:55].to_csv(thermo, index=False)  # 15 production rows
    assert production_averages(thermo, target_K=298.15) is None
