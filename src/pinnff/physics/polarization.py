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
  series itself, so forces are the exact gradient of that energy. The energy
  needs only dot products of the series: with T symmetric, each power of T
  splits into two halves, one on each field's series, so order K costs K
  applications of T for two fields and ceil(K/2) for one, instead of K per
  field (:func:`extrapolated_energy_terms`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pinnff.physics import damping, native
from pinnff.physics.electrostatics import Electrostatics, pair_invariants
from pinnff.physics.kernels import fused
from pinnff.physics.multipole import COULOMB
from pinnff.physics.pairs import PairList, Segments, energy_sum
from pinnff.physics.topology import Scales, Topology, list_separation, memoized, scale_by_separation

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


def polar_scales(topology: Topology, pairs: PairList, scales: Scales, dtype):
    """Per-pair (p_scale, d_scale, u_scale) (k,) of a pair list, memoized on it.

    p: the permanent field the dipoles interact with; d: the field that
    induces them (polarization groups); u: induced-induced coupling.
    """
    def build():
        i, k = pairs.i, pairs.j
        sep = list_separation(topology, pairs)
        p_scale = scale_by_separation(sep, scales.polar).to(dtype)
        u_scale = scale_by_separation(sep, scales.mutual).to(dtype)
        if scales.use_polar_groups:
            groups = topology.tensor("polar_group", i.device)
            same = groups.index_select(0, i) == groups.index_select(0, k)
            nearest = pairs.nearest_image()
            if nearest is not None:  # groups hold bonded atoms: only the nearest image shares one
                same = same & nearest
            p_scale = torch.where(same & (sep == 3), p_scale * scales.polar14_intra, p_scale)
            d_scale = torch.where(same, torch.full_like(p_scale, scales.direct11), torch.ones_like(p_scale))
            u_scale = torch.where(same, torch.full_like(u_scale, scales.mutual11), u_scale)
        else:
            d_scale = p_scale
        if scales.intermolecular_only:
            mol = topology.tensor("mol_id", i.device)
            inter = mol.index_select(0, i) != mol.index_select(0, k)
            p_scale = torch.where(inter, p_scale, torch.zeros_like(p_scale))
            d_scale = torch.where(inter, d_scale, torch.zeros_like(d_scale))
        return p_scale, d_scale, u_scale

    return memoized(pairs, ("polar_scales", scales, dtype), topology, build)


@fused
def permanent_field_pairs(rv, a_i, a_k, factors: list) -> list:
    """Fields (f_i at i, f_k at k), each (3, k) e/A^2, of the permanent multipoles of pairs at ``rv``
    (3, k) = x_k - x_i, one pair of fields for each set of radial factors ``(f3, f5, f7)`` (k,) of
    1/r^3, 3/r^5, 15/r^7 (damping and scale included) in ``factors``. ``a_i``, ``a_k`` (13, k): the
    gathered rows charge, dipole (3), Q = Theta/3 (9) of both atoms. A fused kernel."""
    qi, qk, di, dk = a_i[0], a_k[0], a_i[1:4], a_k[1:4]
    t = pair_invariants(rv, di, dk, a_i[4:13].reshape(3, 3, -1), a_k[4:13].reshape(3, 3, -1))
    return [(-rv * (f3 * qk - f5 * t["dkr"] + f7 * t["qkr"]) - f3 * dk + 2.0 * f5 * t["qk_r"],
             rv * (f3 * qi + f5 * t["dir"] + f7 * t["qir"]) - f3 * di - 2.0 * f5 * t["qi_r"])
            for f3, f5, f7 in factors]


def _field_formula(i, j, rv, factors, rows) -> torch.Tensor:
    """The field (n, 3) of :func:`native.permanent_field` (same arguments) in torch: its second derivatives."""
    table = rows.T
    f_i, f_k = permanent_field_pairs(rv, table.index_select(1, i), table.index_select(1, j), [tuple(factors)])[0]
    field = torch.zeros(3, rows.shape[0], dtype=f_i.dtype, device=f_i.device)
    return field.index_add(1, i, f_i).index_add(1, j, f_k).T


def _static_factors(geo, topology: Topology, scales: Scales, ewald, dtype) -> dict:
    """Geometry-only pieces of the polarization pairs: ``geo`` the pairs that couple (all under
    Ewald), ``same_dp`` whether the d and p fields coincide, ``field`` (index of the pairs of
    ``geo`` with a permanent field, None: all) and ``field_geo`` those pairs, ``base`` the
    Ewald-screened point parts of the 1/r^3, 3/r^5, 15/r^7 factors (None without Ewald) of the field
    pairs, ``d``, ``p`` those powers times the d and p scales of the field pairs, and ``u`` the first
    two times the mutual scales of all pairs; the damping factors multiply them."""
    p_scale, d_scale, u_scale = (geo.gather(x) for x in polar_scales(topology, geo.pairs, scales, dtype))
    same_dp = not scales.use_polar_groups or bool(torch.equal(d_scale, p_scale))
    if ewald is None:
        keep = (p_scale != 0) | (d_scale != 0) | (u_scale != 0)
        if not bool(keep.all()):
            index = torch.nonzero(keep).flatten()
            geo = geo.take(index)
            p_scale, d_scale, u_scale = p_scale[index], d_scale[index], u_scale[index]
    inv = 1.0 / geo.r
    inv2 = inv * inv
    rr = (inv * inv2, 3.0 * inv * inv2 * inv2, 15.0 * inv * inv2 * inv2 * inv2)  # rr3, rr5, rr7
    u = [u_scale * x for x in rr[:2]]
    field, field_geo = None, geo
    if ewald is not None:
        from pinnff.physics import ewald as ew

        base = [b - x for b, x in zip(ew.real_space_bn(geo.r, ewald.beta, 3)[1:], rr)]
    else:
        base = [None, None, None]
        carries = (p_scale != 0) | (d_scale != 0)  # pairs that only couple induced dipoles (1-2, 1-3)
        if not bool(carries.all()):
            field = torch.nonzero(carries).flatten()
            field_geo = geo.take(field)
            p_scale, d_scale = p_scale[field], d_scale[field]
            rr = [x.index_select(0, field) for x in rr]
    return {"geo": geo, "same_dp": same_dp, "field": field, "field_geo": field_geo, "base": base,
            "d": [d_scale * x for x in rr], "p": None if same_dp else [p_scale * x for x in rr], "u": u}


@fused
def damped_factors(field_r, field_pdik, r, pdik, base: list, d: list, p: list | None, u: list, aplus: bool,
                   direct_thole: float, thole: float) -> tuple:
    """Radial factors of the polarization pairs: the Ewald point part ``base`` (None entries: none)
    plus the damped short-range part, for the d and p permanent fields (f3, f5, f7 of the field pairs
    at ``field_r`` (k_f,) A, ``field_pdik`` (alpha_i alpha_k)^(1/6)) and the mutual coupling (f3, f5
    of all pairs at ``r`` (k,) with ``pdik``). ``d``, ``p``, ``u``: the scaled radial powers of
    :func:`_static_factors` (``p`` None: the d factors serve both fields, returned as None). Direct
    damping AMOEBA+ u^1.5 (``aplus``, width ``direct_thole``) or Thole u^3 (``thole``). A fused kernel."""
    if aplus:
        direct = damping.thole_u15(field_r, field_pdik, direct_thole)
    else:
        direct = damping.thole_u3(field_r, field_pdik, thole)
    mutual = damping.thole_u3(r, pdik, thole)[:2]
    f_d = [_plus(b, l * x) for b, l, x in zip(base, direct, d)]
    f_p = None if p is None else [_plus(b, l * x) for b, l, x in zip(base, direct, p)]
    return f_d, f_p, [_plus(b, l * x) for b, l, x in zip(base[:2], mutual, u)]


def _plus(base, short_range):
    """Ewald point part plus the damped short-range part of a radial factor (no point part: None)."""
    return short_range if base is None else base + short_range


class _Geometry:
    """Pairs, their damped and scaled radial factors, and the reciprocal space of one geometry,
    shared by every field evaluation (permanent field, each solver iteration)."""

    def __init__(self, shared, params, settings: PolarizationSettings):
        positions, topology, scales, ewald = shared.positions, shared.topology, shared.scales, shared.ewald
        self.ewald, self.shared = ewald, shared
        geo = shared.geometry(None if ewald is None else ewald.cutoff)
        static = geo.cached(("polarization", id(topology), scales, ewald),
                            lambda: _static_factors(geo, topology, scales, ewald, positions.dtype))
        self.same_dp, geo = static["same_dp"], static["geo"]
        self.geo, self.field_geo = geo, static["field_geo"]
        self.i, self.k, self.rvec, self.r = geo.i, geo.j, geo.rvec, geo.r
        self.rv = geo.components()
        alpha = params["polarizability"]
        pd = alpha.clamp(min=0.0) ** (1.0 / 6.0)
        pdik = pd.index_select(0, self.i) * pd.index_select(0, self.k)
        field_pdik = pdik if static["field"] is None else pdik.index_select(0, static["field"])
        if settings.direct_damping not in ("aplus", "thole"):
            raise ValueError(f"unknown direct_damping {settings.direct_damping!r}")
        self.n = positions.shape[0]
        if ewald is not None:
            self.recip = shared.reciprocal
        self.f_d, self.f_p, self.f_u = damped_factors(
            self.field_geo.r, field_pdik, self.r, pdik, static["base"], static["d"], static["p"], static["u"],
            settings.direct_damping == "aplus", settings.direct_thole, settings.thole)
        if self.same_dp:
            self.f_p = self.f_d

    def _accumulate(self, pair_fields, geo=None):
        """Sum per-pair fields (f_i at i, f_k at k), each (3, k), of the pairs of ``geo`` (default:
        all coupled pairs) into (n, 3)."""
        f_i, f_k = pair_fields
        geo = self.geo if geo is None else geo
        field = torch.zeros(3, self.n, dtype=f_i.dtype, device=f_i.device)
        return field.index_add(1, geo.i, f_i).index_add(1, geo.j, f_k).T

    def permanent_fields(self):
        """Damped permanent fields (n, 3) e/A^2 of the lab-frame multipoles: (E_d, E_p)."""
        q, d, Q = self.shared.q, self.shared.d, self.shared.Q
        geo = self.field_geo
        sets = [self.f_d] if self.same_dp else [self.f_d, self.f_p]
        if native.available(geo.r, self.shared.atom_rows):
            rows = self.shared.atom_rows.T
            fields = [native.permanent_field(geo.i, geo.j, geo.components(), torch.stack(f), rows, _field_formula)
                      for f in sets]
        else:
            fields = [self._accumulate(pair, geo)
                      for pair in permanent_field_pairs(geo.components(), *self.shared.pair_rows(geo), sets)]
        e_d, e_p = fields[0], fields[-1]
        if self.ewald is not None:
            from pinnff.physics import ewald as ew

            common = self.recip.field(q, d, Q) + ew.self_field(self.ewald.beta, d)
            e_d = e_d + common
            e_p = e_d if self.same_dp else e_p + common
        return e_d, e_p

    def mutual_field(self, mu):
        """Field (n, 3) of induced dipoles ``mu`` (n, 3) e*A: T mu (Thole u^3 damping)."""
        field = native.dipole_field(self.i, self.k, self.rv, *self.f_u, mu)
        if self.ewald is not None:
            from pinnff.physics import ewald as ew

            field = field + self.recip.field(None, mu, None) + ew.self_field(self.ewald.beta, mu)
        return field

    def dense_tensor(self):
        """T as a dense (3n, 3n) matrix (non-periodic, small systems only)."""
        f3, f5 = self.f_u
        eye = torch.eye(3, dtype=f3.dtype, device=f3.device)
        blocks = -f3[:, None, None] * eye + f5[:, None, None] * self.rvec[:, :, None] * self.rvec[:, None, :]
        t = torch.zeros(self.n * self.n, 3, 3, dtype=f3.dtype, device=f3.device)
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


def extrapolated_energy_terms(apply_t, alpha, e_d, e_p, order: int) -> list:
    """Per-atom contributions (n,) to ``E_p . alpha (T alpha)^j E_d`` for j = 0..``order``.

    ``apply_t(mu)`` (n, 3) -> (n, 3) is the symmetric dipole-field operator T, ``alpha`` (n, 1) A^3,
    ``e_d``, ``e_p`` (n, 3) e/A^2 the inducing and the interacting field (``e_p`` None: the same).
    The OPT series mu_d = sum_k c_k sum_(j<=k) (alpha T)^j alpha E_d gives
    E_pol = -1/2 C sum_j w_j (term j) with w_j = sum_(k>=j) c_k. With the half-series
    a_m = (alpha T)^m alpha E_d and b_m = (alpha T)^m alpha E_p and T symmetric:
    term 0 = E_p . a_0, term 2m+1 = b_m . (T a_m), term 2m+2 = (T b_m) . a_(m+1).
    Applications of T: ceil(order/2) on the series of E_d and floor(order/2) on that of E_p (none
    when ``e_p`` is None: the series coincide), against ``order`` per field for the series itself.
    """
    a = [alpha * e_d]
    b = a if e_p is None else [alpha * e_p]
    t_a, t_b = [], []  # T a_m, T b_m
    terms = [((e_d if e_p is None else e_p) * a[0]).sum(-1)]
    for j in range(1, order + 1):
        m = (j - 1) // 2
        if j % 2:  # term 2m+1 = b_m . T a_m
            t_a.append(apply_t(a[m]))
            a.append(alpha * t_a[m])
            terms.append((b[m] * t_a[m]).sum(-1))
        else:  # term 2m+2 = T b_m . a_(m+1)
            if e_p is not None:
                t_b.append(apply_t(b[m]))
                b.append(alpha * t_b[m])
            terms.append(((t_a if e_p is None else t_b)[m] * a[m + 1]).sum(-1))
    return terms


def induced_dipoles(positions, topology, params, cell=None, *, pairs=None, cutoff=None,
                    scales: Scales = Scales(), settings: PolarizationSettings = PolarizationSettings(), ewald=None):
    """Induced dipoles (mu_d, mu_p), each (n, 3) e*A, without the energy (no grad for "mutual")."""
    shared = Electrostatics(positions, topology, params, cell, pairs=pairs, cutoff=cutoff, ewald=ewald, scales=scales)
    _, mu_d, mu_p, _ = _solve(shared, params, settings)
    return mu_d, mu_p


def _solve(shared, params, settings):
    positions, ewald = shared.positions, shared.ewald
    geom = _Geometry(shared, params, settings)
    e_d, e_p = geom.permanent_fields()
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
                        segments: Segments | None = None, shared=None) -> torch.Tensor:
    """Polarization energy, kcal/mol (scalar, or ``(segments.size,)`` per segment, non-periodic
    only); params need 'charge', 'dipole', 'quadrupole', 'polarizability' (n,) A^3.
    Periodic cells need ``ewald`` (EwaldSettings). ``shared``: an
    :class:`pinnff.physics.electrostatics.Electrostatics` of the same arguments, to share
    work with the permanent-multipole term (built here when None)."""
    if segments is not None and ewald is not None:
        raise ValueError("per-segment energies are non-periodic only")
    if shared is None:
        shared = Electrostatics(positions, topology, params, cell, pairs=pairs, cutoff=cutoff, ewald=ewald,
                                scales=scales)
    if settings.solver == "extrapolated":
        geom = _Geometry(shared, params, settings)
        e_d, e_p = geom.permanent_fields()
        products = extrapolated_energy_terms(geom.mutual_field, params["polarizability"][:, None], e_d,
                                             None if geom.same_dp else e_p, len(settings.extrapolation) - 1)
        weights = [sum(settings.extrapolation[j:]) for j in range(len(settings.extrapolation))]
        per_atom = sum(w * x for w, x in zip(weights, products))
        return -0.5 * COULOMB * energy_sum(per_atom, None, segments)
    geom, mu_d, mu_p, (e_d, e_p) = _solve(shared, params, settings)
    if settings.solver != "mutual":
        return -0.5 * COULOMB * energy_sum((mu_d * e_p).sum(-1), None, segments)
    # functional stationary in (mu_d, mu_p); equals -1/2 mu_d.E_p at the solution
    alpha = params["polarizability"]
    inv_alpha = torch.where(alpha > 0, 1.0 / torch.where(alpha > 0, alpha, torch.ones_like(alpha)),
                            torch.zeros_like(alpha))
    a_term = inv_alpha[:, None] * mu_d * mu_p - mu_d * geom.mutual_field(mu_p)
    return -0.5 * COULOMB * energy_sum((e_d * mu_p + mu_d * e_p - a_term).sum(-1), None, segments)
