"""Is an equilibration trace (potential energy, temperature, volume) free of a trend?

Two tests on the last ``fraction`` of the trace, both with errors corrected
for autocorrelation by the statistical inefficiency ``g`` (the number of
samples per independent sample; Chodera et al., J. Chem. Theory Comput. 3, 26
(2007), eq. 8), estimated by Geyer's initial monotone sequence estimator: the
normalized autocorrelation summed in pairs of lags, Gamma_k = C(2k) + C(2k+1),
up to the first pair that is not positive, each pair capped by the one before
(Geyer, Statistical Science 7, 473 (1992), sec. 3.3). A sum stopped where the
autocorrelation itself first drops below zero misses a slow tail under a fast
oscillation (a kinetic temperature: vibrations on top of a thermostat's
picosecond relaxation) and can understate the error several-fold:

1. the least-squares slope over that part lies within ``z`` of its standard
   error (the ordinary-least-squares error times ``sqrt(g)``) of zero;
2. the means of its first and second halves differ by less than ``z`` times
   the standard error of their difference (each half's ``std sqrt(g / n)``).

The trace is stationary when both hold. Units are those of ``times`` and
``values``; the slope is reported per unit of ``times``.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from pinnff.errors import InputError


def statistical_inefficiency(values: np.ndarray) -> float:
    """``g = 1 + 2 sum_(t>=1) C(t) = -1 + 2 sum_k Gamma_k`` of a series ``(n,)`` by Geyer's initial
    monotone sequence (module docstring); >= 1."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    dx = x - x.mean()
    var = float(dx @ dx) / n
    if n < 3 or var == 0.0:
        return 1.0
    spectrum = np.fft.rfft(dx, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / (var * np.arange(n, 0, -1))
    pairs = (n - 1) // 2
    gamma = acf[0:2 * pairs:2] + acf[1:2 * pairs + 1:2]
    stop = np.nonzero(gamma <= 0)[0]
    gamma = np.minimum.accumulate(gamma[:stop[0] if len(stop) else pairs])
    return max(1.0, float(2.0 * gamma.sum() - 1.0))


def correlated_mean(values: np.ndarray) -> tuple[float, float, float]:
    """Mean of a correlated series ``(n,)`` (n >= 2), its standard error ``std sqrt(g / n)`` and ``g``."""
    x = np.asarray(values, dtype=float)
    g = statistical_inefficiency(x)
    return float(x.mean()), float(x.std(ddof=1) * math.sqrt(g / len(x))), g


def stationary(times: Sequence[float], values: Sequence[float], fraction: float = 0.5, z: float = 3.0,
               min_samples: int = 20) -> tuple[bool, dict]:
    """Whether the last ``fraction`` of the trace ``values(times)`` (both ``(n,)``) has no trend.

    Returns ``(ok, details)``: ``details`` holds the slope and its corrected
    error, the two half means and the error of their difference, ``g``, the
    number of samples used and ``z``. Fewer than ``min_samples`` samples in
    the tested part: an :class:`~pinnff.errors.InputError`.
    """
    t = np.asarray(times, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise InputError(f"times and values must be equally long 1-D series, got {t.shape} and {y.shape}")
    if not 0 < fraction <= 1 or z <= 0:
        raise InputError(f"fraction must lie in (0, 1] and z be positive, got {fraction}, {z}")
    part = slice(len(t) - int(round(fraction * len(t))), None)
    t, y = t[part], y[part]
    n = len(t)
    if n < min_samples:
        raise InputError(f"stationarity test needs at least {min_samples} samples in the last {fraction:g} of the "
                         f"trace, got {n}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise InputError("stationarity test: the trace holds non-finite values")
    slope, intercept = np.polyfit(t, y, 1)
    residual = y - (slope * t + intercept)
    g = statistical_inefficiency(residual)
    spread = float(np.sum((t - t.mean()) ** 2))
    slope_err = math.sqrt(float(residual @ residual) / (n - 2) / spread * g) if spread > 0 else math.inf
    first_mean, first_err, _ = correlated_mean(y[: n // 2])
    second_mean, second_err, _ = correlated_mean(y[n // 2 :])
    diff_err = math.hypot(first_err, second_err)
    diff = second_mean - first_mean
    slope_ok = abs(slope) <= z * slope_err
    halves_ok = abs(diff) <= z * diff_err if diff_err > 0 else diff == 0.0
    return bool(slope_ok and halves_ok), {
        "slope": float(slope), "slope_err": slope_err, "slope_ok": bool(slope_ok),
        "first_half_mean": first_mean, "second_half_mean": second_mean,
        "half_difference": diff, "half_difference_err": diff_err, "halves_ok": bool(halves_ok),
        "statistical_inefficiency": g, "n_samples": n, "fraction": fraction, "z": z,
    }
