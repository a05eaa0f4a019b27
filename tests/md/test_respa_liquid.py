"""r-RESPA with hydrogen mass repartitioning on a small DEGDME box with the MD potential itself."""

import numpy as np
import pytest
import torch

from pinnff.md.integrator import (RespaIntegrator, SplitForces, Thermostat, kinetic_energy, maxwell_boltzmann,
                                  repartition_hydrogen_masses)
from pinnff.md.potential import LiquidPotential

PHYSICS = {"real_cutoff_A": 6.0, "vdw_cutoff_A": 6.0, "ct_cutoff_A": 6.0, "dtype": "float64"}


def two_molecule_box():
    from ase import Atoms

    from pinnff.chem.molecule import embed_relaxed_conformers, symbols

    pool, _ = embed_relaxed_conformers("COCCOCCOC", 2, seed=0)
    positions = np.concatenate([pool[0] + 3.0, pool[1] + [3.0, 3.5, 9.0]])
    return Atoms(symbols("COCCOCCOC") * 2, positions=positions, cell=[13.0] * 3, pbc=True)


def nve_energies(inner_step_fs, inner_steps, outer_steps, middle_steps=1):
    atoms = two_molecule_box()
    potential = LiquidPotential(2, "COCCOCCOC", PHYSICS, short_range=(5.0, 1.0) if middle_steps > 1 else None)
    natural = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    hydrogen = torch.as_tensor(np.array(atoms.get_chemical_symbols()) == "H")
    masses = repartition_hydrogen_masses(natural, potential.bonds, 3.024, hydrogen)
    forces = SplitForces(potential, torch.as_tensor(atoms.cell.array), torch.float64, split=inner_steps > 1,
                         middle=middle_steps > 1)
    generator = torch.Generator().manual_seed(5)
    respa = RespaIntegrator(forces, masses, inner_step_fs, inner_steps, generator, middle_steps)
    state = forces.state(torch.as_tensor(atoms.positions), maxwell_boltzmann(masses, 300.0, generator))
    totals, kinetic = [], []
    for _ in range(outer_steps):
        state = respa.step(state, Thermostat("nve"))
        kinetic.append(float(kinetic_energy(state.velocities, masses)))
        totals.append(float(state.potential_energy) + kinetic[-1])
    return np.array(totals), np.array(kinetic)


@pytest.mark.parametrize("inner_step_fs, inner_steps, middle_steps, outer_steps", [
    (1.0, 3, 1, 40),  # 120 fs, two levels: 1 fs inner, 3 fs outer
    (0.5, 3, 4, 20),  # 120 fs, three levels: 0.5 fs valence, 1.5 fs short range, 6 fs the rest
])
def test_respa_with_hydrogen_mass_repartitioning_conserves_energy(inner_step_fs, inner_steps, middle_steps,
                                                                  outer_steps):
    totals, kinetic = nve_energies(inner_step_fs, inner_steps, outer_steps, middle_steps)
    outer_fs = inner_step_fs * inner_steps * middle_steps
    fluctuation = kinetic.std()
    assert fluctuation > 1.0  # energy flows between kinetic and potential (kcal/mol)
    assert totals.std() < 0.05 * fluctuation
    drift = np.polyfit(np.arange(len(totals)) * outer_fs, totals, 1)[0] * len(totals) * outer_fs  # over the run
    assert abs(drift) < 0.05 * fluctuation


def test_fast_and_slow_energies_add_up_to_the_total():
    atoms = two_molecule_box()
    potential = LiquidPotential(2, "COCCOCCOC", PHYSICS)
    x, cell = torch.as_tensor(atoms.positions), torch.as_tensor(atoms.cell.array)
    with torch.no_grad():
        total, parts = potential.energy_terms(x, cell)
        fast, slow = potential.fast_energy(x), potential.slow_energy(x, cell)
    assert float(fast) == float(parts["intramolecular"])
    assert float(fast + slow) == pytest.approx(float(total), abs=1e-9)


def test_fast_middle_and_slow_forces_add_up_to_the_total():
    atoms = two_molecule_box()
    potential = LiquidPotential(2, "COCCOCCOC", PHYSICS, short_range=(5.0, 1.0))
    x, cell = torch.as_tensor(atoms.positions), torch.as_tensor(atoms.cell.array)
    state = SplitForces(potential, cell, torch.float64, middle=True).state(x, torch.zeros_like(x))
    y = x.clone().requires_grad_(True)
    total = potential(y, cell)
    (gradient,) = torch.autograd.grad(total, y)
    assert abs(float(state.middle_energy)) > 1.0  # the short-range part carries real forces
    assert float(state.potential_energy) == pytest.approx(float(total), abs=1e-9)
    assert torch.allclose(state.fast_forces + state.middle_forces + state.slow_forces, -gradient, rtol=0, atol=1e-9)
