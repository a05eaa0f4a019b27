"""Smooth particle-mesh Ewald: the reciprocal-space sum of :mod:`ewald` on a
grid, for point multipoles (charge, dipole, quadrupole) and induced dipoles
(torch, differentiable in positions, multipoles and cell).

Method: Essmann et al., J. Chem. Phys. 103, 8577 (1995), with multipoles as
derivative operators on the B-spline weights (Sagui, Pedersen, Darden,
J. Chem. Phys. 120, 73 (2004); Tinker's ``pmestuf.f``/``empole``, read, not
copied). Each site's fractional coordinate ``u_a = K_a f_a`` (``f = r
inv(cell)``, ``K_a`` grid points along lattice vector a) spreads onto the
``order^3`` nearest grid points with cardinal B-spline weights
``M_p(u_a - g_a)``; a multipole ``L = q + d.grad + Q:grad grad`` (``Q =
Theta/3``, as in :mod:`ewald`) spreads the matching derivatives of the
weights, taken in fractional coordinates (``d_f = d D``, ``Q_f = D^T Q D``
with ``D = inv(cell) diag(K)``). Then, with ``F`` the discrete Fourier
transform of the charge grid,

    E_rec = (f / 2) sum_{m != 0} G(m) |F(m)|^2,
    G(m) = 4 pi / (V k^2) exp(-k^2 / (4 beta^2)) prod_a |b_a(m_a)|^2,

``k = 2 pi m inv(cell)^T`` and ``|b_a|^2`` the Euler spline moduli. The
same grid potential gives the field at every site (its own screening cloud
included, as with :meth:`ewald.KSpace.field`). Accuracy is set by beta (from
the real-space cutoff and tolerance), the grid spacing and the spline order.
Forces and the cell derivative come from autograd (order >= 5 keeps
quadrupole forces continuous). Cost: the real-space pairs within the cutoff
plus O(n order^3) spreading and an FFT of the grid, per field evaluation.

Measured error (``benchmarks/bench_physics.py``, 64-molecule DEGDME box,
1472 atoms, 24.75 A, float64; defaults real-space cutoff 7 A, tolerance
1e-5, grid spacing 0.5 A (50^3), order 5). Against plain Ewald at the same
splitting (the mesh error alone) | against a converged Ewald sum (10 A,
tolerance 1e-8: mesh, k-space and real-space truncation together); energy
difference (kcal/mol) and RMS / largest force difference (kcal/mol/A):

    prior parameters (MMFF charges only)      dE               dF rms            dF max
      multipole (E = -527.1, F rms 2.21)      0.023 | 0.011    9e-5 | 1.7e-4     6e-4 | 1.3e-3
      polarization OPT3 (E = -623.3, 0.79)   -7e-4 | 1.0e-3    1.2e-4 | 1.5e-4   1.1e-3 | 1.2e-3
      polarization mutual (E = -630.3, 0.82) -2e-4 | 1.0e-3    1.2e-4 | 1.5e-4   1.1e-3 | 1.2e-3
    random dipoles and quadrupoles (0.03 e A, e A^2) added
      multipole (E = -538.4, F rms 2.38)      0.029 | 0.015    3.9e-4 | 4.4e-4   3.4e-3 | 3.6e-3
      polarization OPT3 (E = -656.1, 0.85)   -2e-4 | 2.8e-3    1.5e-4 | 1.8e-4   1.3e-3 | 1.3e-3
      polarization mutual (E = -663.7, 0.88)  3e-4 | 2.8e-3    1.5e-4 | 1.8e-4   1.3e-3 | 1.3e-3

i.e. energies within 3e-5 and forces within about 2e-4 (RMS, relative)
of the converged sum, about the error of plain Ewald at the same settings.
vdW and charge transfer do not depend on the electrostatics method. The test
``tests/physics/test_pme.py`` checks, on a 2-molecule 13 A box, agreement
with Ewald within 1e-4 kcal/mol per atom and 3e-3 relative RMS force.
"""

from __future__ import annotations

import math

import torch

from pinnff.physics import native
from pinnff.physics.native import pme as native_pme

LEVEL_ROWS = {0: (0, 1), 1: (1, 4), 2: (4, 10)}
"""The stencil rows (:data:`pinnff.physics.native.pme.DERIVATIVES`) of each derivative order: charge,
dipole, quadrupole."""


def fft_size(n: int) -> int:
    """Smallest integer >= ``n`` whose prime factors are 2, 3 and 5 (fast FFT lengths)."""
    k = max(int(n), 1)
    while True:
        m = k
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return k
        k += 1


def grid_shape(cell: torch.Tensor, spacing: float, order: int) -> tuple[int, int, int]:
    """Grid points along each lattice vector: at most ``spacing`` A apart, at least ``order``."""
    lengths = torch.linalg.norm(cell.detach(), dim=1).tolist()
    return tuple(fft_size(max(order, math.ceil(length / spacing))) for length in lengths)


