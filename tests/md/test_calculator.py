"""The ASE calculator boundary: units, forces, stress, against ASE's own Lennard-Jones."""

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.lj import LennardJones

from pinnff.md.calculator import PotentialCalculator
from pinnff.units import EV_TO_KCAL

SIGMA, EPSILON_EV, CUTOFF = 3.4, 0.0104, 6.0


class TorchLJ(torch.nn.Module):
    """Plain LJ in kcal/mol with an energy shift at the cutoff (as ASE's default), minimum image."""

    def forward(self, positions, cell):
        eps = EPSILON_EV * EV_TO_KCAL
        i, j = torch.triu_indices(len(positions), len(positions), 1)
        d = positions[j] - positions[i]
        if cell is not None:  # minimum image in fractional coordinates (any cell close to cubic)
            fractional = d @ torch.linalg.inv(cell)
            d = (fractional - torch.round(fractional.detach())) @ cell
        r = torch.linalg.norm(d, dim=1)
        r = r[r < CUTOFF]
        lj = lambda x: 4 * eps * ((SIGMA / x) ** 12 - (SIGMA / x) ** 6)
        return (lj(r) - lj(torch.tensor(CUTOFF, dtype=r.dtype))).sum()


def argon():
    atoms = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((3, 3, 3))  # 15.9 A box, cutoff 6 A < L/2
    atoms.rattle(0.1, seed=4)
    return atoms


def test_matches_ase_lennard_jones_in_ase_units():
    ours, theirs = argon(), argon()
    ours.calc = PotentialCalculator(TorchLJ())
    theirs.calc = LennardJones(sigma=SIGMA, epsilon=EPSILON_EV, rc=CUTOFF)
    assert ours.get_potential_energy() == pytest.approx(theirs.get_potential_energy(), rel=1e-10)
    np.testing.assert_allclose(ours.get_forces(), theirs.get_forces(), atol=1e-10)
    np.testing.assert_allclose(ours.get_stress(), theirs.get_stress(), atol=1e-10)


def test_stress_matches_finite_difference_of_energy_under_strain():
    atoms = argon()
    atoms.calc = PotentialCalculator(TorchLJ())
    stress = atoms.get_stress(voigt=False)
    h = 1e-5
    for a, b in [(0, 0), (1, 2)]:
        energies = []
        for sign in (1, -1):
            strained = atoms.copy()
            strain = np.eye(3)
            strain[a, b] += sign * h / (2 if a != b else 1)
            strain[b, a] += sign * h / 2 if a != b else 0
            strained.set_cell(atoms.cell.array @ strain, scale_atoms=True)
            strained.calc = PotentialCalculator(TorchLJ())
            energies.append(strained.get_potential_energy())
        assert stress[a, b] == pytest.approx((energies[0] - energies[1]) / (2 * h) / atoms.get_volume(), rel=1e-5, abs=1e-9)


def test_cluster_without_cell_gives_no_stress_and_exact_forces():
    atoms = argon()[:12]
    atoms.pbc = False
    atoms.calc = PotentialCalculator(TorchLJ())
    forces = atoms.get_forces()
    h = 1e-5
    for atom, axis in [(0, 0), (5, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[atom, axis] += h
        minus.positions[atom, axis] -= h
        plus.calc, minus.calc = PotentialCalculator(TorchLJ()), PotentialCalculator(TorchLJ())
        assert forces[atom, axis] == pytest.approx(-(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h),
                                                   rel=1e-6, abs=1e-9)
