"""The native pair kernels (pinnff.physics.native): the torch formulas' values, first and second
derivatives (finite differences in float64), float32 agreement, and whole energies and forces of the
liquid and of training clusters equal to the torch path's."""

import functools
import math

import numpy as np
import pytest
import torch

from helpers import degdme_dimer, random_multipoles
from pinnff.physics import PhysicsSettings, PolarizationSettings, Scales, degdme_topology, prior_parameters, total_energy
from pinnff.physics import chargetransfer, native, vdw
from pinnff.physics.ewald import EwaldSettings

pytestmark = pytest.mark.skipif(not native.available(torch.zeros(1)), reason="no working C compiler")


@pytest.fixture(autouse=True)
def native_on_afterwards():
    yield
    native.use(True)


def _pairs(n=16, k=90, seed=0):
    """Random pairs of ``n`` points on a spread-out line (no two closer than about 1 A) and cell shifts."""
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, n, (k,), generator=g)
    j = (i + torch.randint(1, n, (k,), generator=g)) % n
    x = torch.arange(n, dtype=torch.float64)[:, None] * torch.tensor([1.3, 0.9, 0.7], dtype=torch.float64)
    x = x + 0.2 * torch.rand(n, 3, generator=g, dtype=torch.float64)
    shift = torch.where(torch.rand(k, 1, generator=g) < 0.5, 0.0, 2.0) * torch.ones(k, 3, dtype=torch.float64)
    scale = torch.rand(k, generator=g, dtype=torch.float64)
    scale[::7] = 0.0  # excluded pairs
    return i, j, x, shift, scale, g


def test_dipole_field_matches_the_torch_formula_and_its_derivatives():
    i, j, x, _, _, g = _pairs()
    k = len(i)
    rv = torch.randn(3, k, generator=g, dtype=torch.float64, requires_grad=True)
    f3 = torch.rand(k, generator=g, dtype=torch.float64, requires_grad=True)
    f5 = torch.rand(k, generator=g, dtype=torch.float64, requires_grad=True)
    m = torch.randn(len(x), 3, generator=g, dtype=torch.float64, requires_grad=True)
    fast = native.dipole_field(i, j, rv, f3, f5, m)
    slow = native.dipole_field_torch(i, j, rv, f3, f5, m)
    assert torch.allclose(fast, slow, rtol=1e-12, atol=1e-12)
    weight = torch.randn(len(x), 3, generator=g, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad(fast, (rv, f3, f5, m), weight), torch.autograd.grad(slow, (rv, f3, f5, m), weight)):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    field = functools.partial(native.dipole_field, i, j)
    assert torch.autograd.gradcheck(field, (rv, f3, f5, m))
    assert torch.autograd.gradgradcheck(field, (rv, f3, f5, m))
    # symmetric operator: m' . T m = m . T m'
    other = torch.randn(len(x), 3, generator=g, dtype=torch.float64)
    with torch.no_grad():
        assert float((other * native.dipole_field(i, j, rv, f3, f5, m)).sum()) == pytest.approx(
            float((m * native.dipole_field(i, j, rv, f3, f5, other)).sum()), rel=1e-12)


