"""The MD driver: exact restart, energy conservation, thermostat temperatures, blow-up detection."""

import numpy as np
import pandas as pd
import pytest
import torch

from pinnff.md.driver import BlowUp, MDRun, MDSettings
from toy_liquid import Interrupting, ToyLiquid, toy_box

SETTINGS = dict(inner_step_fs=0.5, inner_steps=4, hydrogen_mass_amu=3.0, temperature_K=120.0, equilibration_steps=20,
                production_steps=40, sample_every=5, checkpoint_every=10, seed=7)


@pytest.mark.parametrize("production, middle_steps", [("bussi", 1), ("langevin", 1), ("nve", 1), ("bussi", 2)])
def test_killed_run_resumes_bit_for_bit(tmp_path, production, middle_steps):
    settings = MDSettings(**{**SETTINGS, "inner_steps": 4 // middle_steps}, middle_steps=middle_steps,
                          production=production)
    straight = MDRun(toy_box(), ToyLiquid(16), settings, tmp_path / "straight")
    straight.run()
    assert straight.rebuilds > 0  # the neighbour list is rebuilt along the way: its state is part of the checkpoint

    with pytest.raises(KeyboardInterrupt):
        MDRun(toy_box(), Interrupting(16, calls=47), settings, tmp_path / "killed").run()
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path / "killed").run()

    for name in ("production.extxyz", "thermo.csv"):
        assert (tmp_path / "straight" / name).read_bytes() == (tmp_path / "killed" / name).read_bytes()
    thermo = pd.read_csv(tmp_path / "killed/thermo.csv")
    assert list(thermo.step) == list(range(0, 61, 5))
    assert np.allclose(thermo.time_fs, thermo.step * 2.0)


def expand_every_10_steps(run, phase, step):
    """A stand-in for a barostat move: scale the cell and the positions by 1.001 (a hook of the loop)."""
    if phase.name == "production" and step % 10 == 0:
        run.set_cell(run.atoms.cell.array * 1.001)
        run.state.positions = run.state.positions * 1.001
        run.refresh()


def test_a_hook_that_changes_the_cell_resumes_bit_for_bit(tmp_path):
    settings = MDSettings(**SETTINGS, production="bussi")
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path / "straight", hooks=(expand_every_10_steps,)).run()
    with pytest.raises(KeyboardInterrupt):
        MDRun(toy_box(), Interrupting(16, calls=52), settings, tmp_path / "killed",
              hooks=(expand_every_10_steps,)).run()
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path / "killed", hooks=(expand_every_10_steps,)).run()
    for name in ("production.extxyz", "thermo.csv"):
        assert (tmp_path / "straight" / name).read_bytes() == (tmp_path / "killed" / name).read_bytes()
    from ase.io import read

    last = read(tmp_path / "killed/production.extxyz", index=-1)
    assert last.cell[0, 0] == pytest.approx(12.0 * 1.001 ** 4)


def test_nve_respa_conserves_energy(tmp_path):
    settings = MDSettings(inner_step_fs=0.5, inner_steps=4, temperature_K=120.0, equilibration_steps=0,
                          production_steps=300, production="nve", sample_every=5, checkpoint_every=100)
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path).run()
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    drift = np.polyfit(thermo.time_fs, thermo.etot_kcal, 1)[0] * 600  # over the 0.6 ps run
    assert abs(drift) < 0.005 * thermo.ekin_kcal.mean()
    assert thermo.etot_kcal.std() < 0.01 * thermo.ekin_kcal.mean()
    assert thermo.ekin_kcal.std() > 0.05 * thermo.ekin_kcal.mean()  # energy flows between kinetic and potential


@pytest.mark.parametrize("thermostat", ["bussi", "langevin"])
def test_thermostats_hold_the_target_temperature(tmp_path, thermostat):
    # 32 molecules, 189 degrees of freedom: one sample's T scatters by sqrt(2/189) = 10 %; the mean of the
    # 300 correlated samples scatters by about 1.5 % between seeds (measured: 146.8-150.8 K over four runs),
    # so 5 % is a > 3 sigma bound, and the seed is fixed
    settings = MDSettings(inner_step_fs=1.0, inner_steps=2, hydrogen_mass_amu=3.0, temperature_K=150.0,
                          equilibration_steps=100, production_steps=1500, production=thermostat, bussi_tau_fs=40.0,
                          production_friction_per_fs=0.02, sample_every=5, checkpoint_every=500, seed=11)
    MDRun(toy_box(32, edge_A=15.0), ToyLiquid(32), settings, tmp_path).run()
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    production = thermo.temperature_K[thermo.phase == "production"]
    assert production.mean() == pytest.approx(150.0, rel=0.05)
    assert production.std() == pytest.approx(150.0 * np.sqrt(2 / 189), rel=0.25)  # canonical fluctuations


def test_blow_up_stops_with_a_clear_message_and_keeps_good_frames(tmp_path):
    atoms = toy_box()
    atoms.positions[2] = atoms.positions[0] + [1.6, 0.0, 0.0]  # far inside the repulsive wall of another molecule
    settings = MDSettings(inner_step_fs=1.0, temperature_K=90.0, equilibration_steps=0, production_steps=50,
                          sample_every=5, checkpoint_every=10, max_force_kcal_A=50.0)
    with pytest.raises(BlowUp, match="force .* exceeds 50"):
        MDRun(atoms, ToyLiquid(16), settings, tmp_path).run()
    assert (tmp_path / "thermo.csv").read_text().count("\n") >= 2  # header and the starting frame


