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

from pinnff.physics import damping, native
from pinnff.physics.electrostatics import Electrostatics, pair_invariants
from pinnff.physics.kernels import fused
from pinnff.physics.pairs import PairList, Segments, energy_sum, segment_owners
from pinnff.physics.topology import Scales, Topology, list_scale

COULOMB = 332.0637
"""Coulomb constant, kcal*A/(mol*e^2) (Tinker's ``electric``)."""


def radial(r):
    """(rr1, rr3, rr5, rr7, rr9) = (1, 1, 3, 15, 105) / r^(1,3,5,7,9) for r (k,) in A."""
    rr1 = 1.0 / r
    r2 = rr1 * rr1
    rr3 = rr1 * r2
    rr5 = 3.0 * rr3 * r2
    rr7 = 5.0 * rr5 * r2
    rr9 = 7.0 * rr7 * r2
    return rr1, rr3, rr5, rr7, rr9


def multipole_pair_energy(r, f, rv, di, dk, qi, qk, ci, ck, cp=None, rr=None) -> torch.Tensor:
    """Pair energies (k,) in e^2/A of multipole pairs at distances ``r`` (k,) A.

    ``f``: radial factors (f1, f3, f5, f7, f9) (k,) of the point multipoles
    (``rr_n`` times the pair scale, Ewald-screened under Ewald/PME); ``rv`` (3, k) = x_k - x_i,
    dipoles ``di``, ``dk`` (3, k) and Q = Theta/3 ``qi``, ``qk`` (3, 3, k) of the two atoms
    (:func:`electrostatics.pair_invariants`); ``ci``, ``ck`` (k,) the charges. ``cp`` adds the
    GORDON2 charge-penetration correction: a tuple ``(zi, zk, ai, ak, scale)``
    of cores (k,) e, exponents (k,) 1/A and pair scales (k,), each damped
    channel contributing ``scale * (l_n - 1) * rr_n`` (core-core undamped). ``rr``: :func:`radial`
    of ``r`` when the caller has it.
    """
    t = pair_invariants(rv, di, dk, qi, qk)
    term4 = t["dir"] * t["qkr"] - t["dkr"] * t["qir"] - 4.0 * t["qik"]
    term5 = t["qir"] * t["qkr"]
    term3_mm = -t["dir"] * t["dkr"] + 2.0 * (t["dkqi"] - t["diqk"] + t["qiqk"])
    term1 = ci * ck
    term2 = ck * t["dir"] - ci * t["dkr"] + t["dik"]
    term3 = ci * t["qkr"] + ck * t["qir"] + term3_mm
    e = term1 * f[0] + term2 * f[1] + term3 * f[2] + term4 * f[3] + term5 * f[4]
    if cp is None:
        return e
    zi, zk, ai, ak, scale = cp
    rr = radial(r) if rr is None else rr
    vi, vk = ci - zi, ck - zk
    gi = [scale * x * rr[n] for n, x in enumerate(damping.cp_core_valence_deficit(r, ai))]
    gk = [scale * x * rr[n] for n, x in enumerate(damping.cp_core_valence_deficit(r, ak))]
    gv = [scale * x * rr[n] for n, x in enumerate(damping.cp_valence_valence_deficit(r, ai, ak))]
    e = e + zk * (vi * gi[0] + t["dir"] * gi[1] + t["qir"] * gi[2])
    e = e + zi * (vk * gk[0] - t["dkr"] * gk[1] + t["qkr"] * gk[2])
    return e + (vi * vk * gv[0] + (vk * t["dir"] - vi * t["dkr"] + t["dik"]) * gv[1]
                + (vi * t["qkr"] + vk * t["qir"] + term3_mm) * gv[2] + term4 * gv[3] + term5 * gv[4])


@fused
def row_pair_energy(r, f, rv, a_i, a_k, cp_i, cp_k, cp_scale, rr):
    """:func:`multipole_pair_energy` from the gathered per-atom rows ``a_i``, ``a_k`` (13, k) of both
    atoms of every pair: charge, dipole (3), Q = Theta/3 (9); with penetration ``cp_i``, ``cp_k``
    (2, k) their cores and exponents and ``cp_scale`` (k,) the pair scales (all None: no
    penetration). A fused kernel (the gathers stay outside: their backward, a scatter, is faster
    eager)."""
    cp = None if cp_scale is None else (cp_i[0], cp_k[0], cp_i[1], cp_k[1], cp_scale)
    return multipole_pair_energy(r, f, rv, a_i[1:4], a_k[1:4], a_i[4:13].reshape(3, 3, -1),
                                 a_k[4:13].reshape(3, 3, -1), a_i[0], a_k[0], cp, rr)


def _native_formula(i, j, rv, f, rows, core, alpha, cp_scale) -> torch.Tensor:
    """The pair energies (k,) of :func:`native.multipole_pairs` (same arguments) in torch: its second derivatives."""
    r = torch.linalg.norm(rv, dim=0)
    table = rows.T
    cp_i = cp_k = None
    if cp_scale is not None:
        core_alpha = torch.stack([core, alpha])
        cp_i, cp_k = core_alpha.index_select(1, i), core_alpha.index_select(1, j)
    return row_pair_energy(r, f, rv, table.index_select(1, i), table.index_select(1, j), cp_i, cp_k, cp_scale,
                           radial(r))


