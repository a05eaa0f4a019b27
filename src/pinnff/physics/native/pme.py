"""Smooth PME's stencil work in C (``pme_kernels.c``): spreading multipoles onto the grid and projecting a
grid onto the atoms, as autograd functions with hand-written first derivatives.

Both work on one geometry's B-spline data (:class:`pinnff.physics.pme.PMEGrid`): ``base`` (n, 3) int64
the grid point below each atom's fractional coordinate, ``theta`` (n, 3, 3, p) the weights and their
first two derivatives along each axis, and a range ``rows`` = (lo, hi) of
:data:`DERIVATIVES` (0..10: charge, first, second derivatives). Gradients flow to
``theta`` (so to positions and cell), to the coefficients and to the projected grid; under
``create_graph`` the backward runs the torch formulas below, so higher derivatives stay exact.
Call only where :func:`pinnff.physics.native.available`.
"""

from __future__ import annotations

import ctypes

import torch

from pinnff.physics.native import _call, _ptr, _suffix

DERIVATIVES = ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1),
               (2, 0, 0), (0, 2, 0), (0, 0, 2), (1, 1, 0), (1, 0, 1), (0, 1, 1))
"""Derivative orders (x, y, z) of the spline products, the stencil rows: charge; dipole x, y, z; quadrupole
xx, yy, zz, xy, xz, yz (the off-diagonal ones spread twice their fractional component). The C kernels'
``PME_ORDERS`` are the same table."""


def grid_index(base: torch.Tensor, order: int, shape: tuple[int, int, int]) -> torch.Tensor:
    """Flat grid index (n, p^3) of every stencil point: ``((b0 - t0) mod K0, (b1 - t1) mod K1, (b2 - t2) mod K2)``."""
    t = torch.arange(order, device=base.device)
    g = (base[:, :, None] - t) % torch.tensor(shape, device=base.device)[None, :, None]  # (n, 3, p)
    return ((g[:, 0, :, None, None] * shape[1] + g[:, 1, None, :, None]) * shape[2]
            + g[:, 2, None, None, :]).reshape(base.shape[0], -1)


def stencils_torch(theta: torch.Tensor, rows: tuple[int, int]) -> torch.Tensor:
    """Spline products (n, hi - lo, p^3) of the derivative rows ``rows`` (the torch formula)."""
    orders = torch.tensor(DERIVATIVES[rows[0]:rows[1]], device=theta.device)  # (c, 3)
    tx = theta[:, 0].index_select(1, orders[:, 0])  # (n, c, p)
    ty = theta[:, 1].index_select(1, orders[:, 1])
    tz = theta[:, 2].index_select(1, orders[:, 2])
    w = tx[:, :, :, None, None] * (ty[:, :, :, None] * tz[:, :, None, :])[:, :, None]
    return w.reshape(w.shape[0], w.shape[1], -1)


def spread_stencils(parts, index: torch.Tensor, size: int) -> torch.Tensor:
    """Charge grid (size,) of the sum over ``parts``, pairs of coefficients (n, c) and their spline products
    (n, c, p^3), at the flat grid indices ``index`` (n p^3,) (the torch formula of :func:`spread`)."""
    block = sum((coef[:, :, None] * stencils).sum(1) for coef, stencils in parts)
    return block.new_zeros(size).index_add(0, index, block.reshape(-1))