class CollapsingLiquid(ToyLiquid):
    """The toy liquid whose outer-step energy becomes infinite from its ``at``-th evaluation on (the
    energy of atoms driven into one another between two samples)."""

    def __init__(self, n_molecules: int, at: int):
        super().__init__(n_molecules)
        self.calls, self.at = 0, at

    def slow_energy(self, x, cell):
        self.calls += 1
        energy = super().slow_energy(x, cell)
        return energy + float("inf") if self.calls >= self.at else energy


def test_a_non_finite_energy_between_samples_stops_with_a_clear_message(tmp_path):
    """The energy is checked at every evaluation, so no atom moves by an infinite force: the run stops
    at that step with a BlowUp naming it, not with an error of the next evaluation's NaN positions."""
    settings = MDSettings(inner_step_fs=0.5, inner_steps=4, temperature_K=90.0, equilibration_steps=0,
                          production_steps=50, sample_every=10, checkpoint_every=10)
    with pytest.raises(BlowUp, match=r"step 7: the outer-step energy is inf \(max force \d+ kcal/mol/A at step 6\)"):
        MDRun(toy_box(), CollapsingLiquid(16, at=8), settings, tmp_path).run()  # call 1: the start; 8: step 7


class CollapsingValence(ToyLiquid):
    """The toy liquid whose valence energy (every inner step, not checked itself) becomes infinite from
    its ``at``-th evaluation on."""

    def __init__(self, n_molecules: int, at: int):
        super().__init__(n_molecules)
        self.calls, self.at = 0, at

    def fast_energy(self, x):
        self.calls += 1
        energy = super().fast_energy(x)
        return energy * float("inf") if self.calls >= self.at else energy  # infinite forces too


def test_an_infinite_inner_step_force_stops_before_the_outer_step_sees_its_positions(tmp_path):
    settings = MDSettings(inner_step_fs=0.5, inner_steps=4, temperature_K=90.0, equilibration_steps=0,
                          production_steps=50, sample_every=10, checkpoint_every=10)
    # call 1: the start; each outer step then evaluates the valence forces 4 times: call 26 is in step 7
    with pytest.raises(BlowUp, match=r"step 7: positions are not finite before the outer-step evaluation"):
        MDRun(toy_box(), CollapsingValence(16, at=26), settings, tmp_path).run()


def test_frames_stay_evenly_spaced_when_a_phase_ends_between_samples(tmp_path):
    from ase.io import read

    settings = MDSettings(**{**SETTINGS, "equilibration_steps": 13, "production_steps": 23}, production="bussi")
    MDRun(toy_box(), ToyLiquid(16), settings, tmp_path).run()
    times = [frame.info["time_fs"] for frame in read(tmp_path / "production.extxyz", index=":")]
    assert np.allclose(np.diff(times), 5 * 2.0) and times[-1] == 35 * 2.0  # steps 15, 20, ..., 35
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    assert thermo.step.iloc[-1] == 36  # the thermo log still closes each phase


def test_an_anneal_phase_runs_hot_first_then_the_target_holds(tmp_path):
    # Langevin (friction 0.05/fs, 2 fs steps) thermalizes within about 20 fs: the anneal's samples sit near 300 K,
    # the production's near the 150 K target (32 molecules: a 300-sample mean scatters by a few per cent)
    settings = MDSettings(inner_step_fs=1.0, inner_steps=2, hydrogen_mass_amu=3.0, temperature_K=150.0,
                          anneal_steps=150, anneal_temperature_K=300.0, equilibration_steps=100,
                          equilibration_friction_per_fs=0.05, production_steps=600, production="langevin",
                          production_friction_per_fs=0.02, sample_every=5, checkpoint_every=50, seed=5)
    assert [p.name for p in settings.phases()] == ["anneal", "equilibration", "production"]
    MDRun(toy_box(32, edge_A=15.0), ToyLiquid(32), settings, tmp_path / "straight").run()
    thermo = pd.read_csv(tmp_path / "straight/thermo.csv")
    assert list(dict.fromkeys(thermo.phase)) == ["anneal", "equilibration", "production"]
    anneal = thermo.temperature_K[(thermo.phase == "anneal") & (thermo.step >= 25)]
    assert anneal.mean() == pytest.approx(300.0, rel=0.08)
    assert thermo.temperature_K[thermo.phase == "production"].mean() == pytest.approx(150.0, rel=0.08)
    # a run killed inside the anneal resumes bit for bit
    with pytest.raises(KeyboardInterrupt):
        MDRun(toy_box(32, edge_A=15.0), Interrupting(32, calls=120), settings, tmp_path / "killed").run()
    MDRun(toy_box(32, edge_A=15.0), ToyLiquid(32), settings, tmp_path / "killed").run()
    assert (tmp_path / "straight/thermo.csv").read_bytes() == (tmp_path / "killed/thermo.csv").read_bytes()
