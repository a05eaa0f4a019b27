"""AMOEBA+ charge transfer, "COMBINED" form (torch).

E_ct = -332.0637 * sqrt(A_i A_k) * exp(-(B_i + B_k) r / 2) per pair (kcal/mol),
A in Tinker's units (e^2/A, so that f*A is kcal/mol), B in 1/A, pairs scaled
like permanent multipoles, switched smoothly to zero between
``taper * cutoff`` and ``cutoff`` (Tinker echgtrn with its quintic switch).
"""

from __future__ import annotations

import torch

from pinnff.physics.damping import quintic_taper
from pinnff.physics.multipole import COULOMB
from pinnff.physics.pairs import PairList, Segments, build_pairs, energy_sum, pair_geometry
from pinnff.physics.topology import Scales, Topology, list_scale


def charge_transfer_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                           pairs: PairList | None = None, cutoff: float = 6.0, taper: float = 0.9,
                           scales: Scales = Scales(), segments: Segments | None = None) -> torch.Tensor:
    """Charge-transfer energy, kcal/mol (scalar, or ``(segments.size,)`` per segment);
    params 'ct_A' (n,), 'ct_B' (n,) 1/A."""
    if pairs is None:
        pairs = build_pairs(positions, cell, cutoff)
    geo = pair_geometry(positions, pairs, cutoff)
    i, k, r = geo.i, geo.j, geo.r
    weight = geo.cached(("charge_transfer", id(topology), scales, cutoff, taper), lambda: -COULOMB * geo.gather(
        list_scale(topology, geo.pairs, scales.mpole, scales, positions.dtype)) * quintic_taper(r, taper * cutoff, cutoff))
    a = (params["ct_A"].index_select(0, i) * params["ct_A"].index_select(0, k)).abs().sqrt()
    e = a * torch.exp(-0.5 * (params["ct_B"].index_select(0, i) + params["ct_B"].index_select(0, k)) * r)
    return energy_sum(e * weight, i, segments)
