"""Two-site analytic values, limits and tapers of the AMOEBA+ terms."""

import math

import numpy as np
import pytest
import torch

from pinnff.physics import charge_transfer_energy, permanent_energy, vdw_energy
from pinnff.physics import damping
from pinnff.physics.topology import NO_AXIS, Topology

F = 332.0637


def two_sites(r, **params):
    topo = Topology(n_atoms=2, bonds=np.zeros((0, 2)), mol_id=[0, 1], axis_type=[NO_AXIS] * 2,
                    frame_z=[-1, -1], frame_x=[-1, -1], frame_y=[-1, -1], polar_group=[0, 1], vdw_parent=[0, 1])
    pos = torch.tensor([[0.0, 0.0, 0.0], [r, 0.0, 0.0]], dtype=torch.float64)
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()}
    p.setdefault("dipole", torch.zeros(2, 3, dtype=torch.float64))
    p.setdefault("quadrupole", torch.zeros(2, 3, 3, dtype=torch.float64))
    return pos, topo, p


@pytest.mark.parametrize("alphas", [(3.978, 5.531), (3.5, 3.5)])
def test_charge_penetration_two_charges(alphas):
    r, (qi, qk), (zi, zk) = 2.3, (-0.4, 0.25), (8.0, 6.0)
    ai, ak = alphas
    pos, topo, p = two_sites(r, charge=[qi, qk], cp_core=[zi, zk], cp_alpha=list(alphas))
    vi, vk = qi - zi, qk - zk
    ei, ek = math.exp(-ai * r), math.exp(-ak * r)
    if ai == ak:
        vv = 1 - (1 + 0.5 * ai * r) * ei
    else:
        vv = 1 - ak ** 2 / (ak ** 2 - ai ** 2) * ei - ai ** 2 / (ai ** 2 - ak ** 2) * ek
    expected = F / r * (zi * zk + zk * vi * (1 - ei) + zi * vk * (1 - ek) + vi * vk * vv)
    assert permanent_energy(pos, topo, p).item() == pytest.approx(expected, rel=1e-12)
    # far apart, penetration vanishes: plain Coulomb
    pos_far = pos * 10
    assert permanent_energy(pos_far, topo, p).item() == pytest.approx(F * qi * qk / (10 * r), rel=1e-9)


def test_penetration_off_is_point_multipoles_at_long_range():
    from helpers import random_multipoles

    pos, topo, p = two_sites(25.0, charge=[-0.4, 0.3], cp_core=[6.0, 4.0], cp_alpha=[3.0, 4.5])
    p = random_multipoles(p, seed=1)
    on = permanent_energy(pos, topo, p, penetration=True).item()
    off = permanent_energy(pos, topo, p, penetration=False).item()
    assert on == pytest.approx(off, rel=1e-12)


def test_valence_valence_damping_is_continuous_at_equal_alpha():
    r = torch.linspace(0.5, 6.0, 12, dtype=torch.float64)
    a = torch.full_like(r, 4.0)
    equal = damping.cp_valence_valence(r, a, a)
    for delta in (1.001e-3, 2e-3):  # just outside the equal-exponent branch
        near = damping.cp_valence_valence(r, a, a + delta)
        for e, n in zip(equal, near):
            assert torch.allclose(e, n, atol=5 * delta)
    # the unequal formula is symmetric in i and k
    x, y = damping.cp_valence_valence(r, a, a + 1.0), damping.cp_valence_valence(r, a + 1.0, a)
    for u, v in zip(x, y):
        assert torch.allclose(u, v, rtol=1e-12)


def test_damping_gradients_finite_at_equal_alpha():
    r = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([4.0], dtype=torch.float64, requires_grad=True)
    total = sum(d.sum() for d in damping.cp_valence_valence(r, a, a.detach().clone()))
    grads = torch.autograd.grad(total, (r, a))
    assert all(torch.isfinite(g).all() for g in grads)


