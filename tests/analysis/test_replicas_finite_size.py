"""Replica aggregation, the finite-size extrapolation in 1/L and the summary's choice of route."""

import numpy as np
import pytest

from pinnff.analysis.diffusion import yeh_hummer_correction
from pinnff.analysis.experimental import Measurement
from pinnff.analysis.finite_size import extrapolate_finite_size
from pinnff.analysis.replicas import aggregate_replicas, pooled_msd
from pinnff.analysis.summary import summarize
from pinnff.errors import InputError

T = 298.15


def test_aggregate_replicas_by_hand():
    agg = aggregate_replicas([1.0, 2.0, 3.0, 4.0])
    # mean 2.5; sample std sqrt(5/3) = 1.290994; standard error 1.290994 / 2
    assert agg["mean"] == 2.5 and agg["n"] == 4
    assert agg["std"] == pytest.approx(np.sqrt(5 / 3), rel=1e-12)
    assert agg["error"] == pytest.approx(np.sqrt(5 / 3) / 2, rel=1e-12)
    single = aggregate_replicas([1.7], [0.2])
    assert single["mean"] == 1.7 and single["error"] == 0.2 and single["std"] is None
    with pytest.raises(InputError):
        aggregate_replicas([1.7])
    with pytest.raises(InputError):
        aggregate_replicas([1.0, float("nan")])


def test_replica_errors_are_calibrated():
    # 400 studies of 5 replicas drawn around a true D: the standard error covers ~68 % (t with 4 dof: 63 %)
    rng = np.random.default_rng(0)
    z = []
    for _ in range(400):
        agg = aggregate_replicas(1.5 + 0.2 * rng.normal(size=5))
        z.append((agg["mean"] - 1.5) / agg["error"])
    covered = np.mean(np.abs(z) < 1)
    assert 0.56 < covered < 0.70


def test_pooled_msd_is_the_average_over_common_lags():
    a, b = np.arange(10.0), 2 * np.arange(8.0)
    np.testing.assert_allclose(pooled_msd([a, b]), 1.5 * np.arange(8.0))


def _synthetic(lengths, d_inf, eta):
    lengths = np.asarray(lengths, dtype=float)
    return d_inf - yeh_hummer_correction(T, eta, 1.0) / lengths


def test_exact_d_of_l_gives_back_d_inf_and_viscosity():
    lengths = [20.0, 25.0, 32.0, 40.0]
    fit = extrapolate_finite_size(lengths, _synthetic(lengths, 2.0, 0.8), [0.02] * 4, T)
    assert fit["D_inf"] == pytest.approx(2.0, rel=1e-10) and fit["viscosity_mPas"] == pytest.approx(0.8, rel=1e-9)
    assert fit["chi2"] == pytest.approx(0.0, abs=1e-16) and fit["dof"] == 2


def test_two_sizes_errors_by_hand():
    (l1, l2), (s1, s2) = (20.0, 40.0), (0.03, 0.05)
    d = _synthetic([l1, l2], 2.0, 0.8)
    fit = extrapolate_finite_size([l1, l2], d, [s1, s2], T)
    # a line through two points: D_inf = (L1 D1 - L2 D2) / (L1 - L2), b = (D1 - D2) / (1/L1 - 1/L2)
    assert fit["D_inf"] == pytest.approx((l1 * d[0] - l2 * d[1]) / (l1 - l2), rel=1e-12)
    assert fit["D_inf_err"] == pytest.approx(np.hypot(l1 * s1, l2 * s2) / (l2 - l1), rel=1e-10)
    assert fit["slope_err"] == pytest.approx(np.hypot(s1, s2) / (1 / l1 - 1 / l2), rel=1e-10)
    b = fit["slope_1e9m2s_A"]
    assert fit["viscosity_err_mPas"] == pytest.approx(0.8 * fit["slope_err"] / abs(b), rel=1e-9)


def test_noisy_d_of_l_recovers_d_inf_and_viscosity_within_their_errors():
    rng = np.random.default_rng(1)
    lengths, sigma = np.array([18.0, 23.0, 29.0, 36.0]), np.array([0.04, 0.04, 0.05, 0.06])
    z_d, z_eta = [], []
    for _ in range(300):
        fit = extrapolate_finite_size(lengths, _synthetic(lengths, 2.0, 0.8) + sigma * rng.normal(size=4), sigma, T)
        z_d.append((fit["D_inf"] - 2.0) / fit["D_inf_err"])
        if fit["viscosity_mPas"] is not None:
            z_eta.append((fit["viscosity_mPas"] - 0.8) / fit["viscosity_err_mPas"])
    assert 0.85 < np.std(z_d) < 1.15 and abs(np.mean(z_d)) < 0.2
    assert np.median(np.abs(z_eta)) < 1.0  # first-order propagation: eta = -C/b is skewed, but mostly covered


def test_one_size_or_a_non_rising_d_is_refused_or_flagged():
    with pytest.raises(InputError, match="two box sizes"):
        extrapolate_finite_size([20.0, 20.0], [1.0, 1.1], [0.1, 0.1], T)
    fit = extrapolate_finite_size([20.0, 40.0], [1.2, 1.0], [0.05, 0.05], T)
    assert fit["viscosity_mPas"] is None and "does not rise" in fit["note"]


def _run(label, n, length, d, err):
    return {"label": label, "n_molecules": n, "box_length_A": length, "D": d, "D_err": err, "n_replicas": 4,
            "duration_ps": 500.0, "temperature_K": T, "no_diffusion": None if d is not None else {"reason": "short"}}


def test_summary_routes():
    viscosity = Measurement("viscosity", 1.0, None, "mPa s", T, "", {"authors": "A. Tester", "journal": "J. Test",
                            "volume": "1", "pages": "1", "year": 2000, "doi": "10.0/x"}, "fixture")
    d32, d128 = _synthetic([20.0, 32.0], 2.0, 0.8)
    runs = [_run("pinn", 128, 32.0, d128, 0.03), _run("pinn", 32, 20.0, d32, 0.03), _run("prior", 64, 25.0, 1.4, 0.05),
            _run("physics", 64, 25.0, None, None)]
    summary = summarize(runs, None)["potentials"]
    pinn = summary["pinn"]
    assert pinn["route"] == "extrapolation" and [s["n_molecules"] for s in pinn["sizes"]] == [32, 128]
    assert pinn["D_corrected"] == pytest.approx(2.0) and pinn["viscosity_mPas"] == pytest.approx(0.8)
    assert summary["prior"]["route"] == "none" and summary["prior"]["D_corrected"] is None
    assert "no cited experimental viscosity" in summary["prior"]["route_detail"]
    assert summary["physics"]["route"] == "none"
    assert "no box size has a diffusive regime" in summary["physics"]["route_detail"]
    cited = summarize(runs, viscosity)["potentials"]
    assert cited["pinn"]["route"] == "extrapolation"  # the model's own viscosity from two sizes
    assert cited["prior"]["route"] == "yeh-hummer"
    assert cited["prior"]["D_corrected"] == pytest.approx(1.4 + yeh_hummer_correction(T, 1.0, 25.0), rel=1e-12)
