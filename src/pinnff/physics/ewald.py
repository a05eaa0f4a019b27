"""Ewald summation for point multipoles (charge, dipole, quadrupole) and induced
dipoles under periodic boundaries (torch): the splitting, the real-space
functions and self terms shared by both reciprocal-space methods, and the
plain reciprocal sum over k-vectors, kept as the reference. The fast method
for liquid boxes is smooth PME (:mod:`pinnff.physics.pme`, ``method="pme"``),
whose measured error against this sum is listed in that module.

Splitting: real space uses B_n(r) (erfc-screened versions of 1, 1, 3, 15,
105 / r^(2n+1)); reciprocal space sums over lattice vectors k with
|k| <= k_max; self terms remove each site's interaction with its own
screening cloud. For a pair with scale factor s and short-range damping d_n
(charge penetration, Thole), the real-space radial factor of order n is

    (B_n - rr_n) + s * d_n * rr_n

so the Ewald sum handles the undamped point multipoles of every pair and the
real-space correction restores exclusions and damping.

Multipole operator convention: L_j = q_j + d_j . grad + Q_j : grad grad with
Q = Theta/3 (as in :mod:`multipole`), so the structure factor is
S(k) = sum_j (q_j + i k.d_j - k.Q_j.k) exp(i k.r_j) and
E_rec = (f / 2V) sum_{k != 0} (4 pi / k^2) exp(-k^2 / 4 beta^2) |S(k)|^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class EwaldSettings:
    """Real-space ``cutoff`` (A) and relative ``tolerance``: beta from erfc(beta rc) = tol,
    k_max from exp(-k^2/(4 beta^2)) = tol.

    ``method``: "ewald" sums every reciprocal vector up to k_max (the
    reference; O(N^1.5) at best) and "pme" uses smooth particle-mesh Ewald
    (:mod:`pinnff.physics.pme`) with grid points at most ``pme_spacing`` A
    apart and B-splines of order ``pme_order``.
    """

    cutoff: float = 9.0
    tolerance: float = 1.0e-6
    method: str = "ewald"
    pme_spacing: float = 0.8
    pme_order: int = 5

    def __post_init__(self):
        if self.method not in ("ewald", "pme"):
            raise ValueError(f"unknown Ewald method {self.method!r} (ewald | pme)")
        if self.pme_order < 4:
            raise ValueError(f"pme_order must be at least 4 (quadrupole forces), got {self.pme_order}")

    @property
    def beta(self) -> float:
        """Ewald screening parameter (1/A): root of erfc(beta * cutoff) = tolerance."""
        lo, hi = 0.0, 10.0
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if math.erfc(mid * self.cutoff) > self.tolerance:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    @property
    def kmax(self) -> float:
        return 2.0 * self.beta * math.sqrt(-math.log(self.tolerance))


def real_space_bn(r: torch.Tensor, beta: float, nmax: int = 4) -> list[torch.Tensor]:
    """B_0..B_nmax (k,) for distances r (A): B_0 = erfc(beta r)/r and the upward recursion
    B_n = ((2n - 1) B_(n-1) + (2 beta^2)^n exp(-beta^2 r^2) / (beta sqrt(pi))) / r^2."""
    r2 = r * r
    ex = torch.exp(-beta * beta * r2)
    out = [torch.erfc(beta * r) / r]
    a = 1.0 / (beta * math.sqrt(math.pi)) if beta > 0 else 0.0
    for n in range(1, nmax + 1):
        a *= 2.0 * beta * beta
        out.append(((2 * n - 1) * out[-1] + a * ex) / r2)
    return out


def kvectors(cell: torch.Tensor, settings: EwaldSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Half of the reciprocal lattice vectors with 0 < |k| <= k_max (one of each +-k pair), (m, 3) 1/A,
    and the weights 2 * 4 pi / k^2 exp(-k^2 / 4 beta^2) / V (the factor 2 counts -k)."""
    beta, kmax = settings.beta, settings.kmax
    recip = 2.0 * math.pi * torch.linalg.inv(cell).T  # rows: reciprocal vectors
    nmax = [int(math.ceil(kmax / float(torch.linalg.norm(recip[a]).detach()))) for a in range(3)]
    grids = torch.meshgrid(*[torch.arange(-m, m + 1, device=cell.device) for m in nmax], indexing="ij")
    m = torch.stack([g.flatten() for g in grids], dim=1)
    # keep one of each +-m pair: first non-zero component positive
    first = torch.where(m[:, 0] != 0, m[:, 0], torch.where(m[:, 1] != 0, m[:, 1], m[:, 2]))
    m = m[first > 0].to(cell.dtype)
    k = m @ recip
    k2 = (k * k).sum(-1)
    keep = k2 <= kmax * kmax
    k, k2 = k[keep], k2[keep]
    volume = torch.abs(torch.linalg.det(cell))
    weight = 2.0 * 4.0 * math.pi / k2 * torch.exp(-k2 / (4.0 * beta * beta)) / volume
    return k, weight


