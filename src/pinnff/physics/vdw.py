"""Buffered 14-7 van der Waals (Halgren), AMOEBA style (torch).

E = eps * (1.07/(rho + 0.07))^7 * (1.12/(rho^7 + 0.12) - 2),  rho = r/R,
R = (R_i^3 + R_k^3)/(R_i^2 + R_k^2)  (cubic mean of R_min, A),
eps = 4 e_i e_k/(sqrt(e_i) + sqrt(e_k))^2 (HHG) or
eps = 2 sqrt(e_i e_k) R_i^3 R_k^3/(R_i^6 + R_k^6) (W-H), kcal/mol.
Sites of reduced atoms (hydrogens) sit at x_parent + f (x - x_parent).
"""

from __future__ import annotations

import functools
import math

import torch

from pinnff.physics import native
from pinnff.physics.damping import quintic_taper
from pinnff.physics.kernels import fused
from pinnff.physics.pairs import PairList, Segments, build_pairs, energy_sum, frozen, pair_geometry, segment_owners
from pinnff.physics.topology import Scales, Topology, list_scale

EPSILON_RULES = {"HHG": 0, "W-H": 1}
"""The epsilon combining rules by their code in the native kernel."""

SITE_MARGIN_STEP = 0.25
"""A: vdW sites closer than their atoms widen a list's cutoff by a multiple of this."""


def vdw_sites(positions: torch.Tensor, topology: Topology, reduction: torch.Tensor) -> torch.Tensor:
    """Interaction sites (n, 3) A: hydrogens pulled toward their parent by ``reduction`` (n,)."""
    parent = positions.index_select(0, topology.tensor("vdw_parent", positions.device))
    return parent + reduction[:, None] * (positions - parent)


def combine(params: dict, i: torch.Tensor, k: torch.Tensor, epsilon_rule: str = "HHG"):
    """Pair R_min (A) and epsilon (kcal/mol) from per-atom 'vdw_radius', 'vdw_epsilon'."""
    return combine_rows(*_pair_rows(params, i, k), epsilon_rule)