def bspline_weights(w: torch.Tensor, order: int, derivatives: int) -> torch.Tensor:
    """Cardinal B-spline weights and their derivatives at ``w + t``, t = 0..order-1.

    ``w`` (...,) in [0, 1). Returns (..., derivatives + 1, order): entry
    ``[..., s, t]`` is the s-th derivative of M_order at ``w + t``. Built
    with the recursion M_n(x) = (x M_(n-1)(x) + (n - x) M_(n-1)(x - 1))/(n - 1)
    and M_n' (x) = M_(n-1)(x) - M_(n-1)(x - 1); differentiable in ``w``.
    """
    if order < derivatives + 2:
        raise ValueError(f"B-spline order {order} too low for {derivatives} derivatives")
    t = torch.arange(order, dtype=w.dtype, device=w.device)
    x = w[..., None] + t
    m = torch.zeros_like(x)
    m = torch.cat([torch.ones_like(x[..., :1]), m[..., 1:]], dim=-1)  # M_1
    by_order = {1: m}
    for n in range(2, order + 1):
        shifted = torch.cat([torch.zeros_like(m[..., :1]), m[..., :-1]], dim=-1)
        m = (x * m + (n - x) * shifted) / (n - 1)
        by_order[n] = m
    out = [by_order[order]]
    for s in range(1, derivatives + 1):
        d = by_order[order - s]
        for _ in range(s):  # s-fold backward difference
            d = d - torch.cat([torch.zeros_like(d[..., :1]), d[..., :-1]], dim=-1)
        out.append(d)
    return torch.stack(out, dim=-2)


def spline_moduli(size: int, order: int, dtype, device) -> torch.Tensor:
    """|b(m)|^2 (size,) of the Euler exponential spline for m = 0..size-1 (zeros of the
    denominator, at m = size/2 for odd orders, take the mean of their neighbours)."""
    w = torch.zeros((), dtype=torch.float64)
    values = bspline_weights(w, order, 0)[0]  # M_order(t), t = 0..order-1
    m = torch.arange(size, dtype=torch.float64)
    k = torch.arange(order, dtype=torch.float64)
    arg = 2.0 * math.pi * m[:, None] * k[None, :] / size
    denom = (values * torch.cos(arg)).sum(-1) ** 2 + (values * torch.sin(arg)).sum(-1) ** 2
    bad = denom < 1e-7
    if bool(bad.any()):
        fixed = 0.5 * (torch.roll(denom, 1) + torch.roll(denom, -1))
        denom = torch.where(bad, fixed, denom)
    return (1.0 / denom).to(dtype=dtype, device=device)


