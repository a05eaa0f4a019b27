"""D at infinite box size and the shear viscosity from D at several box sizes.

In a cubic periodic box of edge L the self-diffusion coefficient is lowered by
the hydrodynamic self-interaction with the periodic images (Yeh and Hummer,
J. Phys. Chem. B 108, 15873 (2004)):

    D_pbc(L) = D_inf - xi k_B T / (6 pi eta L),   xi = 2.837297.

With D at two or more sizes, a straight line in 1/L gives both D_inf
(intercept) and eta (from the slope -xi k_B T / (6 pi eta)); Jamali et al.,
J. Chem. Theory Comput. 14, 5959 (2018) use this to obtain the viscosity
without a separate Green-Kubo calculation. Units: D in 1e-9 m^2/s, L in
Angstrom, eta in mPa s, T in K.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from pinnff.analysis.diffusion import yeh_hummer_correction
from pinnff.errors import InputError


def extrapolate_finite_size(box_lengths_A: Sequence[float], D: Sequence[float], D_err: Sequence[float],
                            temperature_K: float) -> dict:
    """Weighted least-squares fit of ``D = D_inf + b / L``; D_inf, eta and their propagated errors.

    ``box_lengths_A``, ``D``, ``D_err``: ``(n,)`` with n >= 2 distinct sizes and
    positive errors (weights 1/D_err^2). Errors are the parameter standard
    errors of the weighted fit from the given D_err (not rescaled by chi^2, so
    two sizes, fitted exactly, still carry their errors);
    ``eta = -C / b`` with ``C = xi k_B T / 6 pi`` and ``sigma_eta = eta sigma_b / |b|``
    (first order). A slope ``b >= 0`` (D not rising with L) gives no viscosity:
    ``viscosity_mPas`` is None and ``note`` says why.
    """
    L = np.asarray(box_lengths_A, dtype=float)
    d = np.asarray(D, dtype=float)
    s = np.asarray(D_err, dtype=float)
    if not (L.shape == d.shape == s.shape and L.ndim == 1):
        raise InputError(f"box lengths, D and D_err must be equally long lists, got {L.shape}, {d.shape}, {s.shape}")
    if len(np.unique(L)) < 2:
        raise InputError(f"a finite-size extrapolation needs at least two box sizes, got {L.tolist()} A")
    if not (np.all(L > 0) and np.all(s > 0) and np.all(np.isfinite(d)) and temperature_K > 0):
        raise InputError("box lengths, D errors and the temperature must be positive, D finite")
    design = np.stack([np.ones_like(L), 1.0 / L], axis=1)  # (n, 2): D_inf, b
    w = 1.0 / s**2
    normal = design.T @ (w[:, None] * design)
    cov = np.linalg.inv(normal)
    d_inf, b = cov @ (design.T @ (w * d))
    residual = d - design @ np.array([d_inf, b])
    out = {
        "D_inf": float(d_inf), "D_inf_err": float(math.sqrt(cov[0, 0])),
        "slope_1e9m2s_A": float(b), "slope_err": float(math.sqrt(cov[1, 1])), "covariance": cov.tolist(),
        "chi2": float(np.sum(w * residual**2)), "dof": len(L) - 2, "temperature_K": float(temperature_K),
        "box_lengths_A": L.tolist(), "D": d.tolist(), "D_err": s.tolist(),
        "formula": "D(L) = D_inf - xi k_B T / (6 pi eta L), xi = 2.837297 (Yeh-Hummer; Jamali et al. JCTC 2018)",
    }
    scale = yeh_hummer_correction(temperature_K, 1.0, 1.0)  # xi k_B T / (6 pi eta L) at eta = 1 mPa s, L = 1 A
    if b < 0:
        eta = -scale / b
        out.update(viscosity_mPas=float(eta), viscosity_err_mPas=float(eta * out["slope_err"] / abs(b)), note=None)
    else:
        out.update(viscosity_mPas=None, viscosity_err_mPas=None,
                   note=f"D does not rise with the box size (slope {b:.3g} >= 0): no viscosity from these sizes")
    return out
