"""r-RESPA against velocity Verlet, and hydrogen mass repartitioning."""

import numpy as np
import pytest
import torch

from pinnff.md.integrator import (ACCEL, RespaIntegrator, SplitForces, Thermostat, maxwell_boltzmann,
                                  repartition_hydrogen_masses)
from toy_liquid import ToyLiquid, toy_box


def start(n_molecules=16, seed=0):
    atoms = toy_box(n_molecules)
    masses = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    positions = torch.as_tensor(atoms.positions, dtype=torch.float64)
    return atoms, masses, positions, maxwell_boltzmann(masses, 150.0, generator), generator


def velocity_verlet(energy, positions, velocities, masses, dt, steps):
    """Textbook velocity Verlet on the total energy (independent of the RESPA code)."""
    def force(x):
        x = x.clone().requires_grad_(True)
        return -torch.autograd.grad(energy(x), x)[0]

    x, v, f = positions.clone(), velocities.clone(), force(positions)
    for _ in range(steps):
        v = v + 0.5 * dt * ACCEL * f / masses[:, None]
        x = x + dt * v
        f = force(x)
        v = v + 0.5 * dt * ACCEL * f / masses[:, None]
    return x, v


def respa(potential, cell, masses, positions, velocities, generator, h, n, steps, split=True, middle_steps=None):
    forces = SplitForces(potential, cell, torch.float64, split=split, middle=middle_steps is not None)
    integrator = RespaIntegrator(forces, masses, h, n, generator, middle_steps or 1)
    state = forces.state(positions, velocities)
    for _ in range(steps):
        state = integrator.step(state, Thermostat("nve"))
    return state


@pytest.mark.parametrize("split", [False, True])
def test_one_inner_step_is_velocity_verlet(split):
    atoms, masses, x0, v0, generator = start()
    cell = torch.as_tensor(atoms.cell.array)
    potential = ToyLiquid(16)
    state = respa(potential, cell, masses, x0, v0, generator, 2.0, 1, 40, split=split)
    x, v = velocity_verlet(lambda x: potential(x, cell), x0, v0, masses, 2.0, 40)
    assert torch.allclose(state.positions, x, rtol=0, atol=1e-11)  # the same scheme up to round-off
    assert torch.allclose(state.velocities, v, rtol=0, atol=1e-12)


def test_inner_steps_of_the_fast_forces_are_velocity_verlet_at_the_inner_step():
    atoms, masses, x0, v0, generator = start()
    cell = torch.as_tensor(atoms.cell.array)
    potential = ToyLiquid(16, slow=False)  # everything is fast: RESPA is velocity Verlet at h
    state = respa(potential, cell, masses, x0, v0, generator, 0.5, 4, 10)
    x, v = velocity_verlet(potential.fast_energy, x0, v0, masses, 0.5, 40)
    assert torch.allclose(state.positions, x, rtol=0, atol=1e-11)
    assert torch.allclose(state.velocities, v, rtol=0, atol=1e-12)


@pytest.mark.parametrize("middle_steps", [None, 3])
def test_respa_is_time_reversible(middle_steps):
    atoms, masses, x0, v0, generator = start()
    cell = torch.as_tensor(atoms.cell.array)
    potential = ToyLiquid(16)
    forward = respa(potential, cell, masses, x0, v0, generator, 0.5, 6, 30, middle_steps=middle_steps)
    back = respa(potential, cell, masses, forward.positions, -forward.velocities, generator, 0.5, 6, 30,
                 middle_steps=middle_steps)
    assert torch.allclose(back.positions, x0, rtol=0, atol=1e-8)


def test_a_middle_level_on_the_outer_step_is_two_level_respa():
    """One middle step per outer step: the middle and slow kicks add up to the two-level slow kick."""
    atoms, masses, x0, v0, generator = start()
    cell = torch.as_tensor(atoms.cell.array)
    potential = ToyLiquid(16)
    three = respa(potential, cell, masses, x0, v0, generator, 0.5, 4, 20, middle_steps=1)
    two = respa(potential, cell, masses, x0, v0, generator, 0.5, 4, 20)
    assert torch.allclose(three.positions, two.positions, rtol=0, atol=1e-11)
    assert torch.allclose(three.velocities, two.velocities, rtol=0, atol=1e-12)
    assert float(three.middle_energy) != 0.0  # the middle level was there
    assert float(three.potential_energy) == pytest.approx(float(two.potential_energy), abs=1e-10)


