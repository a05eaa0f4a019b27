"""Stationarity of equilibration traces: synthetic correlated noise with and without a trend."""

import numpy as np
import pytest

from pinnff.errors import InputError
from pinnff.md.stationarity import stationary, statistical_inefficiency


def ar1(n, phi, sigma, seed):
    """AR(1) noise ``x_k = phi x_(k-1) + sigma sqrt(1 - phi^2) e_k``: stationary, variance sigma^2."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = rng.normal() * sigma
    for k in range(1, n):
        x[k] = phi * x[k - 1] + sigma * np.sqrt(1 - phi**2) * rng.normal()
    return x


def test_statistical_inefficiency_of_ar1_is_its_analytic_value():
    # g = (1 + phi) / (1 - phi) for AR(1)
    x = ar1(200_000, 0.8, 1.0, seed=1)
    assert statistical_inefficiency(x) == pytest.approx(9.0, rel=0.1)
    assert statistical_inefficiency(np.random.default_rng(2).normal(size=50_000)) == pytest.approx(1.0, abs=0.05)


def test_a_fast_oscillation_does_not_hide_a_slow_tail():
    # slow AR(1) (phi 0.97, variance 1) plus a fast alternating one (phi -0.8, variance 3), independent:
    # C(t) = (phi1^t + 3 phi2^t) / 4, so g = (g1 + 3 g2) / 4 with g_i = (1 + phi_i) / (1 - phi_i) = 16.5.
    # C(1) < 0, so a sum stopped at the first negative autocorrelation would give g = 1.
    n = 200_000
    x = ar1(n, 0.97, 1.0, seed=3) + ar1(n, -0.8, np.sqrt(3.0), seed=4)
    exact = ((1 + 0.97) / (1 - 0.97) + 3 * (1 - 0.8) / (1 + 0.8)) / 4
    assert statistical_inefficiency(x) == pytest.approx(exact, rel=0.1)
    # a short trace (2000 samples, about 120 independent ones) is not fooled either, typically
    short = [statistical_inefficiency(ar1(2000, 0.97, 1.0, s) + ar1(2000, -0.8, np.sqrt(3.0), 100 + s))
             for s in range(20)]
    assert 0.6 * exact < np.median(short) < 1.4 * exact and min(short) > 4.0


def test_flat_correlated_traces_pass_and_drifting_ones_fail():
    t = np.arange(2000) * 20.0  # fs
    passed = [stationary(t, -500.0 + ar1(2000, 0.9, 2.0, seed))[0] for seed in range(20)]
    assert sum(passed) >= 19  # z = 3: a false alarm is rare even with strongly correlated noise
    # a drift of 8 kcal/mol over the tested half (4 noise standard deviations) is found
    failed = [not stationary(t, -500.0 + 8.0 * t / t[1000] + ar1(2000, 0.9, 2.0, seed))[0] for seed in range(20)]
    assert sum(failed) >= 19
    # a relaxation still under way (exponential approach) is found too
    ok, details = stationary(t, -500.0 - 30.0 * np.exp(-t / 30000.0) + ar1(2000, 0.9, 2.0, 3))
    assert not ok and details["slope"] > 0


def test_correlation_correction_matters():
    # without the sqrt(g) correction, a flat but strongly correlated trace would be flagged as drifting often
    t = np.arange(2000) * 1.0
    details = [stationary(t, ar1(2000, 0.98, 1.0, seed))[1] for seed in range(10)]
    assert all(d["statistical_inefficiency"] > 20 for d in details)
    assert sum(abs(d["slope"]) > 3 * d["slope_err"] / np.sqrt(d["statistical_inefficiency"]) for d in details) >= 5
    assert sum(d["slope_ok"] for d in details) >= 9


def test_too_short_a_trace_is_an_input_error():
    with pytest.raises(InputError, match="at least 20 samples"):
        stationary(np.arange(30.0), np.zeros(30))
