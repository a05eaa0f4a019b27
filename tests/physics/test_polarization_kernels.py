"""The extrapolated polarization energy's half-series products against the series itself."""

import pytest
import torch

from pinnff.physics.polarization import extrapolated_energy_terms


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
