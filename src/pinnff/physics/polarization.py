"""Induced-dipole polarization (torch): AMOEBA / AMOEBA+ damping, polarization
groups, and four solvers.

Fields are in e/A^2, dipoles in e*A, polarizabilities in A^3. The
permanent field comes in two flavours (Tinker's d and p): the "d" field,
scaled by polarization groups, induces the dipoles; the "p" field, scaled by
bond separation, is what they interact with. The energy is

    E_pol = -1/2 * 332.0637 * sum_i mu_d(i) . E_p(i)     (kcal/mol)

with mu = (alpha^-1 - T)^-1 E, T the Thole-damped dipole field tensor.
When groups are off the two fields coincide.

Solvers (``solver=``):
- ``"direct"``: mu = alpha E (no mutual coupling).
- ``"mutual"``: conjugate gradients on the symmetric system
  (1 - S T S) y = S E, S = diag(sqrt(alpha)), mu = S y, to an RMS residual
  ``tol`` in Debye. The energy is then evaluated through a functional that
  is stationary in mu, so autograd forces (and parameter gradients) are
  exact at convergence without differentiating the iterations.
- ``"exact"``: dense solve (3n x 3n), differentiable to any order (small
  systems: dimers, trimers; use it when training on forces).
- ``"extrapolated"``: OPT perturbation series mu = sum_k c_k mu_k,
  mu_0 = alpha E, mu_k = alpha (E + T mu_(k-1)); autograd differentiates the
  series itself, so forces are the exact gradient of that energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pinnff.physics import damping
from pinnff.physics.multipole import COULOMB, lab_frame, pair_terms
from pinnff.physics.pairs import PairList, Segments, electrostatic_pairs, energy_sum
from pinnff.physics.topology import Scales, Topology, scale_by_separation

DEBYE_PER_EA = 4.80320471
"""Debye per e*A."""

OPT3_COEFFICIENTS = (-0.154, 0.017, 0.658, 0.474)
"""OpenMM's default extrapolation coefficients (OPT3)."""


@dataclass(frozen=True)
class PolarizationSettings:
    """Solver and damping choices.

    direct_damping: "thole" (AMOEBA, a u^3 with ``thole``) or "aplus"
    (AMOEBA+, a_dir u^1.5 with ``direct_thole``). Mutual coupling always uses
    Thole u^3 with ``thole``. tol: RMS residual of the induced dipoles
    (Debye) for "mutual"; max_iter bounds the iterations.
    """

    solver: str = "mutual"
    direct_damping: str = "aplus"
    thole: float = 0.39
    direct_thole: float = 0.7
    tol: float = 1.0e-6
    max_iter: int = 200
    extrapolation: tuple[float, ...] = OPT3_COEFFICIENTS