@pytest.mark.parametrize("term,rule", [("vdw", "HHG"), ("vdw", "W-H"), ("ct", None)])
@pytest.mark.parametrize("window", [(math.inf, math.inf), (3.0, 4.5)])
def test_pair_terms_match_their_torch_formulas_and_finite_differences(term, rule, window):
    i, j, x, shift, scale, g = _pairs()
    n = len(x)
    if term == "vdw":
        a = 3.4 + 0.4 * torch.rand(n, generator=g, dtype=torch.float64)
        b = 0.01 + 0.1 * torch.rand(n, generator=g, dtype=torch.float64)
        formula = functools.partial(vdw._switched_pair_energies, epsilon_rule=rule,
                                    r_on=window[0], r_off=window[1])
        code = vdw.EPSILON_RULES[rule]
    else:
        a = 5.0 + 5.0 * torch.rand(n, generator=g, dtype=torch.float64)
        b = 3.0 + torch.rand(n, generator=g, dtype=torch.float64)
        on, off = (1e6, 2e6) if math.isinf(window[1]) else window  # the torch formula always switches
        formula = functools.partial(chargetransfer._switched_pair_energies, r_on=on, r_off=off)
        code = 0
    x, a, b = (t.clone().requires_grad_(True) for t in (x, a, b))

    def energies(x, a, b):
        return native.pair_energies(term, i, j, x, shift, scale, a, b, *window, formula, code)

    fast, slow = energies(x, a, b), formula(i, j, x, shift, scale, a, b)
    assert torch.allclose(fast, slow, rtol=1e-11, atol=1e-12)
    assert bool((fast[scale == 0] == 0).all())
    if math.isfinite(window[1]):  # some pairs are switched, some beyond the cutoff
        assert 0 < int((fast == 0).sum()) - int((scale == 0).sum()) < len(i)
    weight = torch.randn(len(i), generator=g, dtype=torch.float64)
    for p, q in zip(torch.autograd.grad(fast, (x, a, b), weight), torch.autograd.grad(slow, (x, a, b), weight)):
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradcheck(energies, (x, a, b))
    assert torch.autograd.gradgradcheck(energies, (x, a, b))

    def total(x, a, b):  # the sum, its gradients from the same pass over the pairs
        return native.pair_energies(term, i, j, x, shift, scale, a, b, *window, formula, code, summed=True)

    assert float(total(x, a, b)) == pytest.approx(float(slow.sum()), rel=1e-11)
    again = formula(i, j, x, shift, scale, a, b).sum()
    for p, q in zip(torch.autograd.grad(total(x, a, b), (x, a, b)), torch.autograd.grad(again, (x, a, b))):
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradgradcheck(total, (x, a, b))


PME = EwaldSettings(cutoff=6.0, tolerance=1e-5, method="pme", pme_spacing=0.5)


@pytest.mark.parametrize("kind", ["clusters", "box"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_native_and_torch_paths_give_the_same_energies_forces_and_parameter_gradients(kind, dtype):
    """A DEGDME dimer with random multipoles, as a training cluster (all pairs, no cutoff) and in a
    periodic box (PME, cutoffs, switches): every term, the forces and every parameter gradient."""
    topo = degdme_topology(2)
    params = random_multipoles(prior_parameters(2), seed=4, scale=0.5)
    params = {k: v.to(dtype).requires_grad_(v.is_floating_point()) if torch.is_tensor(v) else v
              for k, v in params.items()}
    pos = torch.tensor(degdme_dimer(shift=(0.0, 0.5, 4.5)) + np.array([3.0, 3.0, 0.5]), dtype=dtype)
    settings = PhysicsSettings(polarization=PolarizationSettings(solver="extrapolated"))
    cell = None
    if kind == "box":
        settings = PhysicsSettings(cutoff=6.0, ewald=PME, scales=Scales(use_polar_groups=False),
                                   polarization=PolarizationSettings(solver="extrapolated"))
        cell = torch.eye(3, dtype=dtype) * 13.0
    names = [k for k, v in params.items() if torch.is_tensor(v) and v.requires_grad]
    results = []
    for enabled in (True, False):
        native.use(enabled)
        x = pos.clone().requires_grad_(True)
        total, parts = total_energy(x, topo, params, cell, settings=settings)
        grads = torch.autograd.grad(total, [x] + [params[k] for k in names], allow_unused=True)
        results.append(({k: float(v) for k, v in parts.items()}, grads))
    (fast_parts, fast_grads), (slow_parts, slow_grads) = results
    rel, tol = (1e-10, 1e-10) if dtype == torch.float64 else (1e-5, 1e-4)  # float32: sums of cancelling pairs
    for term, value in slow_parts.items():
        assert fast_parts[term] == pytest.approx(value, rel=rel, abs=tol), term
    for name, p, q in zip(["positions"] + names, fast_grads, slow_grads):
        if q is None:
            assert p is None, name
            continue
        assert torch.allclose(p, q, rtol=10 * rel, atol=10 * rel * (float(q.abs().max()) + 1.0)), name


def test_switched_off_kernels_leave_the_torch_path():
    native.use(False)
    assert not native.available(torch.zeros(1))
    native.use(True)
    assert native.available(torch.zeros(1, dtype=torch.float32), torch.zeros(1, dtype=torch.float64))
    assert not native.available(torch.zeros(1, dtype=torch.float16))


def test_valence_kernel_gives_the_torch_energy_and_forces_of_distorted_molecules():
    """MMFF94 bonds, angles, stretch-bend and torsions of three distorted DEGDME molecules: the native
    energy and forces against the torch terms' autograd, and finite differences of the kernel."""
    from pinnff.physics.intramolecular import MMFFIntramolecular

    g = torch.Generator().manual_seed(3)
    base = np.concatenate([degdme_dimer(), degdme_dimer(shift=(9.0, 0.0, 0.0))[:23]])
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 2e-5)):
        valence = MMFFIntramolecular("COCCOCCOC", 3, nonbonded=False).to(dtype)
        x = (torch.tensor(base, dtype=dtype) + 0.08 * torch.randn(69, 3, generator=g, dtype=torch.float64).to(dtype))
        x.requires_grad_(True)
        fast = valence.valence_energy(x)
        slow = valence(x)
        assert float(fast) == pytest.approx(float(slow), rel=tol)
        (f_fast,), (f_slow,) = torch.autograd.grad(fast, x), torch.autograd.grad(slow, x)
        assert float((f_fast - f_slow).abs().max()) < tol * 10 * float(f_slow.abs().max())
    x = x.detach().double().requires_grad_(True)
    valence = valence.double()
    assert torch.autograd.gradcheck(valence.valence_energy, (x,))
    assert torch.autograd.gradgradcheck(valence.valence_energy, (x,))
    with torch.no_grad():  # a changed parameter reaches the kernel
        valence.bond_r0 += 0.01
    assert float(valence.valence_energy(x)) == pytest.approx(float(valence(x)), rel=1e-10)


