"""Permanent multipole electrostatics up to quadrupole-quadrupole, with optional
GORDON2 charge penetration (torch).

Conventions: ``quadrupole`` is the traceless Buckingham quadrupole Theta
(e*A^2; the values of a Tinker .prm file, three times OpenMM's), so the
potential of a site is ``q/r + mu.r/r^3 + r.Theta.r/r^5``. The pair energy
uses the Cartesian multipole formulas of Tinker's empole (interaction terms
term1..term5 multiplying 1/r, 1/r^3, 3/r^5, 15/r^7, 105/r^9), with
``r = x_k - x_i`` and Q = Theta/3.

With penetration each charge is split into a core ``Z`` and a valence part
``q - Z``: core-core is undamped, core_k with valence/multipoles of i is
damped by :func:`damping.cp_core_valence` (alpha_i), and valence-valence by
:func:`damping.cp_valence_valence`.
"""

from __future__ import annotations

import torch

from pinnff.physics import damping
from pinnff.physics.frames import lab_multipoles
from pinnff.physics.pairs import PairList, Segments, electrostatic_pairs, energy_sum
from pinnff.physics.topology import Scales, Topology, pair_scale

COULOMB = 332.0637
"""Coulomb constant, kcal*A/(mol*e^2) (Tinker's ``electric``)."""


def lab_frame(positions, topology, params):
    """Charges (n,), lab dipoles (n, 3) and lab Q = Theta/3 (n, 3, 3) from per-atom params."""
    d, theta = lab_multipoles(positions, topology, params["dipole"], params["quadrupole"])
    return params["charge"], d, theta / 3.0


def pair_terms(rvec, di, dk, Qi, Qk):
    """Shared scalar invariants of a multipole pair (all (k,)).

    Returns dir = di.r, dkr = dk.r, dik = di.dk, qir = r.Qi.r, qkr = r.Qk.r,
    qik = Qi:Qk, diqk = di.Qk.r, dkqi = dk.Qi.r, qiqk = (Qi r).(Qk r),
    and the vectors Qi r, Qk r.
    """
    qi_r = torch.einsum("kab,kb->ka", Qi, rvec)
    qk_r = torch.einsum("kab,kb->ka", Qk, rvec)
    return dict(
        dir=(di * rvec).sum(-1), dkr=(dk * rvec).sum(-1), dik=(di * dk).sum(-1),
        qir=(qi_r * rvec).sum(-1), qkr=(qk_r * rvec).sum(-1), qik=(qi_r * qk_r).sum(-1),
        diqk=(di * qk_r).sum(-1), dkqi=(dk * qi_r).sum(-1), qiqk=(Qi * Qk).sum((-1, -2)),
        qi_r=qi_r, qk_r=qk_r,
    )


def radial(r):
    """(rr1, rr3, rr5, rr7, rr9) = (1, 1, 3, 15, 105) / r^(1,3,5,7,9) for r (k,) in A."""
    rr1 = 1.0 / r
    r2 = rr1 * rr1
    rr3 = rr1 * r2
    rr5 = 3.0 * rr3 * r2
    rr7 = 5.0 * rr5 * r2
    rr9 = 7.0 * rr7 * r2
    return rr1, rr3, rr5, rr7, rr9


