"""Every damping function of the AMOEBA/AMOEBA+ terms, in one place (torch).

All functions take pair distances ``r`` (k,) in Angstrom plus per-pair
parameters and return a tuple of damping factors, one per power of 1/r that
the caller multiplies: index ``n`` of the tuple belongs to ``rr(2n+1)``
(``rr1 = 1/r``, ``rr3 = 1/r^3``, ...). A factor of 1 means "undamped".

Sources (read, not copied): Tinker ``damping.f`` (dampthole, damppole with
GORDON2), Rackers et al. PCCP 19, 276 (2017) and Liu et al. JCTC 15, 4122
(2019). Equal-exponent limits of the two-site charge penetration damping are
evaluated with their own closed forms; the unequal branch is only evaluated
with a safe denominator so gradients stay finite on both sides.
"""

from __future__ import annotations

import torch

EQUAL_ALPHA_TOL = 1.0e-3
"""|alpha_i - alpha_k| (1/A) below which the equal-exponent GORDON2 formulas are used (Tinker's eps)."""


def _thole_argument(r: torch.Tensor, pdamp_ik: torch.Tensor, a, power: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``u = a (r / pdamp)^power`` and ``exp(-u)``; pairs with ``pdamp == 0`` get u = 100 (no damping)."""
    active = pdamp_ik > 0
    safe = torch.where(active, pdamp_ik, torch.ones_like(pdamp_ik))
    x = r / safe
    xp = x * x * x if power == 3 else x * torch.sqrt(x) if power == 1.5 else x ** power  # products beat pow
    u = torch.where(active, a * xp, torch.full_like(r, 100.0))
    return u, torch.exp(-u)


def thole_u3(r: torch.Tensor, pdamp_ik: torch.Tensor, a: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Original AMOEBA Thole damping ``u = a (r / (alpha_i alpha_k)^(1/6))^3``.

    ``pdamp_ik`` (k,) is ``(alpha_i alpha_k)^(1/6)`` in A (zero disables the
    damping for that pair), ``a`` the dimensionless Thole width (0.39).
    Returns ``(l3, l5, l7)`` for the ``1/r^3, 1/r^5, 1/r^7`` field terms.
    """
    u, e = _thole_argument(r, pdamp_ik, a, 3)
    l3 = 1.0 - e
    l5 = 1.0 - (1.0 + u) * e
    l7 = 1.0 - (1.0 + u + 0.6 * u * u) * e
    return l3, l5, l7


def thole_u15(r: torch.Tensor, pdamp_ik: torch.Tensor, a: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """AMOEBA+ direct-field damping ``u = a_dir (r / (alpha_i alpha_k)^(1/6))^1.5``.

    Same arguments and returns as :func:`thole_u3` (``a`` ~ 0.70).
    """
    u, e = _thole_argument(r, pdamp_ik, a, 1.5)
    l3 = 1.0 - e
    l5 = 1.0 - (1.0 + 0.5 * u) * e
    l7 = 1.0 - (1.0 + 0.65 * u + 0.15 * u * u) * e
    return l3, l5, l7


def cp_core_valence(r: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """GORDON2 damping of one site's valence density seen by a point charge (core).

    ``alpha`` (k,) in 1/A is the exponent of the site whose valence cloud is
    damped. Returns ``(l1, l3, l5, l7)``::

        l1 = 1 - e,  l3 = 1 - (1 + x) e,  l5 = 1 - (1 + x + x^2/3) e,
        l7 = 1 - (1 + x + 2x^2/5 + x^3/15) e,   x = alpha r, e = exp(-x)
    """
    return tuple(1.0 + v for v in cp_core_valence_deficit(r, alpha))


def cp_core_valence_deficit(r: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``l_n - 1`` of :func:`cp_core_valence`, computed without cancellation (float32-safe)."""
    x = alpha * r
    e = torch.exp(-x)
    x2 = x * x
    return (-e, -(1.0 + x) * e, -(1.0 + x + x2 / 3.0) * e, -(1.0 + x + 0.4 * x2 + x2 * x / 15.0) * e)


def _vv_poly(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Polynomials multiplying exp(-x) in the unequal-exponent valence-valence GORDON2 factors."""
    x2 = x * x
    x3 = x2 * x
    return (torch.ones_like(x), 1.0 + x, 1.0 + x + x2 / 3.0, 1.0 + x + 0.4 * x2 + x3 / 15.0,
            1.0 + x + 3.0 * x2 / 7.0 + 2.0 * x3 / 21.0 + x2 * x2 / 105.0)


def cp_valence_valence(r: torch.Tensor, alpha_i: torch.Tensor, alpha_k: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """GORDON2 damping between the valence clouds of sites i and k.

    Returns ``(l1, l3, l5, l7, l9)``. For ``alpha_i != alpha_k``::

        l_n = 1 - A_i P_n(alpha_i r) e_i - A_k P_n(alpha_k r) e_k,
        A_i = alpha_k^2/(alpha_k^2 - alpha_i^2), A_k = alpha_i^2/(alpha_i^2 - alpha_k^2)

    and for equal exponents (|difference| < EQUAL_ALPHA_TOL) the analytic limit
    ``l1 = 1 - (1 + x/2) e, l3 = 1 - (1 + x + x^2/2) e, ...``.
    """
    return tuple(1.0 + v for v in cp_valence_valence_deficit(r, alpha_i, alpha_k))


def cp_valence_valence_deficit(r: torch.Tensor, alpha_i: torch.Tensor, alpha_k: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``l_n - 1`` of :func:`cp_valence_valence`, computed without cancellation (float32-safe)."""
    xi = alpha_i * r
    ei = torch.exp(-xi)
    equal = (alpha_i - alpha_k).abs() < EQUAL_ALPHA_TOL
    # equal-exponent limit (uses alpha_i)
    x = xi
    x2 = x * x
    x3 = x2 * x
    x4 = x2 * x2
    base = 1.0 + x + 0.5 * x2
    eq = (-(1.0 + 0.5 * x) * ei,
          -base * ei,
          -(base + x3 / 6.0) * ei,
          -(base + x3 / 6.0 + x4 / 30.0) * ei,
          -(base + x3 / 6.0 + 4.0 * x4 / 105.0 + x4 * x / 210.0) * ei)
    # unequal exponents, with a denominator that cannot vanish
    ai2 = alpha_i * alpha_i
    ak2 = alpha_k * alpha_k
    denom = torch.where(equal, torch.ones_like(ai2), ak2 - ai2)
    ti = ak2 / denom
    tk = -ai2 / denom
    xk = alpha_k * r
    ek = torch.exp(-xk)
    pi = _vv_poly(xi)
    pk = _vv_poly(xk)
    return tuple(torch.where(equal, eq[n], -ti * pi[n] * ei - tk * pk[n] * ek) for n in range(5))


def quintic_taper(r: torch.Tensor, r_on: float, r_off: float) -> torch.Tensor:
    """Smooth switch, 1 below ``r_on``, 0 beyond ``r_off`` (A), C2 at both ends.

    ``S = 1 - 10 t^3 + 15 t^4 - 6 t^5`` with ``t = (r - r_on)/(r_off - r_on)``:
    the same quintic Tinker's ``switch`` builds from its c0..c5 coefficients.
    """
    if r_off <= r_on:
        raise ValueError(f"taper needs r_on < r_off, got {r_on} and {r_off}")
    t = ((r - r_on) / (r_off - r_on)).clamp(0.0, 1.0)
    return 1.0 - t ** 3 * (10.0 - 15.0 * t + 6.0 * t * t)
