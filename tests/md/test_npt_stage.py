"""The constant-pressure stage and the equilibration gate of the MD driver, on the toy liquid."""

import pandas as pd
import pytest

from pinnff.md.barostat import MonteCarloBarostat
from pinnff.md.driver import MDRun, MDSettings
from pinnff.md.npt import BarostatHook
from toy_liquid import Interrupting, ToyLiquid, toy_box

SETTINGS = dict(inner_step_fs=0.5, inner_steps=4, hydrogen_mass_amu=3.0, temperature_K=120.0, equilibration_steps=20,
                npt_steps=40, production_steps=20, sample_every=5, checkpoint_every=10, seed=7, production="bussi")


def hook(atoms, production_density="model", every=2):
    barostat = MonteCarloBarostat(atoms.arrays["mol_id"], atoms.get_masses(), pressure_atm=1.0, temperature_K=120.0,
                                  initial_step=0.02, seed=3)
    return BarostatHook(barostat, every, production_density, atoms.get_volume())


@pytest.mark.parametrize("production_density", ["model", "experimental"])
def test_npt_moves_the_volume_then_production_runs_at_the_chosen_density(tmp_path, production_density):
    atoms = toy_box()
    npt = hook(atoms, production_density)
    run = MDRun(atoms, ToyLiquid(16), MDSettings(**SETTINGS), tmp_path, hooks=(npt,))
    run.run()
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    during = thermo[thermo.phase == "npt"].density_g_cm3
    after = thermo[thermo.phase == "production"].density_g_cm3
    assert npt.barostat.n_attempted == 20 and 0 < npt.barostat.n_accepted < 20
    assert during.nunique() > 1 and after.nunique() == 1  # the volume moves only under the barostat
    summary = npt.summary(run.mass_g)
    built = run.mass_g / (12.0 ** 3 * 1e-24)
    expected = summary["density_g_cm3"] if production_density == "model" else built
    assert after.iloc[0] == pytest.approx(expected, rel=1e-9)
    assert summary["production_density_g_cm3"] == pytest.approx(expected, rel=1e-9)


def test_npt_run_resumes_bit_for_bit(tmp_path):
    settings = MDSettings(**SETTINGS)
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path / "straight", hooks=(hook(toy_box()),)).run()
    with pytest.raises(KeyboardInterrupt):
        MDRun(toy_box(), Interrupting(16, calls=70), settings, tmp_path / "killed", hooks=(hook(toy_box()),)).run()
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path / "killed", hooks=(hook(toy_box()),)).run()
    for name in ("production.extxyz", "thermo.csv"):
        assert (tmp_path / "straight" / name).read_bytes() == (tmp_path / "killed" / name).read_bytes()


def test_a_trending_equilibration_is_extended_until_stationary_or_its_maximum(tmp_path):
    # the toy box starts on a lattice far from equilibrium at 120 K with a weak thermostat: its energy trends
    settings = MDSettings(**{**SETTINGS, "npt_steps": 0, "equilibration_steps": 100, "equilibration_max_steps": 300,
                             "equilibration_friction_per_fs": 1e-4, "sample_every": 1, "checkpoint_every": 10})
    run = MDRun(toy_box(), ToyLiquid(16), settings, tmp_path)
    run.run()
    gates = run.gates["equilibration"]
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    equilibrated = (thermo.phase == "equilibration").sum() - 1  # the start row belongs to it too
    assert equilibrated == run.phase_steps(run.phases[0]) == 100 * len(gates)
    assert not gates[0]["stationary"]  # the first test saw the trend
    assert gates[-1]["stationary"] or run.phase_steps(run.phases[0]) == 300
    assert (thermo.phase == "production").sum() == 20


def test_a_stationary_equilibration_is_not_extended(tmp_path):
    settings = MDSettings(**{**SETTINGS, "npt_steps": 0, "equilibration_steps": 100, "equilibration_max_steps": 300,
                             "sample_every": 1, "checkpoint_every": 10, "temperature_K": 0.001,
                             "equilibration_friction_per_fs": 0.5})
    run = MDRun(toy_box(), ToyLiquid(16, slow=False), settings, tmp_path)  # bonds only, frozen by a strong friction
    run.run()
    assert [g["stationary"] for g in run.gates["equilibration"]] == [True]
    assert run.phase_steps(run.phases[0]) == 100