def permanent_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                     pairs: PairList | None = None, cutoff: float | None = None,
                     penetration: bool = True, scales: Scales = Scales(), ewald=None,
                     segments: Segments | None = None) -> torch.Tensor:
    """Permanent multipole energy, kcal/mol: a scalar, or ``(segments.size,)`` per segment.

    positions (n, 3) A; params 'charge' (n,), 'dipole' (n, 3), 'quadrupole'
    (n, 3, 3) in the local frame, plus 'cp_core' (n,) e and 'cp_alpha' (n,)
    1/A when ``penetration``. Pairs are scaled by ``scales.mpole``.
    Periodic cells need ``ewald`` (:class:`pinnff.physics.ewald.EwaldSettings`);
    its cutoff is the real-space cutoff. ``segments`` (non-periodic only) returns
    one energy per independent structure of a batch.
    """
    from pinnff.physics import ewald as ew

    if segments is not None and ewald is not None:
        raise ValueError("per-segment energies are non-periodic only")

    cell_t, pairs = electrostatic_pairs(positions, cell, pairs, cutoff, ewald, scales.intermolecular_only)
    q, d, Q = lab_frame(positions, topology, params)
    i, k = pairs.i, pairs.j
    rvec, r = pairs.vectors(positions)
    scale = pair_scale(topology, i, k, scales.mpole, scales, positions.dtype)
    if ewald is None:
        keep = scale != 0
        if cutoff is not None:
            keep = keep & (r <= cutoff)
        i, k, rvec, r, scale = i[keep], k[keep], rvec[keep], r[keep], scale[keep]
    else:
        keep = r <= ewald.cutoff
        i, k, rvec, r, scale = i[keep], k[keep], rvec[keep], r[keep], scale[keep]
    rr = radial(r)
    base = [torch.zeros_like(r)] * 5 if ewald is None else [b - u for b, u in zip(ew.real_space_bn(r, ewald.beta), rr)]

    def eff(damp):
        """Radial factors rr1..rr9 of one damping channel (damp: tuple, or None for undamped)."""
        return [base[n] + scale * (rr[n] if damp is None else damp[n] * rr[n]) for n in range(5)]

    t = pair_terms(rvec, d.index_select(0, i), d.index_select(0, k), Q.index_select(0, i), Q.index_select(0, k))
    ci, ck = q.index_select(0, i), q.index_select(0, k)
    term4 = t["dir"] * t["qkr"] - t["dkr"] * t["qir"] - 4.0 * t["qik"]
    term5 = t["qir"] * t["qkr"]
    term3_mm = -t["dir"] * t["dkr"] + 2.0 * (t["dkqi"] - t["diqk"] + t["qiqk"])
    # point multipoles (undamped channel) ...
    f = eff(None)
    term1 = ci * ck
    term2 = ck * t["dir"] - ci * t["dkr"] + t["dik"]
    term3 = ci * t["qkr"] + ck * t["qir"] + term3_mm
    e = term1 * f[0] + term2 * f[1] + term3 * f[2] + term4 * f[3] + term5 * f[4]
    if penetration:
        # ... plus the short-range charge-penetration correction, sum over channels of
        # scale * (l_n - 1) * rr_n (the core-core channel is undamped)
        zi, zk = params["cp_core"].index_select(0, i), params["cp_core"].index_select(0, k)
        ai, ak = params["cp_alpha"].index_select(0, i), params["cp_alpha"].index_select(0, k)
        vi, vk = ci - zi, ck - zk
        gi = [scale * x * rr[n] for n, x in enumerate(damping.cp_core_valence_deficit(r, ai))]
        gk = [scale * x * rr[n] for n, x in enumerate(damping.cp_core_valence_deficit(r, ak))]
        gv = [scale * x * rr[n] for n, x in enumerate(damping.cp_valence_valence_deficit(r, ai, ak))]
        e = e + zk * (vi * gi[0] + t["dir"] * gi[1] + t["qir"] * gi[2])
        e = e + zi * (vk * gk[0] - t["dkr"] * gk[1] + t["qkr"] * gk[2])
        e = e + (vi * vk * gv[0] + (vk * t["dir"] - vi * t["dkr"] + t["dik"]) * gv[1]
                 + (vi * t["qkr"] + vk * t["qir"] + term3_mm) * gv[2] + term4 * gv[3] + term5 * gv[4])
    energy = COULOMB * energy_sum(e, i, segments)
    if ewald is not None:
        energy = energy + ew.reciprocal_energy(positions, cell_t, ewald, q, d, Q, COULOMB)
        energy = energy + ew.self_energy(ewald.beta, q, d, Q, COULOMB)
    return energy
