"""Long-range vdW correction: the tail integral against scipy's adaptive quadrature of the
buffered 14-7 written out here, the class sums, and the volume dependence."""

import math

import numpy as np
import pytest
import torch

from pinnff.physics import degdme_topology, prior_parameters
from pinnff.physics.vdw import long_range_correction, tail_integral

CUT, TAPER = 9.0, 0.9


def _hal(r, rmin, eps):
    """Buffered 14-7 (Halgren), written independently of pinnff: kcal/mol."""
    rho = r / rmin
    return eps * (1.07 / (rho + 0.07)) ** 7 * (1.12 / (rho ** 7 + 0.12) - 2.0)


def _switch(r, on, off):
    t = min(max((r - on) / (off - on), 0.0), 1.0)
    return 1.0 - 10 * t ** 3 + 15 * t ** 4 - 6 * t ** 5


def _quad(rmin, eps, cut=CUT, taper=TAPER):
    from scipy.integrate import quad

    on = taper * cut
    inner, _ = quad(lambda r: _hal(r, rmin, eps) * (1.0 - _switch(r, on, cut)) * r * r, on, cut,
                    epsabs=1e-13, epsrel=1e-12)
    outer, _ = quad(lambda r: _hal(r, rmin, eps) * r * r, cut, np.inf, epsabs=1e-13, epsrel=1e-12)
    return inner + outer


@pytest.mark.parametrize("rmin, eps", [(3.7, 0.11), (3.46, 0.008), (4.2, 0.3)])
def test_tail_integral_matches_adaptive_quadrature(rmin, eps):
    got = tail_integral(torch.tensor([rmin], dtype=torch.float64), torch.tensor([eps], dtype=torch.float64),
                        CUT, TAPER).item()
    assert got == pytest.approx(_quad(rmin, eps), rel=1e-9)
    assert got < 0.0  # dispersion tail: attractive


def test_correction_sums_classes_and_scales_as_one_over_volume():
    n_mol = 3
    topo = degdme_topology(n_mol)
    params = prior_parameters(n_mol)
    edge = 14.0
    cell = (torch.eye(3, dtype=torch.float64) * edge).requires_grad_(True)
    e = long_range_correction(topo, params, cell, CUT, TAPER, "HHG")
    # reference: element classes (the priors are per element), HHG epsilon, cubic-mean radius
    from pinnff.physics.degdme import ELEMENT_PRIORS

    counts = {s: topo.symbols.count(s) for s in set(topo.symbols)}
    ref = 0.0
    for a, na in counts.items():
        for b, nb in counts.items():
            ra, rb = ELEMENT_PRIORS[a]["vdw_radius"], ELEMENT_PRIORS[b]["vdw_radius"]
            ea, eb = ELEMENT_PRIORS[a]["vdw_epsilon"], ELEMENT_PRIORS[b]["vdw_epsilon"]
            rmin = (ra ** 3 + rb ** 3) / (ra ** 2 + rb ** 2)
            eps = 4 * ea * eb / (math.sqrt(ea) + math.sqrt(eb)) ** 2
            ref += na * nb * _quad(rmin, eps)
    ref *= 2 * math.pi / edge ** 3
    assert e.item() == pytest.approx(ref, rel=1e-8)
    (grad,) = torch.autograd.grad(e, cell)
    # E = C / V: dE/dL = -3 E / L along each edge of a cube
    assert torch.allclose(torch.diagonal(grad), torch.full((3,), -e.item() / edge, dtype=torch.float64), rtol=1e-10)


def test_per_atom_parameters_fall_back_to_element_means():
    topo = degdme_topology(4)
    params = prior_parameters(4)
    g = torch.Generator().manual_seed(0)
    jittered = dict(params)
    jittered["vdw_radius"] = params["vdw_radius"] + 1e-3 * torch.randn(len(topo.symbols), generator=g,
                                                                      dtype=torch.float64)
    cell = torch.eye(3, dtype=torch.float64) * 16.0
    e0 = long_range_correction(topo, params, cell, CUT, TAPER).item()
    e1 = long_range_correction(topo, jittered, cell, CUT, TAPER).item()
    assert e1 == pytest.approx(e0, rel=1e-3) and e1 != e0
