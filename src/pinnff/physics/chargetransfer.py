"""AMOEBA+ charge transfer, "COMBINED" form (torch).

E_ct = -332.0637 * sqrt(A_i A_k) * exp(-(B_i + B_k) r / 2) per pair (kcal/mol),
A in Tinker's units (e^2/A, so that f*A is kcal/mol), B in 1/A, pairs scaled
like permanent multipoles, switched smoothly to zero between
``taper * cutoff`` and ``cutoff`` (Tinker echgtrn with its quintic switch).
"""

from __future__ import annotations

import functools

import torch

from pinnff.physics import native
from pinnff.physics.damping import quintic_taper
from pinnff.physics.kernels import fused
from pinnff.physics.multipole import COULOMB
from pinnff.physics.pairs import PairList, Segments, build_pairs, energy_sum, pair_geometry, segment_owners
from pinnff.physics.topology import Scales, Topology, list_scale


def charge_transfer_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                           pairs: PairList | None = None, cutoff: float = 6.0, taper: float = 0.9,
                           scales: Scales = Scales(), segments: Segments | None = None) -> torch.Tensor:
    """Charge-transfer energy, kcal/mol (scalar, or ``(segments.size,)`` per segment);
    params 'ct_A' (n,), 'ct_B' (n,) 1/A."""
    if pairs is None:
        pairs = build_pairs(positions, cell, cutoff)
    if native.available(positions, params["ct_A"], params["ct_B"]):
        sub = pairs.within(cutoff)
        scale = -COULOMB * list_scale(topology, sub, scales.mpole, scales, positions.dtype)
        formula = functools.partial(_switched_pair_energies, r_on=taper * cutoff, r_off=cutoff)
        e = native.pair_energies("ct", sub.i, sub.j, positions, sub.shift, scale, params["ct_A"], params["ct_B"],
                                 taper * cutoff, cutoff, formula, summed=True,
                                 owners=segment_owners(segments, sub.i))
        return e
    geo = pair_geometry(positions, pairs, cutoff)
    i, k, r = geo.i, geo.j, geo.r
    weight = geo.cached(("charge_transfer", id(topology), scales, cutoff, taper),  # geometry only: built once
                        lambda: -COULOMB * quintic_taper(r, taper * cutoff, cutoff)
                        * geo.gather(list_scale(topology, geo.pairs, scales.mpole, scales, positions.dtype)))
    a_b = torch.stack([params["ct_A"], params["ct_B"]])  # (2, n)
    return energy_sum(pair_energy(r, a_b.index_select(1, i), a_b.index_select(1, k), weight), i, segments)


def _switched_pair_energies(i, j, x, shift, scale, a, b, *, r_on: float, r_off: float) -> torch.Tensor:
    """Energies (k,) kcal/mol of the pairs ``i``, ``j`` at ``x`` (n, 3) A as the native ``ct`` term
    (:func:`native.pair_energies`) defines them (``scale`` (k,) carries -332.0637; switched from ``r_on``
    to ``r_off`` A, zero beyond): its torch formula, for derivatives of second order."""
    rvec = x.index_select(0, j) - x.index_select(0, i)
    r = torch.linalg.norm(rvec if shift is None else rvec + shift, dim=-1)
    weight = scale * quintic_taper(r, r_on, r_off) * (r < r_off)
    a_b = torch.stack([a, b])
    return pair_energy(r, a_b.index_select(1, i), a_b.index_select(1, j), weight)


@fused
def pair_energy(r: torch.Tensor, ab_i: torch.Tensor, ab_k: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``weight sqrt|A_i A_k| exp(-(B_i + B_k) r / 2)`` (k,) of pairs at ``r`` (k,) A from both atoms' (A, B)
    rows ``ab_i``, ``ab_k`` (2, k) and the geometry-only ``weight`` (k,) (switch, scale, -332.0637). A fused kernel."""
    return weight * (ab_i[0] * ab_k[0]).abs().sqrt() * torch.exp(-0.5 * (ab_i[1] + ab_k[1]) * r)