def _pair_factors(geo, topology: Topology, scales: Scales, ewald, dtype, switch: tuple[float, float] | None):
    """Geometry-only pieces of the pair energy: the pairs that interact (non-zero scale; all under
    Ewald), their scales (k,), :func:`radial` powers and the radial factors ``f`` of
    :func:`multipole_pair_energy` as rows (5, k); with a ``switch`` (on, off) A the scales and factors carry
    :func:`damping.quintic_taper`, so that every pair's whole energy fades out."""
    from pinnff.physics import ewald as ew

    scale = geo.gather(list_scale(topology, geo.pairs, scales.mpole, scales, dtype))
    if ewald is None:
        keep = torch.nonzero(scale != 0).flatten()
        geo, scale = geo.take(keep), scale.index_select(0, keep)
    rr = radial(geo.r)
    if ewald is None:
        f = [scale * x for x in rr]
    else:  # erfc-screened B_n plus (scale - 1) rr_n restores the exclusions
        f = [b + (scale - 1.0) * x for b, x in zip(ew.real_space_bn(geo.r, ewald.beta), rr)]
    if switch is not None:
        taper = damping.quintic_taper(geo.r, *switch)
        scale, f = scale * taper, [taper * x for x in f]
    return geo, scale, rr, torch.stack(f)


def pair_sum_energy(shared: Electrostatics, params: dict, cutoff: float | None, *, penetration: bool = True,
                    ewald=None, segments: Segments | None = None, switch: float | None = None) -> torch.Tensor:
    """The pair sum of the multipole energy (kcal/mol, scalar or per segment) over the pairs of
    ``shared`` within ``cutoff`` A: the whole energy without Ewald, its erfc-screened real-space part
    with ``ewald`` (which gives the splitting). ``switch`` (A): every pair energy fades out from
    ``switch`` to ``cutoff`` (the short-range part of multiple time stepping)."""
    if switch is not None and cutoff is None:
        raise ValueError("a switched multipole energy needs a cutoff")
    topology, scales = shared.topology, shared.scales
    geo = shared.geometry(cutoff)
    window = None if switch is None else (switch, cutoff)
    geo, scale, rr, f = geo.cached(("multipole", id(topology), scales, ewald, window),
                                   lambda: _pair_factors(geo, topology, scales, ewald, shared.positions.dtype, window))
    i, k, r = geo.i, geo.j, geo.r
    if native.available(r, shared.atom_rows):
        core, alpha = (params["cp_core"], params["cp_alpha"]) if penetration else (None, None)
        e = native.multipole_pairs(i, k, geo.components(), f, shared.atom_rows.T, core, alpha,
                                   scale if penetration else None, _native_formula, summed=True,
                                   owners=segment_owners(segments, i))
        return COULOMB * e
    cp_i = cp_k = None
    if penetration:
        core_alpha = torch.stack([params["cp_core"], params["cp_alpha"]])  # (2, n)
        cp_i, cp_k = core_alpha.index_select(1, i), core_alpha.index_select(1, k)
    e = row_pair_energy(r, f, geo.components(), *shared.pair_rows(geo), cp_i, cp_k,
                        scale if penetration else None, rr)
    return COULOMB * energy_sum(e, i, segments)


def permanent_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                     pairs: PairList | None = None, cutoff: float | None = None,
                     penetration: bool = True, scales: Scales = Scales(), ewald=None,
                     segments: Segments | None = None, shared=None) -> torch.Tensor:
    """Permanent multipole energy, kcal/mol: a scalar, or ``(segments.size,)`` per segment.

    positions (n, 3) A; params 'charge' (n,), 'dipole' (n, 3), 'quadrupole'
    (n, 3, 3) in the local frame, plus 'cp_core' (n,) e and 'cp_alpha' (n,)
    1/A when ``penetration``. Pairs are scaled by ``scales.mpole``.
    Periodic cells need ``ewald`` (:class:`pinnff.physics.ewald.EwaldSettings`,
    plain Ewald or PME); its cutoff is the real-space cutoff. ``segments``
    (non-periodic only) returns one energy per independent structure of a batch.
    ``shared``: an :class:`pinnff.physics.electrostatics.Electrostatics` of the
    same arguments, to share work with the polarization term (built here when None).
    """
    from pinnff.physics import ewald as ew

    if segments is not None and ewald is not None:
        raise ValueError("per-segment energies are non-periodic only")
    if shared is None:
        shared = Electrostatics(positions, topology, params, cell, pairs=pairs, cutoff=cutoff, ewald=ewald,
                                scales=scales)
    energy = pair_sum_energy(shared, params, ewald.cutoff if ewald is not None else cutoff, penetration=penetration,
                             ewald=ewald, segments=segments)
    if ewald is not None:
        q, d, Q = shared.q, shared.d, shared.Q
        energy = energy + shared.reciprocal.energy(q, d, Q, COULOMB)
        energy = energy + ew.self_energy(ewald.beta, q, d, Q, COULOMB)
    return energy
