"""Smooth PME against plain Ewald on a small periodic DEGDME box: splines, energies, forces,
the cell derivative, and the neighbour-list bookkeeping that the fast path relies on."""

import numpy as np
import pytest
import torch

from helpers import degdme_dimer, random_multipoles
from pinnff.physics import (PhysicsSettings, PolarizationSettings, Scales, degdme_topology, permanent_energy,
                            polarization_energy, prior_parameters, total_energy)
from pinnff.physics.ewald import EwaldSettings
from pinnff.physics.pairs import NeighborCache, build_pairs
from pinnff.physics.pme import bspline_weights

BOX = 13.0
CUT = 6.0
EWALD = EwaldSettings(cutoff=CUT, tolerance=1e-5)
PME = EwaldSettings(cutoff=CUT, tolerance=1e-5, method="pme", pme_spacing=0.5)
SCALES = Scales(use_polar_groups=False)
E_TOL = 1e-4
"""Energy agreement of PME (0.5 A grid, order 5) with Ewald at the same splitting, kcal/mol per atom."""
F_TOL = 3e-3
"""RMS force difference relative to the RMS force."""


@pytest.fixture(scope="module")
def box():
    topo = degdme_topology(2)
    params = random_multipoles(prior_parameters(2), seed=4, scale=0.5)
    pos = torch.tensor(degdme_dimer(shift=(0.0, 0.5, 6.0)) + np.array([3.0, 3.0, 0.5]))
    cell = torch.eye(3, dtype=torch.float64) * BOX
    return pos, topo, params, cell


TERMS = {
    "multipole": lambda x, t, p, c, ew: permanent_energy(x, t, p, c, ewald=ew, scales=SCALES),
    "pol_extrapolated": lambda x, t, p, c, ew: polarization_energy(
        x, t, p, c, ewald=ew, scales=SCALES, settings=PolarizationSettings(solver="extrapolated")),
    "pol_mutual": lambda x, t, p, c, ew: polarization_energy(
        x, t, p, c, ewald=ew, scales=SCALES, settings=PolarizationSettings(solver="mutual", tol=1e-8)),
}


def _energy_forces(fn, pos, topo, params, cell, ew):
    x = pos.clone().requires_grad_(True)
    e = fn(x, topo, params, cell, ew)
    (g,) = torch.autograd.grad(e, x)
    return e.item(), -g


