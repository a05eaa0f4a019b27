"""Forces are -dE/dx (finite differences, frame rotations included); invariances;
solver consistency; float32."""

import numpy as np
import pytest
import torch

from helpers import dimer_system
from pinnff.geometry import random_rotation
from pinnff.physics import (PhysicsSettings, PolarizationSettings, Scales, charge_transfer_energy,
                            permanent_energy, polarization_energy, total_energy, vdw_energy)

TERMS = {
    "multipole": lambda x, t, p: permanent_energy(x, t, p),
    "multipole_no_cp": lambda x, t, p: permanent_energy(x, t, p, penetration=False),
    "pol_mutual": lambda x, t, p: polarization_energy(x, t, p, settings=PolarizationSettings(tol=1e-10)),
    "pol_groups_thole": lambda x, t, p: polarization_energy(
        x, t, p, scales=Scales(use_polar_groups=True),
        settings=PolarizationSettings(direct_damping="thole", solver="exact")),
    "pol_extrapolated": lambda x, t, p: polarization_energy(x, t, p, settings=PolarizationSettings(solver="extrapolated")),
    "vdw": lambda x, t, p: vdw_energy(x, t, p),
    "charge_transfer": lambda x, t, p: charge_transfer_energy(x, t, p),
}


@pytest.fixture(scope="module")
def system():
    x, topo, params = dimer_system(seed=2)
    # groups: one per molecule's CH3-O / CH2-CH2 fragments is not needed; use heavy atom + its H's
    groups = np.arange(topo.n_atoms)
    groups[topo.vdw_parent != np.arange(topo.n_atoms)] = topo.vdw_parent[topo.vdw_parent != np.arange(topo.n_atoms)]
    topo.polar_group = groups
    return x, topo, params


@pytest.mark.parametrize("name", list(TERMS))
def test_forces_match_finite_differences(system, name):
    x, topo, params = system
    fn = TERMS[name]
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(xg, topo, params), xg)
    rng = np.random.default_rng(0)
    h = 1e-4
    for atom, axis in zip(rng.choice(len(x), 6, replace=False), rng.integers(0, 3, 6)):
        xp, xm = x.clone(), x.clone()
        xp[atom, axis] += h
        xm[atom, axis] -= h
        fd = (fn(xp, topo, params) - fn(xm, topo, params)).item() / (2 * h)
        assert grad[atom, axis].item() == pytest.approx(fd, abs=1e-6 + 1e-5 * abs(fd)), (atom, axis)


def test_total_energy_invariances(system):
    x, topo, params = system
    settings = PhysicsSettings(polarization=PolarizationSettings(tol=1e-10))
    e0, parts0 = total_energy(x, topo, params, settings=settings)
    rot = torch.tensor(random_rotation(np.random.default_rng(5)))
    e1, parts1 = total_energy(x @ rot.T + torch.tensor([1.0, -2.0, 3.5], dtype=x.dtype), topo, params,
                              settings=settings)
    assert e1.item() == pytest.approx(e0.item(), rel=1e-9, abs=1e-9)
    for key in parts0:
        assert parts1[key].item() == pytest.approx(parts0[key].item(), rel=1e-8, abs=1e-8)
    # swap the two (topologically identical) molecules with their parameters
    n = topo.n_atoms // 2
    perm = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    swapped = {k: v[perm] for k, v in params.items()}
    e2, _ = total_energy(x[perm], topo, swapped, settings=settings)
    assert e2.item() == pytest.approx(e0.item(), rel=1e-9)


def test_mutual_cg_matches_exact_solver_including_parameter_gradients(system):
    x, topo, params = system
    alpha = params["polarizability"].clone().requires_grad_(True)
    grads = {}
    for solver in ("mutual", "exact"):
        p = dict(params, polarizability=alpha)
        e = polarization_energy(x, topo, p, settings=PolarizationSettings(solver=solver, tol=1e-11))
        grads[solver] = (e.item(), torch.autograd.grad(e, alpha)[0])
    assert grads["mutual"][0] == pytest.approx(grads["exact"][0], rel=1e-9)
    assert torch.allclose(grads["mutual"][1], grads["exact"][1], rtol=1e-6, atol=1e-8)


def test_float32_agrees_with_float64():
    x64, topo, p64 = dimer_system(seed=2)
    x32, _, p32 = dimer_system(seed=2, dtype=torch.float32)
    settings = PhysicsSettings(polarization=PolarizationSettings(tol=1e-5))
    e64, _ = total_energy(x64, topo, p64, settings=settings)
    e32, _ = total_energy(x32, topo, p32, settings=settings)
    assert e32.dtype == torch.float32
    assert e32.item() == pytest.approx(e64.item(), rel=1e-4, abs=1e-3)