def _pair_rows(params: dict, i: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """R_min and epsilon of both atoms of the pairs ``i``, ``k``: (ri, rk, ei, ek), each (k,)."""
    return (params["vdw_radius"].index_select(0, i), params["vdw_radius"].index_select(0, k),
            params["vdw_epsilon"].index_select(0, i), params["vdw_epsilon"].index_select(0, k))


def combine_rows(ri, rk, ei, ek, epsilon_rule: str = "HHG"):
    """Pair R_min (A) and epsilon (kcal/mol) from both atoms' radii ``ri``, ``rk`` and wells ``ei``, ``ek`` (k,)."""
    ri2, rk2 = ri * ri, rk * rk
    rmin = (ri2 * ri + rk2 * rk) / (ri2 + rk2)
    if epsilon_rule.upper() == "HHG":
        eps = 4.0 * ei * ek / (ei.sqrt() + ek.sqrt()) ** 2
    elif epsilon_rule.upper() == "W-H":
        ri3, rk3 = ri2 * ri, rk2 * rk
        eps = 2.0 * (ei * ek).sqrt() * ri3 * rk3 / (ri3 * ri3 + rk3 * rk3)
    else:
        raise ValueError(f"unknown epsilon rule {epsilon_rule!r}")
    return rmin, eps


def buffered_14_7(r: torch.Tensor, rmin: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Pair energies (k,) kcal/mol of the buffered 14-7 potential."""
    rho = r / rmin
    rho2 = rho * rho
    rho7 = rho2 * rho2 * rho2 * rho
    tau = 1.07 / (rho + 0.07)
    tau2 = tau * tau
    return eps * (tau2 * tau2 * tau2 * tau) * (1.12 / (rho7 + 0.12) - 2.0)  # products: cheaper than pow


def vdw_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
               pairs: PairList | None = None, cutoff: float | None = None, taper: float = 0.9,
               epsilon_rule: str = "HHG", scales: Scales = Scales(), segments: Segments | None = None) -> torch.Tensor:
    """Buffered 14-7 energy, kcal/mol: a scalar, or ``(segments.size,)`` per segment.

    params: 'vdw_radius' (n,) A, 'vdw_epsilon' (n,) kcal/mol, 'vdw_reduction'
    (n,). With a ``cutoff`` (A) the energy is switched off smoothly from
    ``taper * cutoff`` to ``cutoff``. Pairs scaled by ``scales.vdw``.
    """
    reduction = params["vdw_reduction"]
    sites, moved = frozen(topology.memo, "vdw_sites", (positions, reduction), lambda: _sites(positions, topology,
                                                                                             reduction))
    margin = 0.0
    if pairs is None:
        pairs = build_pairs(sites, cell, None if cutoff is None else cutoff)
    elif cutoff is not None:  # a list built on atoms: sites may be closer than their atoms
        margin = SITE_MARGIN_STEP * math.ceil(2.0 * moved / SITE_MARGIN_STEP)
    if native.available(sites, params["vdw_radius"], params["vdw_epsilon"]):
        if epsilon_rule.upper() not in EPSILON_RULES:
            raise ValueError(f"unknown epsilon rule {epsilon_rule!r}")
        sub = pairs if cutoff is None else pairs.within(cutoff + margin)
        scale = list_scale(topology, sub, scales.vdw, scales, sites.dtype)
        r_on, r_off = (math.inf, math.inf) if cutoff is None else (taper * cutoff, cutoff)
        formula = functools.partial(_switched_pair_energies, epsilon_rule=epsilon_rule, r_on=r_on, r_off=r_off)
        e = native.pair_energies("vdw", sub.i, sub.j, sites, sub.shift, scale, params["vdw_radius"],
                                 params["vdw_epsilon"], r_on, r_off, formula, EPSILON_RULES[epsilon_rule.upper()],
                                 summed=True, owners=segment_owners(segments, sub.i))
        return e
    geo = pair_geometry(sites, pairs, cutoff, margin=margin)
    weight = geo.cached(("vdw", id(topology), scales, cutoff, taper), lambda: _pair_weight(geo, topology, scales,
                                                                                          cutoff, taper, sites.dtype))
    return energy_sum(pair_energy(geo.r, *_pair_rows(params, geo.i, geo.j), weight, epsilon_rule), geo.i, segments)


@fused
def pair_energy(r, ri, rk, ei, ek, weight, epsilon_rule: str) -> torch.Tensor:
    """Weighted buffered 14-7 energies (k,) kcal/mol of pairs at ``r`` (k,) A from both atoms' radii and
    wells (:func:`combine_rows`) and the geometry-only ``weight`` (k,). A fused kernel."""
    return buffered_14_7(r, *combine_rows(ri, rk, ei, ek, epsilon_rule)) * weight


def _switched_pair_energies(i, j, sites, shift, scale, radius, eps, *, epsilon_rule: str, r_on: float,
                            r_off: float) -> torch.Tensor:
    """Energies (k,) kcal/mol of the pairs ``i``, ``j`` of ``sites`` (n, 3) A, as the native ``vdw`` term
    (:func:`native.pair_energies`) defines them (``shift`` (k, 3) or None, ``scale`` (k,), switched from ``r_on`` to ``r_off`` A,
    zero beyond): its torch formula, for derivatives of second order."""
    rvec = sites.index_select(0, j) - sites.index_select(0, i)
    r = torch.linalg.norm(rvec if shift is None else rvec + shift, dim=-1)
    if math.isfinite(r_off):
        scale = scale * quintic_taper(r, r_on, r_off) * (r < r_off)
    return pair_energy(r, radius.index_select(0, i), radius.index_select(0, j), eps.index_select(0, i),
                       eps.index_select(0, j), scale, epsilon_rule)


def _sites(positions: torch.Tensor, topology: Topology, reduction: torch.Tensor) -> tuple[torch.Tensor, float]:
    """:func:`vdw_sites` and how far (A) the farthest site lies from its atom."""
    sites = vdw_sites(positions, topology, reduction)
    return sites, float((sites.detach() - positions.detach()).norm(dim=-1).max())


def _pair_weight(geo, topology: Topology, scales: Scales, cutoff: float | None, taper: float, dtype) -> torch.Tensor:
    """Geometry-only factor (k,) of each pair's energy: its scale times the switch (when cut off)."""
    weight = geo.gather(list_scale(topology, geo.pairs, scales.vdw, scales, dtype))
    return weight if cutoff is None else weight * quintic_taper(geo.r, taper * cutoff, cutoff)



MAX_CLASSES = 64
"""More distinct (R_min, epsilon) rows than this and the tail correction groups atoms by element."""


def _gauss_legendre(n: int, lo: float, hi: float, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights (n,) of Gauss-Legendre quadrature on [lo, hi]."""
    import numpy as np

    x, w = np.polynomial.legendre.leggauss(n)
    nodes = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    return (torch.as_tensor(nodes, dtype=dtype, device=device),
            torch.as_tensor(0.5 * (hi - lo) * w, dtype=dtype, device=device))


def tail_integral(rmin: torch.Tensor, eps: torch.Tensor, cutoff: float, taper: float = 0.9,
                  n_points: int = 48) -> torch.Tensor:
    """``I = int_{taper*cutoff}^inf E_14-7(r) (1 - S(r)) r^2 dr`` (kcal/mol*A^3) for pair parameters
    ``rmin`` (m,) A and ``eps`` (m,) kcal/mol: the part of each pair's buffered 14-7 energy that the
    quintic switch S and the cutoff remove. Gauss-Legendre on [taper*cutoff, cutoff], and on
    x = cutoff/r in (0, 1] beyond (integrand ~ x^3 there)."""
    dtype, device = rmin.dtype, rmin.device
    r_on = taper * cutoff
    r1, w1 = _gauss_legendre(n_points, r_on, cutoff, dtype, device)
    x2, w2 = _gauss_legendre(n_points, 0.0, 1.0, dtype, device)
    r2 = cutoff / x2
    inner = buffered_14_7(r1[None, :], rmin[:, None], eps[:, None]) * (1.0 - quintic_taper(r1, r_on, cutoff)) * r1 * r1
    outer = buffered_14_7(r2[None, :], rmin[:, None], eps[:, None]) * cutoff ** 3 / x2 ** 4
    return (inner * w1).sum(-1) + (outer * w2).sum(-1)


def _parameter_classes(topology: Topology, radius: torch.Tensor, epsilon: torch.Tensor) -> torch.Tensor:
    """Classes (n,) int64 of the long-range correction: atoms of equal (R_min, epsilon), or by element
    beyond :data:`MAX_CLASSES`. The latest parameters and classes are kept on the topology, so fixed
    parameters (the prior's, a per-type table's, every MD step) are classified once."""
    known = topology.memo.get("vdw_classes")
    if known is not None and torch.equal(known[0], radius) and torch.equal(known[1], epsilon):
        return known[2]
    # equal (R_min, epsilon) rows: codes of each column combined
    _, code_r = torch.unique(radius, return_inverse=True)
    _, code_e = torch.unique(epsilon, return_inverse=True)
    _, classes = torch.unique(code_r * (int(code_e.max()) + 1) + code_e, return_inverse=True)
    if int(classes.max()) + 1 > MAX_CLASSES:
        names = sorted(set(topology.symbols))
        classes = torch.as_tensor([names.index(s) for s in topology.symbols], device=radius.device)
    topology.memo["vdw_classes"] = (radius.clone(), epsilon.clone(), classes)
    return classes


def long_range_correction(topology: Topology, params: dict, cell, cutoff: float, taper: float = 0.9,
                          epsilon_rule: str = "HHG", classes: torch.Tensor | None = None) -> torch.Tensor:
    """Isotropic long-range correction of the tapered, cut buffered 14-7 energy (kcal/mol, scalar).

    Tinker's ``evcorr``: beyond the switch the liquid is taken as uniform, so
    ``E_lrc = (2 pi / V) sum_{a, b} N_a N_b I_ab`` over atom classes a, b with
    ``N_a`` atoms each, ``I_ab`` the :func:`tail_integral` of their combined
    parameters and V the cell volume (A^3; differentiable in ``cell`` (3, 3),
    so the pressure gets its share, dE/dV = -E/V). Classes: ``classes`` (n,)
    int64 if given, else atoms with equal 'vdw_radius' and 'vdw_epsilon';
    with more than :data:`MAX_CLASSES` such rows (per-atom network parameters)
    atoms are grouped by element. A class takes its atoms' mean parameters
    (exact when they are equal, as Tinker's atom types are). Hydrogen
    reduction is immaterial for a uniform tail and is ignored, as in Tinker.
    """
    radius, epsilon = params["vdw_radius"], params["vdw_epsilon"]
    if classes is None:
        classes = _parameter_classes(topology, radius.detach(), epsilon.detach())
    size = int(classes.max()) + 1
    count = torch.zeros(size, dtype=radius.dtype, device=radius.device).index_add(0, classes, torch.ones_like(radius))
    mean = {key: torch.zeros_like(count).index_add(0, classes, params[key]) / count
            for key in ("vdw_radius", "vdw_epsilon")}
    a, b = torch.meshgrid(torch.arange(size, device=radius.device), torch.arange(size, device=radius.device),
                          indexing="ij")
    rmin, eps = combine(mean, a.reshape(-1), b.reshape(-1), epsilon_rule)
    integral = tail_integral(rmin, eps, cutoff, taper)
    cell_t = torch.as_tensor(cell, dtype=radius.dtype, device=radius.device)
    if cell_t.shape == (3,):
        cell_t = torch.diag(cell_t)
    volume = torch.abs(torch.linalg.det(cell_t))
    pairs = count[a.reshape(-1)] * count[b.reshape(-1)]
    return 2.0 * math.pi / volume * (pairs * integral).sum()
