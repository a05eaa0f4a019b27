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


def nve_energies(inner_step_fs, inner_steps, outer_steps):
    atoms = two_molecule_box()
    potential = LiquidPotential(2, "COCCOCCOC", PHYSICS)
    natural = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    hydrogen = torch.as_tensor(np.array(atoms.get_chemical_symbols()) == "H")
    masses = repartition_hydrogen_masses(natural, potential.bonds, 3.024, hydrogen)
    forces = SplitForces(potential, torch.as_tensor(atoms.cell.array), torch.float64, split=inner_steps > 1)
    generator = torch.Generator().manual_seed(5)
    respa = RespaIntegrator(forces, masses, inner_step_fs, inner_steps, generator)
    state = forces.state(torch.as_tensor(atoms.positions), maxwell_boltzmann(masses, 300.0, generator))
    totals, kinetic = [], []
    for _ in range(outer_steps):
        state = respa.step(state, Thermostat("nve"))
        kinetic.append(float(kinetic_energy(state.velocities, masses)))
        totals.append(float(state.potential_energy) + kinetic[-1])
    return np.array(totals), np.array(kinetic)


def test_respa_with_hydrogen_mass_repartitioning_conserves_energy():
    totals, kinetic = nve_energies(1.0, 3, 40)  # 120 fs at the production steps (3 fs outer, 1 fs inner)
    fluctuation = kinetic.std()
    assert fluctuation > 1.0  # energy flows between kinetic and potential (kcal/mol)
    assert totals.std() < 0.05 * fluctuation
    drift = np.polyfit(np.arange(len(totals)) * 3.0, totals, 1)[0] * len(totals) * 3.0  # kcal/mol over the run
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
