"""Diffusive window, D from the fit, block error bars, units and the Yeh-Hummer term."""

import math

import numpy as np
import pytest
from diffusion_synthetic import langevin_com, liquid_like  # noqa: F401 (fixture)

from pinnff.analysis.diffusion import (
    NoDiffusiveRegime,
    WindowCriterion,
    cubic_box_length,
    local_loglog_slope,
    self_diffusion,
    slope_to_d,
    yeh_hummer_correction,
)
from pinnff.errors import InputError


def test_known_d_is_recovered_within_its_error_bar(liquid_like):
    com, d_true, dt = liquid_like
    result = self_diffusion(com, dt)
    assert d_true == pytest.approx(12.5, rel=0.01)  # sigma^2 tau = 2.5e-5 * 50 A^2/fs
    assert abs(result.D - d_true) < 2 * result.D_err
    assert 0.005 < result.D_err / result.D < 0.2
    assert len(result.D_blocks) == 5 and result.n_molecules == 64 and result.n_frames == 4000


def test_window_skips_the_ballistic_regime(liquid_like):
    com, _, dt = liquid_like
    result = self_diffusion(com, dt)
    start, end = result.fit_window_fs
    tau = 50.0
    # exact OU MSD: slope d ln MSD / d ln t = t (1 - e^{-t/tau}) / (t - tau (1 - e^{-t/tau})); within 0.1 of 1
    # only beyond ~10 tau; the grid and noise allow a little slack
    assert start > 7 * tau
    assert end <= 0.5 * (4000 // 5 - 1) * dt + 1e-6
    assert end / start >= 5.0
    grid, slopes = np.array(result.slope_curve["lag_fs"]), np.array(result.slope_curve["slope"], dtype=float)
    inside = (grid >= start) & (grid <= end)
    assert np.all(np.abs(slopes[inside] - 1) <= 0.1)
    assert np.nanmin(slopes[grid <= tau]) > 1.6, "short lags are ballistic (slope near 2)"


def test_error_bars_are_calibrated_over_independent_runs():
    z_time, z_molecules = [], []
    for seed in range(12):
        com, d_true = langevin_com(32, 1000, 10, 1.0, 10.0, 0.005, seed=100 + seed)
        for method, store in (("time", z_time), ("molecules", z_molecules)):
            result = self_diffusion(com, 10.0, error_method=method)
            store.append((result.D - d_true) / result.D_err)
    for z in (np.array(z_time), np.array(z_molecules)):
        assert 0.4 < np.sqrt(np.mean(z**2)) < 1.6, z
        assert np.mean(np.abs(z) < 2) >= 0.8, z
        assert abs(np.mean(z)) < 0.8, z


def test_local_slope_of_a_power_law_is_its_exponent():
    lag = np.arange(2000) * 5.0
    criterion = WindowCriterion()
    for exponent in (1.0, 0.5, 2.0):
        grid, slopes = local_loglog_slope(lag, 3.0 * lag**exponent, criterion, max_lag_fs=lag[-1])
        finite = slopes[np.isfinite(slopes)]
        assert len(finite) > 10
        np.testing.assert_allclose(finite, exponent, atol=1e-9)


def test_ballistic_motion_has_no_diffusive_window():
    t = np.arange(500)[:, None, None] * 1.0
    velocities = np.random.default_rng(3).normal(size=(1, 10, 3))
    with pytest.raises(NoDiffusiveRegime, match="ballistic.traj: no diffusive regime"):
        self_diffusion(t * velocities, 2.0, where="ballistic.traj")


def test_bad_settings_are_input_errors(liquid_like):
    com, _, dt = liquid_like
    with pytest.raises(InputError):
        WindowCriterion(slope_tolerance=1.5)
    with pytest.raises(InputError, match="molecule blocks"):
        self_diffusion(com[:, :3], dt, error_method="molecules", n_blocks=5)
    with pytest.raises(InputError, match="too few"):
        self_diffusion(com[:20], dt)


def test_units_slope_to_d():
    # MSD slope 6 A^2/ps = 6e-3 A^2/fs -> D = 1 A^2/ps = 1e-20 m^2 / 1e-12 s = 1e-8 m^2/s = 10 x 1e-9 m^2/s
    assert slope_to_d(6e-3) == pytest.approx(10.0, rel=1e-12)


def test_yeh_hummer_term_matches_the_formula_by_hand():
    # xi k_B T / (6 pi eta L), T = 298.15 K, eta = 0.95 mPa s, L = 25.0 A:
    # k_B T = 1.380649e-23 J/K * 298.15 K = 4.1164049935e-21 J
    # 6 pi eta L = 6 * 3.14159265 * 0.95e-3 Pa s * 25.0e-10 m = 4.47676953e-11 Pa s m
    # 2.837297 * 4.1164049935e-21 / 4.47676953e-11 = 2.6089044e-10 m^2/s = 0.26089044 x 1e-9 m^2/s
    assert yeh_hummer_correction(298.15, 0.95, 25.0) == pytest.approx(0.26089044, rel=1e-7)
    by_hand = 2.837297 * 1.380649e-23 * 298.15 / (6 * math.pi * 0.95e-3 * 25.0e-10) * 1e9
    assert yeh_hummer_correction(298.15, 0.95, 25.0) == pytest.approx(by_hand, rel=1e-12)
    # proportional to T, inversely to eta and L
    assert yeh_hummer_correction(596.3, 0.95, 25.0) == pytest.approx(2 * by_hand, rel=1e-12)
    assert yeh_hummer_correction(298.15, 1.9, 50.0) == pytest.approx(by_hand / 4, rel=1e-12)
    with pytest.raises(InputError):
        yeh_hummer_correction(298.15, 0.0, 25.0)


def test_cubic_box_length():
    assert cubic_box_length(np.eye(3) * 24.8) == pytest.approx(24.8)
    cells = np.stack([np.eye(3) * 24.0, np.eye(3) * 26.0])  # NPT: the mean edge
    assert cubic_box_length(cells) == pytest.approx(25.0)
    assert cubic_box_length(np.diag([20.0, 20.0, 30.0])) is None
    assert cubic_box_length(np.array([[20.0, 0, 0], [5.0, 19.4, 0], [0, 0, 20.0]])) is None


def test_removing_drift_of_a_rigidly_translating_system_leaves_relative_motion(liquid_like):
    com, _, dt = liquid_like
    drift = (np.arange(len(com)) * 0.05)[:, None, None] * np.array([1.0, 0.0, 0.0])  # 0.05 A/fs flow
    plain = self_diffusion(com - com.mean(axis=1, keepdims=True), dt)
    removed = self_diffusion(com + drift, dt, remove_drift=True)
    assert removed.D == pytest.approx(plain.D, rel=1e-9)