def _multipole_inputs(g, n, k, equal_every=3):
    """Random pair vectors (3, k), per-atom rows (n, 13), cores and exponents (some pairs with equal
    exponents: GORDON2's equal-alpha branch) and pair scales, float64, all requiring grad."""
    rv = torch.randn(3, k, generator=g, dtype=torch.float64) * 2.0 + 1.5
    rows = torch.randn(n, 13, generator=g, dtype=torch.float64)
    core = 1.0 + 4.0 * torch.rand(n, generator=g, dtype=torch.float64)
    alpha = 3.0 + 2.0 * torch.rand(n, generator=g, dtype=torch.float64)
    alpha[::equal_every] = alpha[0]
    scale = torch.rand(k, generator=g, dtype=torch.float64)
    return [t.requires_grad_(True) for t in (rv, rows, core, alpha, scale)]


@pytest.mark.parametrize("penetration", [True, False])
def test_multipole_pair_kernel_matches_the_torch_pair_energy_and_finite_differences(penetration):
    from pinnff.physics import multipole

    i, j, _, _, _, g = _pairs()
    rv, rows, core, alpha, scale = _multipole_inputs(g, 16, len(i))
    f = torch.randn(5, len(i), generator=g, dtype=torch.float64, requires_grad=True)
    if not penetration:
        core = alpha = scale = None
    inputs = [t for t in (rv, f, rows, core, alpha, scale) if t is not None]

    def energies(*tensors):
        rv, f, rows, *cp = tensors
        return native.multipole_pairs(i, j, rv, f, rows, *(cp or (None, None, None)), multipole._native_formula)

    fast = energies(*inputs)
    slow = multipole._native_formula(i, j, rv, f, rows, core, alpha, scale)
    assert torch.allclose(fast, slow, rtol=1e-11, atol=1e-11)
    weight = torch.randn(len(i), generator=g, dtype=torch.float64)
    for p, q in zip(torch.autograd.grad(fast, inputs, weight), torch.autograd.grad(slow, inputs, weight)):
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradcheck(energies, tuple(inputs))

    def total(*tensors):  # the sum, its gradients from the same pass over the pairs
        rv, f, rows, *cp = tensors
        return native.multipole_pairs(i, j, rv, f, rows, *(cp or (None, None, None)), multipole._native_formula,
                                      summed=True)

    assert float(total(*inputs)) == pytest.approx(float(slow.sum()), rel=1e-11)
    again = multipole._native_formula(i, j, rv, f, rows, core, alpha, scale).sum()
    for p, q in zip(torch.autograd.grad(total(*inputs), inputs), torch.autograd.grad(again, inputs)):
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradcheck(total, tuple(inputs))