class KSpace:
    """Reciprocal-space sums for one geometry: k vectors, weights and phases are built once
    and reused (e.g. for every iteration of the induced-dipole solver)."""

    def __init__(self, positions: torch.Tensor, cell: torch.Tensor, settings: EwaldSettings):
        self.k, self.w = kvectors(cell, settings)
        phase = positions @ self.k.T  # (n, m)
        self.c, self.s = torch.cos(phase), torch.sin(phase)
        self._last = None  # (multipoles, structure factor) of the latest call

    def structure_factor(self, q=None, d=None, Q=None):
        """Re and Im of S(k) (m,) for multipoles (any of q, d, Q may be None); the latest is kept,
        so the energy and the field of the same multipole tensors share it."""
        key = (q, d, Q)
        if self._last is None or any(a is not b for a, b in zip(self._last[0], key)):
            self._last = (key, self._structure_factor(q, d, Q))
        return self._last[1]

    def _structure_factor(self, q, d, Q):
        """Re and Im of S(k) (m,) by matrix products."""
        k, c, s = self.k, self.c, self.s
        re = torch.zeros(k.shape[0], dtype=c.dtype, device=c.device)
        im = torch.zeros_like(re)
        if q is not None:
            re = re + q @ c
            im = im + q @ s
        if Q is not None:
            kk = (k[:, :, None] * k[:, None, :]).reshape(-1, 9)  # (m, 9)
            kqk = Q.reshape(-1, 9) @ kk.T  # (n, m)
            re = re - (kqk * c).sum(0)
            im = im - (kqk * s).sum(0)
        if d is not None:  # S += i k.d (cos + i sin)
            re = re - ((d.T @ s) * k.T).sum(0)
            im = im + ((d.T @ c) * k.T).sum(0)
        return re, im

    def energy(self, q, d, Q, coulomb):
        """Reciprocal-space energy (kcal/mol with ``coulomb`` the Coulomb constant)."""
        re, im = self.structure_factor(q, d, Q)
        return 0.5 * coulomb * (self.w * (re * re + im * im)).sum()

    def field(self, q=None, d=None, Q=None):
        """Reciprocal-space field (n, 3) e/A^2 at every site (includes each site's own screening
        cloud; add :func:`self_field` to remove it). phi(r) = sum_k w Re[e^{ikr} S*(k)], E = -grad phi."""
        re, im = self.structure_factor(q, d, Q)
        return self.s @ (self.k * (self.w * re)[:, None]) - self.c @ (self.k * (self.w * im)[:, None])


def reciprocal_space(positions: torch.Tensor, cell: torch.Tensor, settings: EwaldSettings):
    """The reciprocal-space sum of ``settings.method`` for one geometry: :class:`KSpace` (plain
    Ewald) or :class:`pinnff.physics.pme.PMEGrid`; both offer ``energy(q, d, Q, coulomb)``
    and ``field(q, d, Q)``."""
    if settings.method == "pme":
        from pinnff.physics.pme import PMEGrid

        return PMEGrid(positions, cell, settings)
    return KSpace(positions, cell, settings)


def self_energy(beta, q, d, Q, coulomb):
    """Ewald self energy (kcal/mol): -f beta/sqrt(pi) (q^2 + 2 beta^2 |d|^2 / 3 + 8 beta^4 Q:Q / 5)."""
    term = 2.0 * beta * beta
    e = q * q
    if d is not None:
        e = e + term * (d * d).sum(-1) / 3.0
    if Q is not None:
        e = e + 2.0 * term * term * (Q * Q).sum((-1, -2)) / 5.0
    return -coulomb * beta / math.sqrt(math.pi) * e.sum()


def self_field(beta, d):
    """Field (n, 3) cancelling each dipole's own reciprocal-space field: 4 beta^3 / (3 sqrt(pi)) d."""
    return 4.0 * beta ** 3 / (3.0 * math.sqrt(math.pi)) * d