def test_middle_steps_are_velocity_verlet_of_fast_plus_middle_at_the_middle_step():
    """With the slow part switched off (it equals the middle one), RESPA1 is two-level RESPA of
    valence inside fast-plus-middle outside at the middle step: here, checked against velocity Verlet
    with one inner step."""
    atoms, masses, x0, v0, generator = start()
    cell = torch.as_tensor(atoms.cell.array)

    class MiddleIsEverything(ToyLiquid):
        def slow_energy(self, x, cell):
            return self.middle_energy(x, cell)

    potential = MiddleIsEverything(16)
    state = respa(potential, cell, masses, x0, v0, generator, 1.0, 1, 10, middle_steps=4)
    x, v = velocity_verlet(lambda x: potential.fast_energy(x) + potential.middle_energy(x, cell), x0, v0, masses,
                           1.0, 40)
    assert torch.allclose(state.positions, x, rtol=0, atol=1e-10)
    assert torch.allclose(state.velocities, v, rtol=0, atol=1e-11)
    assert float(state.slow_energy) == pytest.approx(0.0, abs=1e-12)


def test_middle_steps_without_a_middle_level_are_refused():
    atoms, masses, x0, v0, generator = start()
    with pytest.raises(ValueError, match="middle level"):
        RespaIntegrator(SplitForces(ToyLiquid(16), None, torch.float64), masses, 0.5, 2, generator, middle_steps=2)


def test_hydrogen_mass_repartitioning_keeps_molecular_mass_and_momentum():
    from ase import Atoms

    from pinnff.chem.molecule import embed_relaxed_conformers, symbols
    from pinnff.physics.intramolecular import MMFFIntramolecular

    valence = MMFFIntramolecular("COCCOCCOC", n_molecules=2, nonbonded=False)
    atoms = Atoms(symbols("COCCOCCOC") * 2)
    natural = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    hydrogen = torch.as_tensor(np.array(atoms.get_chemical_symbols()) == "H")
    masses = repartition_hydrogen_masses(natural, valence.bond_idx, 3.024, hydrogen)
    assert torch.allclose(masses.reshape(2, 23).sum(1), natural.reshape(2, 23).sum(1), rtol=0, atol=1e-12)
    assert torch.all(masses[hydrogen] == 3.024)
    carbon = np.array(atoms.get_chemical_symbols()) == "C"
    # terminal methyls give 3 H, backbone CH2 2 H: their carbons lose 3 and 2 times 2.016 amu
    lost = (natural - masses)[torch.as_tensor(carbon)]
    assert sorted(set(np.round(lost.numpy(), 6))) == pytest.approx([2 * (3.024 - 1.008), 3 * (3.024 - 1.008)])
    assert torch.equal(masses[~hydrogen & ~torch.as_tensor(carbon)], natural[~hydrogen & ~torch.as_tensor(carbon)])

    # two molecules in vacuum, valence forces only: each molecule's momentum (centre-of-mass motion) is conserved
    class Valence(torch.nn.Module):
        def fast_energy(self, x):
            return valence(x)

        def slow_energy(self, x, cell):
            return (x * 0).sum()

    pool, _ = embed_relaxed_conformers("COCCOCCOC", 2, seed=0)
    x0 = torch.as_tensor(np.concatenate([pool[0], pool[1] + [0.0, 0.0, 30.0]]), dtype=torch.float64)
    generator = torch.Generator().manual_seed(3)
    v0 = maxwell_boltzmann(masses, 300.0, generator)
    state = respa(Valence(), None, masses, x0, v0, generator, 0.5, 4, 50)
    momentum = lambda v: (masses[:, None] * v).reshape(2, 23, 3).sum(1)
    assert torch.allclose(momentum(state.velocities), momentum(v0), rtol=0, atol=1e-10)
    assert not torch.allclose(state.velocities, v0, atol=1e-3)  # the molecules did move


def test_repartitioning_refuses_a_hydrogen_heavier_than_its_carbon_can_give():
    natural = torch.tensor([12.011, 1.008, 1.008, 1.008, 1.008], dtype=torch.float64)
    bonds = torch.tensor([[0, 1], [0, 2], [0, 3], [0, 4]])
    hydrogen = torch.tensor([False, True, True, True, True])
    with pytest.raises(ValueError, match="lighter"):
        repartition_hydrogen_masses(natural, bonds, 3.5, hydrogen)