def test_bspline_weights_partition_unity_and_differentiate():
    w = torch.linspace(0.0, 0.999, 7, dtype=torch.float64)
    m = bspline_weights(w, 5, 2)
    assert torch.allclose(m[:, 0].sum(-1), torch.ones(7, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(m[:, 1].sum(-1), torch.zeros(7, dtype=torch.float64), atol=1e-13)
    h = 1e-6
    fd = (bspline_weights(w + h, 5, 0)[:, 0] - bspline_weights(w - h, 5, 0)[:, 0]) / (2 * h)
    assert torch.allclose(m[:, 1], fd, atol=1e-8)
    fd2 = (bspline_weights(w + h, 5, 1)[:, 1] - bspline_weights(w - h, 5, 1)[:, 1]) / (2 * h)
    assert torch.allclose(m[:, 2], fd2, atol=1e-7)


@pytest.mark.parametrize("name", list(TERMS))
def test_pme_matches_ewald(box, name):
    pos, topo, params, cell = box
    e_ref, f_ref = _energy_forces(TERMS[name], pos, topo, params, cell, EWALD)
    e, f = _energy_forces(TERMS[name], pos, topo, params, cell, PME)
    assert abs(e - e_ref) <= E_TOL * len(pos), (e, e_ref)
    assert ((f - f_ref) ** 2).mean().sqrt() <= F_TOL * (f_ref ** 2).mean().sqrt()


def test_pme_error_shrinks_with_the_grid(box):
    pos, topo, params, cell = box
    fn = TERMS["multipole"]
    _, f_ref = _energy_forces(fn, pos, topo, params, cell, EWALD)
    errors = []
    for spacing in (1.2, 0.4):
        ew = EwaldSettings(cutoff=CUT, tolerance=1e-5, method="pme", pme_spacing=spacing)
        _, f = _energy_forces(fn, pos, topo, params, cell, ew)
        errors.append(float((f - f_ref).abs().max()))
    assert errors[1] < 0.2 * errors[0], errors


@pytest.mark.parametrize("name", ["multipole", "pol_extrapolated"])
def test_pme_forces_match_finite_differences(box, name):
    pos, topo, params, cell = box
    fn = TERMS[name]
    _, f = _energy_forces(fn, pos, topo, params, cell, PME)
    rng = np.random.default_rng(1)
    h = 1e-4
    for atom, axis in zip(rng.choice(len(pos), 5, replace=False), rng.integers(0, 3, 5)):
        xp, xm = pos.clone(), pos.clone()
        xp[atom, axis] += h
        xm[atom, axis] -= h
        fd = -(fn(xp, topo, params, cell, PME) - fn(xm, topo, params, cell, PME)).item() / (2 * h)
        assert f[atom, axis].item() == pytest.approx(fd, abs=1e-5 + 1e-5 * abs(fd)), (atom, axis)


def test_pme_cell_derivative_matches_finite_differences(box):
    """The strain derivative (stress) of the PME energy: positions and cell deformed together."""
    pos, topo, params, cell = box
    fn = TERMS["multipole"]

    def energy(strain):
        deformation = torch.eye(3, dtype=torch.float64) + strain
        return fn(pos @ deformation, topo, params, cell @ deformation, PME)

    strain = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(energy(strain), strain)
    h = 1e-5
    for a, b in ((0, 0), (1, 2), (2, 1)):
        d = torch.zeros(3, 3, dtype=torch.float64)
        d[a, b] = h
        fd = (energy(d) - energy(-d)).item() / (2 * h)
        assert grad[a, b].item() == pytest.approx(fd, rel=1e-5, abs=1e-4)


def test_neighbour_cache_sublists_give_the_fresh_list_energy(box):
    """After moves inside the skin, the cached list (sub-lists per cutoff, memoized scales) gives the
    energy of a freshly built list, for every term (vdW sites included)."""
    pos, topo, params, cell = box
    settings = PhysicsSettings(cutoff=6.0, ct_cutoff=5.0, ewald=PME, scales=SCALES,
                               polarization=PolarizationSettings(solver="extrapolated"))
    cache = NeighborCache(cutoff=6.0, skin=1.0)
    total_energy(pos, topo, params, cell, settings=settings, neighbors=cache)
    rng = np.random.default_rng(3)
    moved = pos + torch.tensor(rng.uniform(-0.28, 0.28, size=pos.shape))
    e_cached, parts_cached = total_energy(moved, topo, params, cell, settings=settings, neighbors=cache)
    assert cache.builds == 1
    e_fresh, parts_fresh = total_energy(moved, topo, params, cell, settings=settings)
    for key in parts_fresh:
        assert parts_cached[key].item() == pytest.approx(parts_fresh[key].item(), rel=1e-12, abs=1e-10), key
    assert len(build_pairs(moved, cell, 6.0).i) < len(cache.get(moved, cell).i)  # the skin holds extra pairs


def test_neighbour_cache_survives_a_small_volume_move_and_rebuilds_after_a_large_one(box):
    """A barostat's move (cell scaled, molecules' positions scaled with it) within the skin's
    strain budget keeps the list, with shifts from the new cell and the fresh list's energy; a
    strain beyond the budget rebuilds it."""
    pos, topo, params, cell = box
    settings = PhysicsSettings(cutoff=6.0, ct_cutoff=5.0, ewald=PME, scales=SCALES,
                               polarization=PolarizationSettings(solver="extrapolated"))
    cache = NeighborCache(cutoff=6.0, skin=1.0)
    total_energy(pos, topo, params, cell, settings=settings, neighbors=cache)
    for factor, builds in ((1.01, 1), (1.0, 1), (1.06, 2)):  # |M| (6 + 1) = 0.07 < 1; 0.42 + moves > 1
        scaled_cell = cell * factor
        scaled = pos * factor + (0.2 if factor > 1.05 else 0.0)
        _, parts_cached = total_energy(scaled, topo, params, scaled_cell, settings=settings, neighbors=cache)
        assert cache.builds == builds
        assert cache.get(scaled, scaled_cell) is cache.get(scaled, scaled_cell)  # shifts set once per cell
        _, parts_fresh = total_energy(scaled, topo, params, scaled_cell, settings=settings)
        for key in parts_fresh:
            assert parts_cached[key].item() == pytest.approx(parts_fresh[key].item(), rel=1e-12, abs=1e-10), key


def test_exclusions_apply_to_the_nearest_image_only(box):
    """With a real-space cutoff beyond half the box, farther images of bonded pairs are ordinary
    pairs: the Ewald energy does not depend on the cutoff at fixed splitting beta (charge
    penetration off and Thole u^3 direct damping: the longer-ranged GORDON2 and AMOEBA+ u^1.5
    damping deficits are themselves cut at the real-space cutoff)."""
    import math

    from scipy.special import erfc

    pos, topo, params, cell = box
    beta = EwaldSettings(cutoff=CUT, tolerance=1e-9).beta
    energies = []
    for cutoff in (CUT, 9.0):  # 9 A > half of the 13 A box
        ew = EwaldSettings(cutoff=cutoff, tolerance=float(erfc(beta * cutoff)))
        assert math.isclose(ew.beta, beta, rel_tol=1e-6)
        settings = PhysicsSettings(cutoff=6.0, ewald=ew, scales=SCALES, terms=("multipole", "polarization"),
                                   penetration=False,
                                   polarization=PolarizationSettings(solver="mutual", tol=1e-8,
                                                                     direct_damping="thole"))
        energies.append(total_energy(pos, topo, params, cell, settings=settings)[1])
    for key in energies[0]:
        assert energies[1][key].item() == pytest.approx(energies[0][key].item(), abs=1e-6), key
