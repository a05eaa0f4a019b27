"""The switched short-range non-bonded energy of RESPA1's middle step."""

import numpy as np
import pytest
import torch

from helpers import degdme_dimer, dimer_system
from pinnff.physics import PhysicsSettings, Scales, degdme_topology, short_range_energy, total_energy
from pinnff.physics.pairs import build_pairs

TERMS = ("multipole", "vdw", "charge_transfer")
SETTINGS = PhysicsSettings(cutoff=None, ct_cutoff=6.0, scales=Scales(use_polar_groups=False), terms=TERMS)


def short(positions, topology, params, cutoff, width=1.0, cell=None):
    pairs = build_pairs(positions.detach(), cell, max(cutoff, SETTINGS.ct_cutoff) + 0.5)
    return short_range_energy(positions, topology, params, pairs, cutoff=cutoff, switch_width=width, settings=SETTINGS)


def test_pairs_inside_the_switch_give_the_plain_terms():
    """With every pair inside the switch's start, the energy is the unswitched multipoles, vdW and
    charge transfer of total_energy (an independent path: all pairs, no cutoff)."""
    x, topology, params = dimer_system(seed=1)
    reference, _ = total_energy(x, topology, params, settings=SETTINGS)
    assert float(short(x, topology, params, cutoff=40.0)) == pytest.approx(float(reference), rel=1e-12, abs=1e-9)


def test_molecules_beyond_the_cutoff_do_not_interact():
    _, topology, params = dimer_system(seed=2)
    far = torch.tensor(degdme_dimer(shift=(0.0, 0.0, 30.0)))
    a, b = far[:23], far[23:]
    one = degdme_topology(1)
    monomer = {k: v[:23] for k, v in params.items()}
    other = {k: v[23:] for k, v in params.items()}
    separate = short(a, one, monomer, 5.0) + short(b, one, other, 5.0)
    assert float(short(far, topology, params, 5.0)) == pytest.approx(float(separate), abs=1e-10)


def test_forces_are_minus_the_gradient_across_the_switch():
    """Central differences along a path that takes the closest contacts through the switching region."""
    _, topology, params = dimer_system(seed=3)
    x = torch.tensor(degdme_dimer(shift=(0.0, 0.5, 5.5)), requires_grad=True)
    (grad,) = torch.autograd.grad(short(x, topology, params, 5.0), x)
    h = 1e-5
    for atom, axis in [(0, 2), (30, 1), (40, 0), (12, 2)]:
        step = torch.zeros_like(x)
        step[atom, axis] = h
        with torch.no_grad():
            fd = (short(x + step, topology, params, 5.0) - short(x - step, topology, params, 5.0)) / (2 * h)
        assert float(grad[atom, axis]) == pytest.approx(float(fd), rel=1e-6, abs=1e-7)


def test_energy_is_smooth_through_the_switch():
    """Pulling one molecule away: the energy of the dimer changes continuously and its slope has no jump."""
    _, topology, params = dimer_system(seed=4)
    base = degdme_dimer(shift=(0.0, 0.0, 0.0))
    distances = np.linspace(4.0, 9.0, 201)
    energies = []
    for d in distances:
        x = base.copy()
        x[23:] += np.array([0.0, 0.0, d])
        energies.append(float(short(torch.tensor(x), topology, params, 5.0)))
    slope = np.diff(energies) / np.diff(distances)
    assert np.abs(np.diff(slope)).max() < 20 * np.abs(np.diff(slope)).mean()  # no kink (a cut would spike)
    assert energies[-1] == pytest.approx(energies[-2], abs=1e-8)  # beyond reach: constant (intramolecular)


def test_a_switch_wider_than_the_cutoff_is_refused():
    x, topology, params = dimer_system()
    with pytest.raises(ValueError, match="switch width"):
        short(x, topology, params, 5.0, width=5.0)
