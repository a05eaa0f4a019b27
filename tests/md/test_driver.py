"""The MD driver: exact restart, energy conservation, blow-up detection, thermostatting."""

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk
from ase.calculators.lj import LennardJones

from pinnff.md.driver import BlowUp, MDRun, MDSettings


def argon():
    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))  # 32 atoms, 10.5 A box
    atoms.rattle(0.05, seed=1)
    return atoms


def lj():
    return LennardJones(sigma=3.4, epsilon=0.0104, rc=5.0, smooth=True)


class Interrupting(LennardJones):
    """LJ that raises KeyboardInterrupt (a kill) after a number of force evaluations."""

    def __init__(self, calls, **kwargs):
        super().__init__(**kwargs)
        self.remaining = calls

    def calculate(self, *args, **kwargs):
        self.remaining -= 1
        if self.remaining < 0:
            raise KeyboardInterrupt
        super().calculate(*args, **kwargs)


SETTINGS = dict(timestep_fs=5.0, temperature_K=90.0, equilibration_steps=30, production_steps=60,
                sample_every=5, checkpoint_every=10, seed=7)


@pytest.mark.parametrize("production", ["bussi", "langevin", "nve"])
def test_killed_run_resumes_exactly(tmp_path, production):
    settings = MDSettings(**SETTINGS, production=production)
    MDRun(argon(), lj(), settings, tmp_path / "straight").run()

    with pytest.raises(KeyboardInterrupt):
        MDRun(argon(), Interrupting(57, sigma=3.4, epsilon=0.0104, rc=5.0, smooth=True), settings, tmp_path / "killed").run()
    MDRun(argon(), lj(), settings, tmp_path / "killed").run()

    for name in ("production.extxyz", "thermo.csv"):
        assert (tmp_path / "straight" / name).read_bytes() == (tmp_path / "killed" / name).read_bytes()
    thermo = pd.read_csv(tmp_path / "killed/thermo.csv")
    assert list(thermo.step) == list(range(0, 91, 5))


def test_nve_conserves_energy(tmp_path):
    settings = MDSettings(timestep_fs=2.0, temperature_K=60.0, equilibration_steps=0, production_steps=500,
                          production="nve", sample_every=10, checkpoint_every=100)
    MDRun(argon(), lj(), settings, tmp_path).run()
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    drift = thermo.etot_kcal.max() - thermo.etot_kcal.min()
    assert drift < 0.01 * thermo.ekin_kcal.mean()
    assert thermo.ekin_kcal.std() > 0.05 * thermo.ekin_kcal.mean()  # energy flows between kinetic and potential


def test_langevin_equilibration_reaches_the_target_temperature(tmp_path):
    settings = MDSettings(timestep_fs=5.0, temperature_K=80.0, equilibration_steps=1500, production_steps=0,
                          equilibration_friction_per_fs=0.02, sample_every=10, checkpoint_every=500, seed=3)
    MDRun(argon(), lj(), settings, tmp_path).run()
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    late = thermo.temperature_K[thermo.step > 500]
    # 32 atoms: relative fluctuation of T is sqrt(2/(3N)) ~ 0.14 per sample; mean of ~100 samples
    assert late.mean() == pytest.approx(80.0, rel=0.1)


def test_blow_up_stops_with_a_clear_message_and_keeps_good_frames(tmp_path):
    atoms = argon()
    atoms.positions[1] = atoms.positions[0] + [1.2, 0.0, 0.0]  # far inside the repulsive wall
    settings = MDSettings(timestep_fs=5.0, temperature_K=90.0, equilibration_steps=0, production_steps=50,
                          sample_every=5, checkpoint_every=10, max_force_kcal_A=50.0)
    with pytest.raises(BlowUp, match="force .* exceeds 50"):
        MDRun(atoms, lj(), settings, tmp_path).run()
    assert (tmp_path / "thermo.csv").read_text().count("\n") >= 2