def project_stencils(stencils: torch.Tensor, grid: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Projections (n, c) of ``grid`` on the spline products ``stencils`` (n, c, p^3) at the flat grid indices
    ``index`` (n p^3,) (the torch formula of :func:`project`)."""
    return (grid.index_select(0, index).reshape(stencils.shape[0], 1, -1) * stencils).sum(-1)


def spread_torch(base, theta, coef, rows, shape) -> torch.Tensor:
    """Charge grid (K0 K1 K2,) of coefficients ``coef`` (n, hi - lo) (the torch formula)."""
    return spread_stencils([(coef, stencils_torch(theta, rows))], grid_index(base, theta.shape[-1], shape).reshape(-1),
                           shape[0] * shape[1] * shape[2])


def project_torch(base, theta, grid, rows, shape) -> torch.Tensor:
    """Projections (n, hi - lo) of ``grid`` (K0 K1 K2,) on the atoms' stencils (the torch formula)."""
    return project_stencils(stencils_torch(theta, rows), grid, grid_index(base, theta.shape[-1], shape).reshape(-1))


def _args(base, theta):
    return (ctypes.c_int64(base.shape[0]), ctypes.c_int(theta.shape[-1]), _ptr(base), _ptr(theta))


def _bounds(rows, shape):
    return (ctypes.c_int(rows[0]), ctypes.c_int(rows[1]), *(ctypes.c_int64(k) for k in shape))


def _spread(base, theta, coef, rows, shape) -> torch.Tensor:
    grid = theta.new_empty(shape[0] * shape[1] * shape[2])
    _call(f"pme_spread_{_suffix(theta)}", *_args(base, theta), _ptr(coef), *_bounds(rows, shape),
          _ptr(grid), ctypes.c_int(torch.get_num_threads()))
    return grid


def _project(base, theta, grid, rows, shape, coef=None, projections=True, theta_gradient=False):
    proj = theta.new_empty(base.shape[0], rows[1] - rows[0]) if projections else None
    grad_theta = torch.empty_like(theta) if theta_gradient else None
    _call(f"pme_project_{_suffix(theta)}", *_args(base, theta), _ptr(coef), *_bounds(rows, shape),
          _ptr(grid), _ptr(proj), _ptr(grad_theta), ctypes.c_int(torch.get_num_threads()))
    return proj, grad_theta


def _formula_gradients(output: torch.Tensor, inputs, g: torch.Tensor) -> list:
    """Differentiable gradients of ``output`` (a torch formula's) weighted by ``g``, for each (tensor, needed)
    of ``inputs``; None where not needed."""
    wanted = [t for t, need in inputs if need]
    grads = iter(torch.autograd.grad(output, wanted, g, create_graph=True))
    return [next(grads) if need else None for _, need in inputs]


class _Spread(torch.autograd.Function):
    @staticmethod
    def forward(ctx, base, theta, coef, rows, shape):
        ctx.save_for_backward(base, theta, coef)
        ctx.rows, ctx.shape = rows, shape
        return _spread(base, theta, coef, rows, shape)

    @staticmethod
    def backward(ctx, g):
        base, theta, coef = ctx.saved_tensors
        need_theta, need_coef = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            return None, *_formula_gradients(spread_torch(base, theta, coef, ctx.rows, ctx.shape),
                                             ((theta, need_theta), (coef, need_coef)), g), None, None
        g = g.contiguous()
        proj, grad_theta = _project(base, theta, g, ctx.rows, ctx.shape, coef if need_theta else None,
                                    projections=need_coef, theta_gradient=need_theta)
        return None, grad_theta, proj, None, None


class _Project(torch.autograd.Function):
    @staticmethod
    def forward(ctx, base, theta, grid, rows, shape):
        ctx.save_for_backward(base, theta, grid)
        ctx.rows, ctx.shape = rows, shape
        return _project(base, theta, grid, rows, shape)[0]

    @staticmethod
    def backward(ctx, g):
        base, theta, grid = ctx.saved_tensors
        need_theta, need_grid = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            return None, *_formula_gradients(project_torch(base, theta, grid, ctx.rows, ctx.shape),
                                             ((theta, need_theta), (grid, need_grid)), g), None, None
        g = g.contiguous()
        grad_grid = _spread(base, theta, g, ctx.rows, ctx.shape) if need_grid else None
        grad_theta = _project(base, theta, grid, ctx.rows, ctx.shape, g, projections=False,
                              theta_gradient=True)[1] if need_theta else None
        return None, grad_theta, grad_grid, None, None


def spread(base: torch.Tensor, theta: torch.Tensor, coef: torch.Tensor, rows: tuple[int, int],
           shape: tuple[int, int, int]) -> torch.Tensor:
    """Charge grid (K0 K1 K2,) of coefficients ``coef`` (n, hi - lo) on the stencil rows ``rows`` = (lo, hi),
    differentiable in ``theta`` and ``coef``."""
    dtype = theta.dtype
    return _Spread.apply(base.contiguous(), theta.contiguous(), coef.to(dtype).contiguous(), tuple(rows), tuple(shape))


def project(base: torch.Tensor, theta: torch.Tensor, grid: torch.Tensor, rows: tuple[int, int],
            shape: tuple[int, int, int]) -> torch.Tensor:
    """Projections (n, hi - lo) of ``grid`` (K0 K1 K2,) on the atoms' stencil rows ``rows``, differentiable in
    ``theta`` and ``grid``."""
    return _Project.apply(base.contiguous(), theta.contiguous(), grid.to(theta.dtype).contiguous(), tuple(rows),
                          tuple(shape))
