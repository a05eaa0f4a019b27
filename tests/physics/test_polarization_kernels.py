"""The polarization kernels against their plain definitions: the extrapolated energy's half-series
products against the series itself, and the dipole-field operator's hand-written gradients against
finite differences and autograd of the pair formula."""

import pytest
import torch

from pinnff.physics.polarization import _accumulate_pairs, _DipoleField, dipole_field_pairs, extrapolated_energy_terms


def _symmetric_operator(n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(3 * n, 3 * n, generator=generator, dtype=torch.float64)
    t = 0.5 * (a + a.T)
    return lambda mu: (t @ mu.reshape(-1)).reshape(n, 3)


@pytest.mark.parametrize("separate_fields", [True, False])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_half_series_products_equal_the_series_with_half_the_applications(order, separate_fields):
    n = 7
    apply_t = _symmetric_operator(n)
    generator = torch.Generator().manual_seed(1)
    alpha = 0.5 + torch.rand(n, 1, generator=generator, dtype=torch.float64)
    e_d = torch.randn(n, 3, generator=generator, dtype=torch.float64)
    e_p = torch.randn(n, 3, generator=generator, dtype=torch.float64) if separate_fields else None
    calls = []

    def counting(mu):
        calls.append(1)
        return apply_t(mu)

    terms = extrapolated_energy_terms(counting, alpha, e_d, e_p, order)
    interacting = e_d if e_p is None else e_p
    mu = alpha * e_d  # (alpha T)^j alpha E_d, j = 0..order
    for j in range(order + 1):
        assert float(terms[j].sum()) == pytest.approx(float((interacting * mu).sum()), rel=1e-10, abs=1e-10)
        mu = alpha * apply_t(mu)
    # T a_m for the odd terms, T b_m for the even ones (a_m again when the fields are the same)
    assert len(calls) == (order + 1) // 2 + (order // 2 if separate_fields else 0)


def test_dipole_field_function_matches_the_pair_formula_and_finite_differences():
    torch.manual_seed(0)
    n, k = 6, 11
    i = torch.randint(0, n, (k,))
    j = (i + torch.randint(1, n, (k,))) % n
    inputs = [torch.randn(3, n, dtype=torch.float64, requires_grad=True),
              torch.randn(3, k, dtype=torch.float64, requires_grad=True),
              torch.randn(k, dtype=torch.float64, requires_grad=True),
              torch.randn(k, dtype=torch.float64, requires_grad=True)]

    def function(m, rv, f3, f5):
        return _DipoleField.apply(m, rv, f3, f5, i, j)

    def reference(m, rv, f3, f5):
        return _accumulate_pairs(dipole_field_pairs(rv, m[:, i], m[:, j], f3, f5), i, j, n)

    assert torch.allclose(function(*inputs), reference(*inputs), rtol=0, atol=1e-14)
    weight = torch.randn(3, n, dtype=torch.float64)
    ours = torch.autograd.grad((function(*inputs) * weight).sum(), inputs)
    plain = torch.autograd.grad((reference(*inputs) * weight).sum(), inputs)
    for a, b in zip(ours, plain):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(function, inputs)
    assert torch.autograd.gradgradcheck(function, inputs)