class PMEGrid:
    """Splines, grid indices and influence function of one geometry, reused for every spread
    (permanent multipoles, each induced-dipole iteration).

    positions (n, 3) A; cell (3, 3) A (rows are lattice vectors); ``settings``
    an :class:`pinnff.physics.ewald.EwaldSettings` (beta, ``pme_spacing``,
    ``pme_order``).
    """

    def __init__(self, positions: torch.Tensor, cell: torch.Tensor, settings):
        order = settings.pme_order
        self.order = order
        self.shape = grid_shape(cell, settings.pme_spacing, order)
        dtype, device = positions.dtype, positions.device
        size = torch.tensor(self.shape, dtype=dtype, device=device)
        inv = torch.linalg.inv(cell)
        self.D = inv * size[None, :]  # du_a / dr_alpha, (3, 3)
        frac = positions @ inv
        frac = frac - torch.floor(frac.detach())
        u = frac * size
        base = torch.floor(u.detach())
        w = u - base  # (n, 3), carries the gradient
        self.theta = bspline_weights(w, order, 2)  # (n, 3 axes, 3 derivatives, order)
        self.base = base.long()  # (n, 3)
        self.native = native.available(self.theta)  # the stencil work in C (pinnff.physics.native.pme)
        if not self.native:
            self.index = native_pme.grid_index(self.base, order, self.shape).reshape(-1)
        self._stencils = {}
        self._last = None  # (multipoles, (grid, potential)) of the latest spread
        self.influence = self._influence(cell, settings.beta)

    def stencil(self, level: int) -> torch.Tensor:
        """Spline products (n, c, order^3) of derivative order ``level`` (0: c = 1, 1: c = 3, 2: c = 6;
        rows in :data:`pinnff.physics.native.pme.DERIVATIVES` order), built once per geometry (the torch
        path). Kept as separate tensors so the backward pass never pads slices of a larger one."""
        if level not in self._stencils:
            self._stencils[level] = native_pme.stencils_torch(self.theta, LEVEL_ROWS[level])
        return self._stencils[level]

    def _influence(self, cell: torch.Tensor, beta: float) -> torch.Tensor:
        """G(m) on the rfft half-grid (K1, K2, K3 // 2 + 1), zero at m = 0."""
        dtype, device = cell.dtype, cell.device
        k1, k2, k3 = self.shape
        m1 = torch.fft.fftfreq(k1, 1.0 / k1, dtype=dtype, device=device)
        m2 = torch.fft.fftfreq(k2, 1.0 / k2, dtype=dtype, device=device)
        m3 = torch.fft.rfftfreq(k3, 1.0 / k3, dtype=dtype, device=device)
        recip = 2.0 * math.pi * torch.linalg.inv(cell).T  # rows: reciprocal vectors (carry the cell gradient)
        g = recip @ recip.T  # metric: k^2 = m G m
        a, b, c = m1[:, None, None], m2[None, :, None], m3[None, None, :]
        k2sq = (a * a * g[0, 0] + b * b * g[1, 1] + c * c * g[2, 2]
                + 2.0 * (a * b * g[0, 1] + a * c * g[0, 2] + b * c * g[1, 2]))
        zero = k2sq == 0
        safe = torch.where(zero, torch.ones_like(k2sq), k2sq)
        volume = torch.abs(torch.linalg.det(cell))
        green = 4.0 * math.pi / (volume * safe) * torch.exp(-safe / (4.0 * beta * beta))
        moduli = [spline_moduli(k, self.order, dtype, device) for k in self.shape]
        bsp = moduli[0][:, None, None] * moduli[1][None, :, None] * moduli[2][: k3 // 2 + 1][None, None, :]
        return torch.where(zero, torch.zeros_like(green), green * bsp)

    def _spread(self, q, d, Q) -> torch.Tensor:
        """Charge grid (K1 K2 K3,) of the multipoles (any of q (n,), d (n, 3), Q (n, 3, 3) may be None), by the
        C kernel or the torch formula, from their coefficients on the stencil rows they need."""
        coef, rows = self._coefficients(q, d, Q)
        if self.native:
            return native_pme.spread(self.base, self.theta, coef, rows, self.shape)
        parts = [(coef[:, lo - rows[0]:hi - rows[0]], self.stencil(level)) for level, (lo, hi) in LEVEL_ROWS.items()
                 if rows[0] <= lo and hi <= rows[1]]
        return native_pme.spread_stencils(parts, self.index, self.shape[0] * self.shape[1] * self.shape[2])

    def _coefficients(self, q, d, Q) -> tuple[torch.Tensor, tuple[int, int]]:
        """The multipoles as fractional coefficients (n, hi - lo) of the stencil rows (lo, hi) they span
        (a level between two given ones, such as the dipoles of charges and quadrupoles, is zero)."""
        levels = {}  # derivative order -> (n, its rows) fractional coefficients
        if q is not None:
            levels[0] = q[:, None]
        if d is not None:
            levels[1] = d @ self.D
        if Q is not None:
            qf = self.D.T @ Q @ self.D
            levels[2] = torch.stack([qf[:, 0, 0], qf[:, 1, 1], qf[:, 2, 2], 2.0 * qf[:, 0, 1], 2.0 * qf[:, 0, 2],
                                     2.0 * qf[:, 1, 2]], dim=1)
        first, last = min(levels), max(levels)
        n = self.theta.shape[0]
        parts = [levels[k] if k in levels else self.theta.new_zeros(n, LEVEL_ROWS[k][1] - LEVEL_ROWS[k][0])
                 for k in range(first, last + 1)]
        coef = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return coef, (LEVEL_ROWS[first][0], LEVEL_ROWS[last][1])

    def _potential(self, grid: torch.Tensor) -> torch.Tensor:
        """Reciprocal-space potential on the grid (K1 K2 K3,) of a charge grid (e/A with f = 1)."""
        spectrum = torch.fft.rfftn(grid.reshape(self.shape))
        return torch.fft.irfftn(spectrum * self.influence, s=self.shape, norm="forward").reshape(-1)

    def _solve(self, q, d, Q):
        """(charge grid, potential grid) of the multipoles; the latest is kept, so the energy and
        the field of the same multipole tensors share one spread and one pair of FFTs."""
        key = (q, d, Q)
        if self._last is None or any(a is not b for a, b in zip(self._last[0], key)):
            grid = self._spread(q, d, Q)
            self._last = (key, (grid, self._potential(grid)))
        return self._last[1]

    def energy(self, q, d, Q, coulomb: float) -> torch.Tensor:
        """Reciprocal-space energy (kcal/mol with ``coulomb`` the Coulomb constant)."""
        grid, phi = self._solve(q, d, Q)
        return 0.5 * coulomb * (grid * phi).sum()

    def field(self, q=None, d=None, Q=None) -> torch.Tensor:
        """Reciprocal-space field (n, 3) e/A^2 at every site (each site's own screening cloud
        included; :func:`ewald.self_field` removes the dipoles' share)."""
        _, phi = self._solve(q, d, Q)
        if self.native:  # dphi/du_a, (n, 3)
            grad_u = native_pme.project(self.base, self.theta, phi, LEVEL_ROWS[1], self.shape)
        else:
            grad_u = native_pme.project_stencils(self.stencil(1), phi, self.index)
        return -grad_u @ self.D.T