class _Geometry:
    """Pair geometry, damping and scales shared by the field evaluations."""

    def __init__(self, positions, topology: Topology, params, pairs: PairList, scales: Scales,
                 settings: PolarizationSettings, cell=None, ewald=None):
        dtype = positions.dtype
        self.positions, self.cell, self.ewald = positions, cell, ewald
        i, k = pairs.i, pairs.j
        alpha = params["polarizability"]
        sep = topology.separation(i, k)
        p_scale = scale_by_separation(sep, scales.polar).to(dtype)
        u_scale = scale_by_separation(sep, scales.mutual).to(dtype)
        if scales.use_polar_groups:
            groups = topology.tensor("polar_group", positions.device)
            same = groups.index_select(0, i) == groups.index_select(0, k)
            p_scale = torch.where(same & (sep == 3), p_scale * scales.polar14_intra, p_scale)
            d_scale = torch.where(same, torch.full_like(p_scale, scales.direct11), torch.ones_like(p_scale))
            u_scale = torch.where(same, torch.full_like(u_scale, scales.mutual11), u_scale)
        else:
            d_scale = p_scale
        if scales.intermolecular_only:
            mol = topology.tensor("mol_id", positions.device)
            inter = mol.index_select(0, i) != mol.index_select(0, k)
            p_scale = torch.where(inter, p_scale, torch.zeros_like(p_scale))
            d_scale = torch.where(inter, d_scale, torch.zeros_like(d_scale))
        self.same_dp = not scales.use_polar_groups or bool(torch.equal(d_scale, p_scale))
        rvec, r = pairs.vectors(positions)
        if ewald is None:
            keep = (p_scale != 0) | (d_scale != 0) | (u_scale != 0)
        else:
            keep = r <= ewald.cutoff
        self.i, self.k = i[keep], k[keep]
        self.rvec, self.r = rvec[keep], r[keep]
        self.p_scale, self.d_scale, self.u_scale = p_scale[keep], d_scale[keep], u_scale[keep]
        pd = alpha.clamp(min=0.0) ** (1.0 / 6.0)
        pdik = pd.index_select(0, self.i) * pd.index_select(0, self.k)
        if settings.direct_damping == "aplus":
            self.dir_damp = damping.thole_u15(self.r, pdik, settings.direct_thole)
        elif settings.direct_damping == "thole":
            self.dir_damp = damping.thole_u3(self.r, pdik, settings.thole)
        else:
            raise ValueError(f"unknown direct_damping {settings.direct_damping!r}")
        self.mut_damp = damping.thole_u3(self.r, pdik, settings.thole)[:2]
        self.n = positions.shape[0]
        inv = 1.0 / self.r
        inv2 = inv * inv
        self.rr = (inv * inv2, 3.0 * inv * inv2 * inv2, 15.0 * inv * inv2 * inv2 * inv2)  # rr3, rr5, rr7
        if ewald is not None:
            from pinnff.physics import ewald as ew

            bn = ew.real_space_bn(self.r, ewald.beta, 3)
            self.base = tuple(b - u for b, u in zip(bn[1:], self.rr))
            self.kspace = ew.KSpace(positions, cell, ewald)
        else:
            self.base = None

    def _accumulate(self, pair_fields, scale):
        """Sum per-pair fields (f_i at i, f_k at k) times ``scale`` into (n, 3)."""
        f_i, f_k = pair_fields
        field = torch.zeros(self.n, 3, dtype=f_i.dtype, device=f_i.device)
        return field.index_add(0, self.i, scale[:, None] * f_i).index_add(0, self.k, scale[:, None] * f_k)

    def _perm_pairs(self, t, q, d, rr3, rr5, rr7):
        i, k, rvec = self.i, self.k, self.rvec
        f_i = (-rvec * (rr3 * q.index_select(0, k) - rr5 * t["dkr"] + rr7 * t["qkr"])[:, None]
               - rr3[:, None] * d.index_select(0, k) + 2.0 * rr5[:, None] * t["qk_r"])
        f_k = (rvec * (rr3 * q.index_select(0, i) + rr5 * t["dir"] + rr7 * t["qir"])[:, None]
               - rr3[:, None] * d.index_select(0, i) - 2.0 * rr5[:, None] * t["qi_r"])
        return f_i, f_k

    def permanent_fields(self, q, d, Q):
        """Damped permanent fields (n, 3) e/A^2: (E_d, E_p)."""
        i, k = self.i, self.k
        t = pair_terms(self.rvec, d.index_select(0, i), d.index_select(0, k), Q.index_select(0, i),
                       Q.index_select(0, k))
        damped = self._perm_pairs(t, q, d, *(l * u for l, u in zip(self.dir_damp, self.rr)))
        e_d = self._accumulate(damped, self.d_scale)
        e_p = self._accumulate(damped, self.p_scale)
        if self.ewald is not None:
            from pinnff.physics import ewald as ew

            common = self._accumulate(self._perm_pairs(t, q, d, *self.base), torch.ones_like(self.r))
            common = common + self.kspace.field(q, d, Q)
            common = common + ew.self_field(self.ewald.beta, d)
            e_d, e_p = e_d + common, e_p + common
        return e_d, e_p

    def _mutual_pairs(self, mu, rr3, rr5):
        i, k, rvec = self.i, self.k, self.rvec
        mk, mi = mu.index_select(0, k), mu.index_select(0, i)
        f_i = -rr3[:, None] * mk + rr5[:, None] * rvec * (mk * rvec).sum(-1, keepdim=True)
        f_k = -rr3[:, None] * mi + rr5[:, None] * rvec * (mi * rvec).sum(-1, keepdim=True)
        return f_i, f_k

    def mutual_field(self, mu):
        """Field (n, 3) of induced dipoles ``mu`` (n, 3) e*A: T mu (Thole u^3 damping)."""
        l3, l5 = self.mut_damp
        field = self._accumulate(self._mutual_pairs(mu, l3 * self.rr[0], l5 * self.rr[1]), self.u_scale)
        if self.ewald is not None:
            from pinnff.physics import ewald as ew

            field = field + self._accumulate(self._mutual_pairs(mu, self.base[0], self.base[1]),
                                             torch.ones_like(self.r))
            field = field + self.kspace.field(None, mu, None)
            field = field + ew.self_field(self.ewald.beta, mu)
        return field

    def dense_tensor(self):
        """T as a dense (3n, 3n) matrix (small systems only)."""
        l3, l5 = self.mut_damp
        r = self.r
        rr3 = self.u_scale * l3 / r ** 3
        rr5 = self.u_scale * 3.0 * l5 / r ** 5
        eye = torch.eye(3, dtype=r.dtype, device=r.device)
        blocks = -rr3[:, None, None] * eye + rr5[:, None, None] * self.rvec[:, :, None] * self.rvec[:, None, :]
        t = torch.zeros(self.n * self.n, 3, 3, dtype=r.dtype, device=r.device)
        t = t.index_add(0, self.i * self.n + self.k, blocks).index_add(0, self.k * self.n + self.i, blocks)
        return t.reshape(self.n, self.n, 3, 3).permute(0, 2, 1, 3).reshape(3 * self.n, 3 * self.n)