def test_permanent_field_kernel_matches_the_torch_field_and_finite_differences():
    from pinnff.physics import polarization

    i, j, _, _, _, g = _pairs()
    rv, rows = _multipole_inputs(g, 16, len(i))[:2]
    factors = torch.randn(3, len(i), generator=g, dtype=torch.float64, requires_grad=True)
    fast = native.permanent_field(i, j, rv, factors, rows, polarization._field_formula)
    slow = polarization._field_formula(i, j, rv, factors, rows)
    assert torch.allclose(fast, slow, rtol=1e-11, atol=1e-11)
    weight = torch.randn(16, 3, generator=g, dtype=torch.float64)
    for p, q in zip(torch.autograd.grad(fast, (rv, factors, rows), weight),
                    torch.autograd.grad(slow, (rv, factors, rows), weight)):
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-10)
    field = functools.partial(native.permanent_field, i, j, formula=polarization._field_formula)
    assert torch.autograd.gradcheck(field, (rv, factors, rows))
    assert torch.autograd.gradgradcheck(field, (rv, factors, rows))
    # fixed geometry (training): only the rows need a gradient, the kernel skips the others
    fixed_rv, fixed_factors = rv.detach(), factors.detach()
    (fast_rows,) = torch.autograd.grad(native.permanent_field(i, j, fixed_rv, fixed_factors, rows,
                                                              polarization._field_formula), rows, weight)
    (slow_rows,) = torch.autograd.grad(polarization._field_formula(i, j, fixed_rv, fixed_factors, rows), rows, weight)
    assert torch.allclose(fast_rows, slow_rows, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("rows", [(0, 10), (1, 4), (0, 4), (4, 10)])
def test_pme_spread_and_projection_kernels_match_the_torch_stencils_and_finite_differences(rows):
    """Spreading coefficients on PME stencil rows and projecting a grid back (grid points wrapping around
    a small, uneven grid): the C kernels equal the torch formulas, with their gradients by the spline
    offsets, the coefficients and the grid; gradcheck and gradgradcheck hold."""
    from pinnff.physics.native import pme as native_pme
    from pinnff.physics.pme import bspline_weights

    g = torch.Generator().manual_seed(7)
    shape, n = (7, 6, 9), 12
    w = torch.rand(n, 3, generator=g, dtype=torch.float64, requires_grad=True)
    base = torch.randint(-4, 20, (n, 3), generator=g)
    coef = torch.randn(n, rows[1] - rows[0], generator=g, dtype=torch.float64, requires_grad=True)
    grid = torch.randn(shape[0] * shape[1] * shape[2], generator=g, dtype=torch.float64, requires_grad=True)

    def spread(w, coef):
        return native_pme.spread(base, bspline_weights(w, 5, 2), coef, rows, shape)

    def project(w, grid):
        return native_pme.project(base, bspline_weights(w, 5, 2), grid, rows, shape)

    theta = bspline_weights(w, 5, 2)
    for fast, slow, inputs in ((spread(w, coef), native_pme.spread_torch(base, theta, coef, rows, shape), (w, coef)),
                               (project(w, grid), native_pme.project_torch(base, theta, grid, rows, shape), (w, grid))):
        assert torch.allclose(fast, slow, rtol=1e-12, atol=1e-12)
        weight = torch.randn(fast.shape, generator=g, dtype=torch.float64)
        for p, q in zip(torch.autograd.grad(fast, inputs, weight, retain_graph=True),
                        torch.autograd.grad(slow, inputs, weight, retain_graph=True)):
            assert torch.allclose(p, q, rtol=1e-11, atol=1e-11)
    assert torch.autograd.gradcheck(spread, (w, coef), fast_mode=True)
    assert torch.autograd.gradcheck(project, (w, grid), fast_mode=True)
    assert torch.autograd.gradgradcheck(project, (w, grid), fast_mode=True)


def test_without_a_compiler_one_warning_and_the_torch_path(monkeypatch, caplog, tmp_path):
    import logging

    monkeypatch.setattr(native, "_state", {"enabled": True, "library": None, "failed": False})
    monkeypatch.setattr(native, "_compiler", lambda: None)
    monkeypatch.setenv("PINNFF_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="pinnff.physics.native"):
        assert not native.available(torch.zeros(1))
        assert not native.available(torch.zeros(1))
    assert sum("native pair kernels unavailable" in r.message for r in caplog.records) == 1
    i, j, x, _, _, g = _pairs()
    rv = torch.randn(3, len(i), generator=g, dtype=torch.float64)
    f3, f5 = torch.rand(len(i), generator=g, dtype=torch.float64), torch.rand(len(i), generator=g, dtype=torch.float64)
    m = torch.randn(len(x), 3, generator=g, dtype=torch.float64)
    assert torch.equal(native.dipole_field(i, j, rv, f3, f5, m), native.dipole_field_torch(i, j, rv, f3, f5, m))


def test_the_library_is_built_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(native, "_state", {"enabled": True, "library": None, "failed": False})
    monkeypatch.setenv("PINNFF_CACHE_DIR", str(tmp_path))
    assert native.available(torch.zeros(1))
    built = list((tmp_path / "native").glob("pair_kernels-*.so"))
    assert len(built) == 1 and not [p for p in (tmp_path / "native").iterdir() if p.is_dir()]
    stamp = built[0].stat().st_mtime_ns
    monkeypatch.setattr(native, "_state", {"enabled": True, "library": None, "failed": False})
    assert native.available(torch.zeros(1)) and built[0].stat().st_mtime_ns == stamp


def test_per_segment_energies_and_gradients_of_a_batch_match_the_torch_path():
    """Two DEGDME dimers and a monomer as one batch of segments (a training batch): per-segment energies and
    the gradients of a weighted sum of them (each segment's gradient scaled by its own weight)."""
    from pinnff.physics.pairs import segment_pairs

    params2 = random_multipoles(prior_parameters(2), seed=5, scale=0.5)
    params = {k: (torch.cat([v, v, v[:23]]) if torch.is_tensor(v) else v) for k, v in params2.items()}
    params = {k: v.requires_grad_(v.is_floating_point()) if torch.is_tensor(v) else v for k, v in params.items()}
    topo = degdme_topology(5)
    x = torch.tensor(np.concatenate([degdme_dimer(shift=(0.0, 0.5, 4.5)), degdme_dimer(shift=(0.3, 4.0, 0.0)) + 30.0,
                                     degdme_dimer()[:23] - 30.0]))
    pairs, segments = segment_pairs([46, 46, 23])
    settings = PhysicsSettings(polarization=PolarizationSettings(solver="extrapolated"))
    weight = torch.tensor([0.7, -1.3, 2.0], dtype=torch.float64)
    names = [k for k, v in params.items() if torch.is_tensor(v) and v.requires_grad]
    results = []
    for enabled in (True, False):
        native.use(enabled)
        xx = x.clone().requires_grad_(True)
        total, parts = total_energy(xx, topo, params, settings=settings, pairs=pairs, segments=segments)
        assert total.shape == (3,)
        grads = torch.autograd.grad((weight * total).sum(), [xx] + [params[k] for k in names], allow_unused=True)
        results.append(({k: v.detach() for k, v in parts.items()}, grads))
    (fast_parts, fast_grads), (slow_parts, slow_grads) = results
    for term, value in slow_parts.items():
        assert torch.allclose(fast_parts[term], value, rtol=1e-10, atol=1e-10), term
    for name, p, q in zip(["positions"] + names, fast_grads, slow_grads):
        assert (p is None) == (q is None), name
        if q is not None:
            assert torch.allclose(p, q, rtol=1e-9, atol=1e-9 * (float(q.abs().max()) + 1.0)), name