def test_charge_transfer_two_sites_and_taper():
    ai, ak, bi, bk = 7.979, 12.918, 3.116, 5.273
    cutoff, taper = 6.0, 0.9

    def energy(r):
        pos, topo, p = two_sites(r, ct_A=[ai, ak], ct_B=[bi, bk])
        return charge_transfer_energy(pos, topo, p, cutoff=cutoff, taper=taper)

    r = 2.1
    expected = -F * math.sqrt(ai * ak) * math.exp(-0.5 * (bi + bk) * r)
    assert energy(r).item() == pytest.approx(expected, rel=1e-12)
    assert energy(cutoff + 0.01).item() == 0.0
    # smooth: value and slope continuous at both ends of the switch
    h = 1e-5
    for r0 in (taper * cutoff, cutoff):
        lo, hi = energy(r0 - h).item(), energy(r0 + h).item()
        assert abs(hi - lo) < 1e-9
        slope_lo = (energy(r0 - h).item() - energy(r0 - 2 * h).item()) / h
        slope_hi = (energy(r0 + 2 * h).item() - energy(r0 + h).item()) / h
        assert abs(slope_hi - slope_lo) < 1e-6


def test_taper_polynomial():
    r = torch.linspace(0.0, 10.0, 101, dtype=torch.float64)
    s = damping.quintic_taper(r, 4.0, 8.0)
    assert (s[r <= 4.0] == 1).all() and (s[r >= 8.0] == 0).all()
    assert s[60].item() == pytest.approx(0.5)  # midpoint


@pytest.mark.parametrize("rule", ["HHG", "W-H"])
def test_vdw_two_sites(rule):
    ri, rk, ei, ek = 3.729, 3.826, 0.111, 0.134
    rmin = (ri ** 3 + rk ** 3) / (ri ** 2 + rk ** 2)
    if rule == "HHG":
        eps = 4 * ei * ek / (math.sqrt(ei) + math.sqrt(ek)) ** 2
    else:
        eps = 2 * math.sqrt(ei * ek) * ri ** 3 * rk ** 3 / (ri ** 6 + rk ** 6)
    for r in (rmin, 3.1, 5.0):
        pos, topo, p = two_sites(r, vdw_radius=[ri, rk], vdw_epsilon=[ei, ek], vdw_reduction=[1.0, 1.0])
        rho = r / rmin
        expected = eps * (1.07 / (rho + 0.07)) ** 7 * (1.12 / (rho ** 7 + 0.12) - 2)
        assert vdw_energy(pos, topo, p, epsilon_rule=rule).item() == pytest.approx(expected, rel=1e-12)
    pos, topo, p = two_sites(rmin, vdw_radius=[ri, rk], vdw_epsilon=[ei, ek], vdw_reduction=[1.0, 1.0])
    assert vdw_energy(pos, topo, p, epsilon_rule=rule).item() == pytest.approx(-eps, rel=1e-12)


def test_vdw_hydrogen_reduction():
    # H (atom 2) bonded to C (atom 1), probed by atom 0: site moves toward the parent
    topo = Topology(n_atoms=3, bonds=[(1, 2)], mol_id=[0, 1, 1], axis_type=[NO_AXIS] * 3, frame_z=[-1] * 3,
                    frame_x=[-1] * 3, frame_y=[-1] * 3, polar_group=[0, 1, 2], vdw_parent=[0, 1, 1])
    pos = torch.tensor([[0.0, 0, 0], [6.0, 0, 0], [5.0, 0, 0]], dtype=torch.float64)
    p = dict(vdw_radius=torch.tensor([3.0, 3.0, 3.0], dtype=torch.float64),
             vdw_epsilon=torch.tensor([0.1, 0.0, 0.1], dtype=torch.float64),
             vdw_reduction=torch.tensor([1.0, 1.0, 0.9], dtype=torch.float64))
    # only the 0-2 pair has non-zero epsilon; its site sits at 6 - 0.9 = 5.1 A
    eps = 4 * 0.1 * 0.1 / (2 * math.sqrt(0.1)) ** 2
    rho = 5.1 / 3.0
    expected = eps * (1.07 / (rho + 0.07)) ** 7 * (1.12 / (rho ** 7 + 0.12) - 2)
    assert vdw_energy(pos, topo, p).item() == pytest.approx(expected, rel=1e-12)
