"""Buffered 14-7 van der Waals (Halgren), AMOEBA style (torch).

E = eps * (1.07/(rho + 0.07))^7 * (1.12/(rho^7 + 0.12) - 2),  rho = r/R,
R = (R_i^3 + R_k^3)/(R_i^2 + R_k^2)  (cubic mean of R_min, A),
eps = 4 e_i e_k/(sqrt(e_i) + sqrt(e_k))^2 (HHG) or
eps = 2 sqrt(e_i e_k) R_i^3 R_k^3/(R_i^6 + R_k^6) (W-H), kcal/mol.
Sites of reduced atoms (hydrogens) sit at x_parent + f (x - x_parent).
"""

from __future__ import annotations

import math

import torch

from pinnff.physics.damping import quintic_taper
from pinnff.physics.pairs import PairList, Segments, build_pairs, energy_sum, pair_geometry
from pinnff.physics.topology import Scales, Topology, list_scale

SITE_MARGIN_STEP = 0.25
"""A: vdW sites closer than their atoms widen a list's cutoff by a multiple of this."""


def vdw_sites(positions: torch.Tensor, topology: Topology, reduction: torch.Tensor) -> torch.Tensor:
    """Interaction sites (n, 3) A: hydrogens pulled toward their parent by ``reduction`` (n,)."""
    parent = positions.index_select(0, topology.tensor("vdw_parent", positions.device))
    return parent + reduction[:, None] * (positions - parent)


def combine(params: dict, i: torch.Tensor, k: torch.Tensor, epsilon_rule: str = "HHG"):
    """Pair R_min (A) and epsilon (kcal/mol) from per-atom 'vdw_radius', 'vdw_epsilon'."""
    ri, rk = params["vdw_radius"].index_select(0, i), params["vdw_radius"].index_select(0, k)
    ei, ek = params["vdw_epsilon"].index_select(0, i), params["vdw_epsilon"].index_select(0, k)
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
    rho7 = rho ** 7
    return eps * (1.07 / (rho + 0.07)) ** 7 * (1.12 / (rho7 + 0.12) - 2.0)


def vdw_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
               pairs: PairList | None = None, cutoff: float | None = None, taper: float = 0.9,
               epsilon_rule: str = "HHG", scales: Scales = Scales(), segments: Segments | None = None) -> torch.Tensor:
    """Buffered 14-7 energy, kcal/mol: a scalar, or ``(segments.size,)`` per segment.

    params: 'vdw_radius' (n,) A, 'vdw_epsilon' (n,) kcal/mol, 'vdw_reduction'
    (n,). With a ``cutoff`` (A) the energy is switched off smoothly from
    ``taper * cutoff`` to ``cutoff``. Pairs scaled by ``scales.vdw``.
    """
    sites = vdw_sites(positions, topology, params["vdw_reduction"])
    margin = 0.0
    if pairs is None:
        pairs = build_pairs(sites, cell, None if cutoff is None else cutoff)
    elif cutoff is not None:  # a list built on atoms: sites may be closer than their atoms
        moved = float((sites.detach() - positions.detach()).norm(dim=-1).max())
        margin = SITE_MARGIN_STEP * math.ceil(2.0 * moved / SITE_MARGIN_STEP)
    geo = pair_geometry(sites, pairs, cutoff, margin=margin)
    scale = geo.gather(list_scale(topology, geo.pairs, scales.vdw, scales, positions.dtype))
    rmin, eps = combine(params, geo.i, geo.j, epsilon_rule)
    e = buffered_14_7(geo.r, rmin, eps) * scale
    if cutoff is not None:
        e = e * quintic_taper(geo.r, taper * cutoff, cutoff)
    return energy_sum(e, geo.i, segments)