def _cg(geom: _Geometry, sqrt_alpha, rhs, tol, max_iter):
    """Solve (1 - S T S) y = rhs by conjugate gradients (no grad); returns mu = S y (n, 3)."""
    s = sqrt_alpha[:, None]

    def apply(y):
        return y - s * geom.mutual_field(s * y)

    y = rhs.clone()  # initial guess: direct dipoles (in y-space)
    res = rhs - apply(y)
    p = res.clone()
    rs = (res * res).sum()
    n = rhs.shape[0]
    for _ in range(max_iter):
        if torch.sqrt(((s * res) ** 2).sum() / n) * DEBYE_PER_EA < tol:
            break
        ap = apply(p)
        step = rs / (p * ap).sum()
        y = y + step * p
        res = res - step * ap
        rs_new = (res * res).sum()
        p = res + (rs_new / rs) * p
        rs = rs_new
    else:
        raise RuntimeError(f"induced dipoles did not converge to {tol} D in {max_iter} iterations")
    return s * y


def induced_dipoles(positions, topology, params, cell=None, *, pairs=None, cutoff=None,
                    scales: Scales = Scales(), settings: PolarizationSettings = PolarizationSettings(), ewald=None):
    """Induced dipoles (mu_d, mu_p), each (n, 3) e*A, without the energy (no grad for "mutual")."""
    _, mu_d, mu_p, _ = _solve(positions, topology, params, cell, pairs, cutoff, scales, settings, ewald)
    return mu_d, mu_p


def _solve(positions, topology, params, cell, pairs, cutoff, scales, settings, ewald=None):
    cell_t, pairs = electrostatic_pairs(positions, cell, pairs, cutoff, ewald, scales.intermolecular_only)
    geom = _Geometry(positions, topology, params, pairs, scales, settings, cell_t, ewald)
    q, d, Q = lab_frame(positions, topology, params)
    e_d, e_p = geom.permanent_fields(q, d, Q)
    alpha = params["polarizability"][:, None]
    solver = settings.solver
    if solver == "direct":
        return geom, alpha * e_d, alpha * e_p, (e_d, e_p)
    if solver == "extrapolated":
        out = []
        for field in ((e_d,) if geom.same_dp else (e_d, e_p)):
            mu = alpha * field
            total = settings.extrapolation[0] * mu
            for c in settings.extrapolation[1:]:
                mu = alpha * (field + geom.mutual_field(mu))
                total = total + c * mu
            out.append(total)
        return geom, out[0], out[-1], (e_d, e_p)
    if solver == "exact":
        if ewald is not None:
            raise ValueError("the exact solver is non-periodic only; use 'mutual' with Ewald")
        n = positions.shape[0]
        s = params["polarizability"].clamp(min=0.0).sqrt().repeat_interleave(3)
        a = torch.eye(3 * n, dtype=positions.dtype, device=positions.device) - s[:, None] * geom.dense_tensor() * s[None, :]
        rhs = torch.stack([(s * e_d.reshape(-1)), (s * e_p.reshape(-1))], dim=1)
        y = torch.linalg.solve(a, rhs)
        mu = (s[:, None] * y).reshape(n, 3, 2)
        return geom, mu[..., 0], mu[..., 1], (e_d, e_p)
    if solver == "mutual":
        sqrt_alpha = params["polarizability"].detach().clamp(min=0.0).sqrt()
        with torch.no_grad():
            mu_d = _cg(geom, sqrt_alpha, sqrt_alpha[:, None] * e_d.detach(), settings.tol, settings.max_iter)
            mu_p = mu_d if geom.same_dp else _cg(geom, sqrt_alpha, sqrt_alpha[:, None] * e_p.detach(),
                                                  settings.tol, settings.max_iter)
        return geom, mu_d, mu_p, (e_d, e_p)
    raise ValueError(f"unknown polarization solver {solver!r}")


def polarization_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                        pairs: PairList | None = None, cutoff: float | None = None,
                        scales: Scales = Scales(),
                        settings: PolarizationSettings = PolarizationSettings(), ewald=None,
                        segments: Segments | None = None) -> torch.Tensor:
    """Polarization energy, kcal/mol (scalar, or ``(segments.size,)`` per segment, non-periodic
    only); params need 'charge', 'dipole', 'quadrupole', 'polarizability' (n,) A^3.
    Periodic cells need ``ewald`` (EwaldSettings)."""
    if segments is not None and ewald is not None:
        raise ValueError("per-segment energies are non-periodic only")
    geom, mu_d, mu_p, (e_d, e_p) = _solve(positions, topology, params, cell, pairs, cutoff, scales, settings,
                                          ewald)
    if settings.solver != "mutual":
        return -0.5 * COULOMB * energy_sum((mu_d * e_p).sum(-1), None, segments)
    # functional stationary in (mu_d, mu_p); equals -1/2 mu_d.E_p at the solution
    alpha = params["polarizability"]
    inv_alpha = torch.where(alpha > 0, 1.0 / torch.where(alpha > 0, alpha, torch.ones_like(alpha)),
                            torch.zeros_like(alpha))
    a_term = inv_alpha[:, None] * mu_d * mu_p - mu_d * geom.mutual_field(mu_p)
    return -0.5 * COULOMB * energy_sum((e_d * mu_p + mu_d * e_p - a_term).sum(-1), None, segments)
