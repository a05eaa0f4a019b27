"""Self-diffusion coefficient from a centre-of-mass trajectory.

Input: unwrapped centre-of-mass positions ``(n_frames, n_molecules, 3)`` in
Angstrom, evenly spaced by ``dt_fs`` femtoseconds (see
:mod:`pinnff.analysis.msd` and :mod:`pinnff.analysis.trajectory`). Output: D
in 1e-9 m^2/s (1 Angstrom^2/fs = 1e4 x 1e-9 m^2/s).

Method (Maginn et al., LiveCoMS 1, 6324 (2019) recommend the same steps):

1. MSD averaged over molecules and all time origins (FFT, :func:`~pinnff.analysis.msd.msd_fft`).
2. Diffusive window found automatically: the local log-log slope
   ``beta(t) = d ln MSD / d ln t`` is measured on a logarithmic grid of lags
   (least squares over lags within a factor ``sqrt(slope_span)`` of each grid
   point); the window is the longest run (in ln t) of grid points with
   ``|beta - 1| <= slope_tolerance``, starting no earlier than ``min_lag_fs``
   and ending no later than ``max_lag_fraction`` of the block length,
   spanning at least a factor ``min_ratio`` in time, and only where the
   molecules have moved farther than their own size: RMS centre-of-mass
   displacement >= ``min_displacement_rg`` x the radius of gyration (when it
   is known). Before that the MSD is ballistic or caged, not diffusive. See
   :class:`WindowCriterion`. No such window: :class:`NoDiffusiveRegime`, whose
   message says how far the molecules got and roughly how long a run needs.
3. ``MSD = 6 D t + c`` fitted by least squares over every lag in the window
   (free intercept ``c`` absorbs the ballistic offset); ``D = slope / 6``.
   D from the first and from the second half of the trajectory, each fitted in
   the same window, is recorded as a check of stationarity.
4. Error bar: the trajectory is cut into ``n_blocks`` contiguous time blocks
   (default) or the molecules into ``n_blocks`` groups; each block's MSD is
   fitted in the same window, and ``D_err`` is the standard error of the block
   values (sample standard deviation / sqrt(n_blocks)). D itself is the fit
   to the full MSD. Time blocks are the default: molecules in one liquid
   share collective motion, so molecule blocks tend to understate the error.
5. Finite-size (Yeh-Hummer, J. Phys. Chem. B 108, 15873 (2004)) correction for
   a cubic box of edge L: ``D_inf = D_pbc + xi k_B T / (6 pi eta L)``,
   ``xi = 2.837297``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from pinnff.analysis.msd import msd_fft
from pinnff.errors import InputError

BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann constant, J/K (exact, SI 2019)."""

YEH_HUMMER_XI = 2.837297
"""Madelung-like constant of the cubic lattice in the Yeh-Hummer correction (dimensionless)."""

A2_PER_FS_IN_1E9_M2_PER_S = 1e4
"""1 Angstrom^2/fs = 1e-20 m^2 / 1e-15 s = 1e-5 m^2/s = 1e4 x 1e-9 m^2/s."""


class NoDiffusiveRegime(InputError):
    """The MSD never reaches a diffusive (log-log slope ~ 1) window: run longer or relax the criterion.

    ``details``: what the molecules reached (see :func:`shortfall`), or an empty dict.
    """

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


@dataclass
class WindowCriterion:
    """How the diffusive window is chosen (all lags in fs).

    slope_tolerance: accept lags where ``|beta - 1| <= slope_tolerance``.
    slope_span: the local slope at lag t is fitted over ``[t / sqrt(span), t * sqrt(span)]``.
    min_lag_fs: the window starts no earlier than this lag.
    max_lag_fraction: the window ends no later than this fraction of the block
        length (time blocks) or of the trajectory (molecule blocks); long lags
        have few independent origins.
    min_ratio: the window must span at least this factor in time (end / start).
    points_per_decade: density of the logarithmic grid on which beta is evaluated.
    min_displacement_rg: the window starts no earlier than the lag at which the
        RMS centre-of-mass displacement reaches this multiple of the molecules'
        radius of gyration (applied when the radius is known).
    """

    slope_tolerance: float = 0.1
    slope_span: float = 2.0
    min_lag_fs: float = 0.0
    max_lag_fraction: float = 0.5
    min_ratio: float = 5.0
    points_per_decade: int = 20
    min_displacement_rg: float = 1.0

    def __post_init__(self):
        if not 0 < self.slope_tolerance < 1:
            raise InputError(f"slope_tolerance must lie in (0, 1), got {self.slope_tolerance}")
        if self.slope_span <= 1:
            raise InputError(f"slope_span must exceed 1, got {self.slope_span}")
        if not 0 < self.max_lag_fraction <= 1:
            raise InputError(f"max_lag_fraction must lie in (0, 1], got {self.max_lag_fraction}")
        if self.min_ratio < 1 or self.points_per_decade < 2 or self.min_lag_fs < 0 or self.min_displacement_rg < 0:
            raise InputError("min_ratio must be >= 1, points_per_decade >= 2, min_lag_fs >= 0 and "
                             "min_displacement_rg >= 0")


def local_loglog_slope(lag_fs: np.ndarray, msd: np.ndarray, criterion: WindowCriterion,
                       max_lag_fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Local slope of ln MSD against ln t on a logarithmic grid.

    ``lag_fs``, ``msd``: ``(n,)``, lags in fs (``lag_fs[0] = 0``) and MSD in
    Angstrom^2. Returns grid lags (fs) and slopes (dimensionless), both
    ``(n_grid,)``; slopes are NaN where fewer than three positive MSD points
    fall in the fitting interval.
    """
    usable = (lag_fs > 0) & (lag_fs <= max_lag_fs) & (msd > 0)
    if usable.sum() < 3:
        return np.empty(0), np.empty(0)
    t, y = np.log(lag_fs[usable]), np.log(msd[usable])
    n_grid = max(2, int(math.ceil((t[-1] - t[0]) / math.log(10) * criterion.points_per_decade)) + 1)
    grid = np.linspace(t[0], t[-1], n_grid)
    half = 0.5 * math.log(criterion.slope_span)
    slopes = np.full(n_grid, np.nan)
    for k, centre in enumerate(grid):
        lo, hi = np.searchsorted(t, centre - half), np.searchsorted(t, centre + half, side="right")
        if hi - lo >= 3:
            slopes[k] = np.polyfit(t[lo:hi], y[lo:hi], 1)[0]
    return np.exp(grid), slopes


def find_window(lag_fs: np.ndarray, msd: np.ndarray, criterion: WindowCriterion, max_lag_fs: float,
                min_msd_A2: float = 0.0) -> tuple[float, float] | None:
    """The diffusive window ``(start_fs, end_fs)`` of an MSD curve, or None (see the module docstring).

    ``min_msd_A2``: the window starts where the MSD (Angstrom^2) has reached
    this value, ``(min_displacement_rg * R_g)^2``; 0 drops that condition.
    """
    grid, slopes = local_loglog_slope(lag_fs, msd, criterion, max_lag_fs)
    if grid.size == 0:
        return None
    ok = ((np.abs(slopes - 1.0) <= criterion.slope_tolerance) & (grid >= criterion.min_lag_fs)
          & (np.interp(grid, lag_fs, msd) >= min_msd_A2))
    best, best_span = None, -np.inf
    k = 0
    while k < len(ok):
        if not ok[k]:
            k += 1
            continue
        start = k
        while k + 1 < len(ok) and ok[k + 1]:
            k += 1
        span = math.log(grid[k] / grid[start])
        if span >= math.log(criterion.min_ratio) and span >= best_span:  # ties go to the later run
            best, best_span = (float(grid[start]), float(grid[k])), span
        k += 1
    return best


def shortfall(lag_fs: np.ndarray, msd: np.ndarray, criterion: WindowCriterion, max_lag_fs: float,
              radius_of_gyration_A: float | None, run_fs: float, blocks_per_run: int) -> dict:
    """How far the molecules got, and about how long a run must be for a diffusive window.

    ``lag_fs``, ``msd``: ``(n,)`` fs and Angstrom^2; ``max_lag_fs``: longest
    usable lag; ``run_fs``: trajectory length; ``blocks_per_run``: how many
    MSD blocks the run is cut into (the usable lag scales with the block).
    The window must start where the RMS displacement reaches
    ``min_displacement_rg * R_g`` and last a factor ``min_ratio``; the lag at
    which it starts is extrapolated from the longest usable lag with the MSD's
    current log-log slope, clipped to [0.1, 1] (the diffusive slope is 1, so a
    still-ballistic slope above 1 would promise too early an arrival); once
    the molecules are far enough, it starts where the slope last entered the
    band around 1 (or at the longest lag if it is outside now). A lower
    bound: the slope must also have settled at 1 by then. Lengths in Angstrom,
    times in ps.
    """
    usable = (lag_fs > 0) & (lag_fs <= max_lag_fs)
    t_end = float(lag_fs[usable][-1]) if usable.any() else float(lag_fs[-1])
    msd_end = float(np.interp(t_end, lag_fs, msd))
    grid, slopes = local_loglog_slope(lag_fs, msd, criterion, max_lag_fs)
    finite = np.isfinite(slopes)
    beta = float(slopes[finite][-1]) if finite.any() else 1.0
    out = {"longest_usable_lag_ps": t_end / 1000.0, "rms_displacement_at_longest_lag_A": math.sqrt(max(msd_end, 0.0)),
           "radius_of_gyration_A": radius_of_gyration_A, "slope_at_longest_lag": beta,
           "slope_range": [float(slopes[finite].min()), float(slopes[finite].max())] if finite.any() else None,
           "run_ps": run_fs / 1000.0}
    target = (criterion.min_displacement_rg * radius_of_gyration_A) ** 2 if radius_of_gyration_A else 0.0
    if target > 0 and msd_end < target and msd_end > 0:
        t_start = t_end * (target / msd_end) ** (1.0 / min(max(beta, 0.1), 1.0))
    else:  # far enough already (or no size known): the window starts where the slope settles at 1 for good
        ok = np.abs(slopes - 1.0) <= criterion.slope_tolerance
        settled = grid[-1] if not ok[-1] else grid[len(ok) - np.argmin(ok[::-1]) if not ok.all() else 0]
        reached = float(lag_fs[np.argmax(msd >= target)]) if target > 0 else 0.0
        t_start = max(float(settled), reached, criterion.min_lag_fs)
    needed_fs = max(run_fs, criterion.min_ratio * t_start / criterion.max_lag_fraction * blocks_per_run)
    out["estimated_window_start_ps"] = t_start / 1000.0
    out["estimated_run_needed_ps"] = needed_fs / 1000.0
    return out


def shortfall_text(where: str, info: dict, criterion: WindowCriterion) -> str:
    """One line for a refused trajectory from :func:`shortfall`'s dict."""
    rg = info["radius_of_gyration_A"]
    seen = "{:.2f}..{:.2f}".format(*info["slope_range"]) if info["slope_range"] else "none"
    reach = (f"the molecules moved {info['rms_displacement_at_longest_lag_A']:.2f} A RMS by the longest usable lag "
             f"({info['longest_usable_lag_ps']:.3g} ps)")
    reach += (f" against a radius of gyration of {rg:.2f} A" if rg else "")
    return (
        f"{where}: no diffusive regime: {reach}; the log-log slope of the MSD (range {seen}, "
        f"{info['slope_at_longest_lag']:.2f} at the end) must stay within 1 +- {criterion.slope_tolerance} over a "
        f"factor {criterion.min_ratio:g} in time"
        + (f" after the RMS displacement exceeds {criterion.min_displacement_rg:g} R_g" if rg else "")
        + f"; extrapolating the MSD with its current slope, the run must be at least about "
        f"{info['estimated_run_needed_ps']:.3g} ps (it is {info['run_ps']:.3g} ps)"
        + ("; the motion is still ballistic (slope above 1), so caging will make it longer still"
           if info["slope_at_longest_lag"] > 1 + criterion.slope_tolerance else "")
    )


def fit_line(lag_fs: np.ndarray, msd: np.ndarray, window: tuple[float, float]) -> tuple[float, float]:
    """Least-squares ``msd = slope * lag + intercept`` over lags in ``window`` (fs, inclusive).

    Returns ``(slope in Angstrom^2/fs, intercept in Angstrom^2)``.
    """
    inside = (lag_fs >= window[0] - 1e-9) & (lag_fs <= window[1] + 1e-9)
    if inside.sum() < 2:
        raise NoDiffusiveRegime(f"fit window {window} fs holds fewer than two lags")
    slope, intercept = np.polyfit(lag_fs[inside], msd[inside], 1)
    return float(slope), float(intercept)


def slope_to_d(slope_A2_per_fs: float) -> float:
    """D in 1e-9 m^2/s from the slope of a 3D MSD in Angstrom^2/fs (D = slope / 6)."""
    return slope_A2_per_fs / 6.0 * A2_PER_FS_IN_1E9_M2_PER_S


def yeh_hummer_correction(temperature_K: float, viscosity_mPas: float, box_length_A: float) -> float:
    """Finite-size correction ``xi k_B T / (6 pi eta L)`` in 1e-9 m^2/s.

    ``temperature_K`` in K, shear viscosity ``viscosity_mPas`` in mPa s, cubic
    box edge ``box_length_A`` in Angstrom. Add it to D from the periodic box.
    """
    if temperature_K <= 0 or viscosity_mPas <= 0 or box_length_A <= 0:
        raise InputError(
            f"Yeh-Hummer correction needs positive T, viscosity and box length, got "
            f"{temperature_K} K, {viscosity_mPas} mPa s, {box_length_A} A"
        )
    eta_pa_s = viscosity_mPas * 1e-3
    length_m = box_length_A * 1e-10
    d_m2_per_s = YEH_HUMMER_XI * BOLTZMANN_J_PER_K * temperature_K / (6.0 * math.pi * eta_pa_s * length_m)
    return d_m2_per_s * 1e9


def cubic_box_length(cells: np.ndarray, rtol: float = 1e-3) -> float | None:
    """Mean edge (Angstrom) of cubic cells ``(3, 3)`` or ``(n_frames, 3, 3)``; None if any is not cubic."""
    cells = np.asarray(cells, dtype=float).reshape(-1, 3, 3)
    lengths = np.linalg.norm(cells, axis=2)  # (n_frames, 3)
    if not np.all(lengths > 0):
        return None
    cosines = np.stack(
        [np.einsum("fi,fi->f", cells[:, a], cells[:, b]) / (lengths[:, a] * lengths[:, b])
         for a, b in ((0, 1), (0, 2), (1, 2))], axis=1,
    )
    equal = np.all(np.abs(lengths - lengths.mean(axis=1, keepdims=True)) <= rtol * lengths.mean(axis=1, keepdims=True))
    if not equal or np.abs(cosines).max() > rtol:
        return None
    return float(lengths.mean())


@dataclass
class DiffusionResult:
    """Everything :func:`self_diffusion` finds; D values in 1e-9 m^2/s, times in fs, MSD in Angstrom^2.

    ``rms_displacement_at_window_A``: RMS centre-of-mass displacement at the
    window's start and end (Angstrom); ``radius_of_gyration_A``: the molecules'
    mass-weighted radius of gyration (None when not given); ``D_halves``: D of
    the first and of the second half of the trajectory, fitted in the same
    window (None where the half holds fewer than two lags of it).
    """

    D: float
    D_err: float
    fit_window_fs: tuple[float, float]
    slope_A2_per_fs: float
    intercept_A2: float
    D_blocks: list[float]
    error_method: str
    n_blocks: int
    n_molecules: int
    n_frames: int
    dt_fs: float
    remove_drift: bool
    criterion: dict
    radius_of_gyration_A: float | None
    rms_displacement_at_window_A: tuple[float, float]
    D_halves: tuple[float | None, float | None]
    msd_curve: dict = field(repr=False)
    slope_curve: dict = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (plain floats and lists)."""
        out = asdict(self)
        for key in ("fit_window_fs", "rms_displacement_at_window_A", "D_halves"):
            out[key] = list(getattr(self, key))
        return out


def _log_sample(n: int, count: int = 200) -> np.ndarray:
    """About ``count`` indices ``0..n-1``, evenly spaced in log, always including 0, 1 and n-1."""
    if n <= count:
        return np.arange(n)
    idx = np.unique(np.round(np.geomspace(1, n - 1, count)).astype(int))
    return np.concatenate([[0], idx])


def curves(lag_fs: np.ndarray, msd: np.ndarray, criterion: WindowCriterion, max_lag_fs: float) -> dict:
    """The MSD (log-sampled up to half the lags) and its local log-log slope, as JSON-ready lists."""
    grid, slopes = local_loglog_slope(lag_fs, msd, criterion, max_lag_fs)
    shown = _log_sample(max(2, len(lag_fs) // 2))
    return {"msd_curve": {"lag_fs": lag_fs[shown].tolist(), "msd_A2": msd[shown].tolist()},
            "slope_curve": {"lag_fs": grid.tolist(),
                            "slope": [None if not np.isfinite(v) else float(v) for v in slopes]}}


def _half_d(com: np.ndarray, lag_fs: np.ndarray, window: tuple[float, float]) -> float | None:
    try:
        return slope_to_d(fit_line(lag_fs[: len(com)], msd_fft(com).mean(axis=1), window)[0])
    except NoDiffusiveRegime:
        return None


def self_diffusion(com: np.ndarray, dt_fs: float, criterion: WindowCriterion | None = None,
                   error_method: str = "time", n_blocks: int = 5, remove_drift: bool = False,
                   molecule_masses: np.ndarray | None = None, where: str = "trajectory",
                   radius_of_gyration_A: float | None = None) -> DiffusionResult:
    """D and its block error from an unwrapped centre-of-mass trajectory.

    ``com``: ``(n_frames, n_molecules, 3)`` Angstrom; ``dt_fs``: frame spacing
    in fs; ``error_method``: ``"time"`` (contiguous time blocks) or
    ``"molecules"`` (groups of molecules); ``remove_drift``: subtract the
    (molecule-mass-weighted) centre of mass of all molecules from every frame
    first; ``where`` names the source in error messages;
    ``radius_of_gyration_A``: the molecules' size, for the displacement
    condition of the window (None: no such condition). Raises
    :class:`NoDiffusiveRegime` with :func:`shortfall`'s dict and the curves in
    ``details`` when no window qualifies.
    """
    criterion = criterion or WindowCriterion()
    com = np.asarray(com, dtype=float)
    if com.ndim != 3 or com.shape[2] != 3:
        raise InputError(f"{where}: centre-of-mass trajectory must be (n_frames, n_molecules, 3), got {com.shape}")
    n_frames, n_molecules, _ = com.shape
    if not dt_fs > 0:
        raise InputError(f"{where}: frame spacing must be positive, got {dt_fs} fs")
    if error_method not in ("time", "molecules"):
        raise InputError(f"{where}: error_method must be 'time' or 'molecules', got {error_method!r}")
    if n_blocks < 2:
        raise InputError(f"{where}: need at least 2 blocks for an error bar, got {n_blocks}")
    if error_method == "molecules" and n_molecules < n_blocks:
        raise InputError(f"{where}: {n_molecules} molecules cannot form {n_blocks} molecule blocks")
    block_frames = n_frames // n_blocks if error_method == "time" else n_frames
    if block_frames < 8:
        raise InputError(f"{where}: {n_frames} frames are too few for {n_blocks} blocks of MSD")
    if remove_drift:
        w = np.ones(n_molecules) if molecule_masses is None else np.asarray(molecule_masses, dtype=float)
        com = com - (w @ com / w.sum())[:, None, :]

    per_molecule = msd_fft(com)  # (n_frames, n_molecules)
    msd = per_molecule.mean(axis=1)
    lag_fs = np.arange(n_frames) * dt_fs
    max_lag_fs = criterion.max_lag_fraction * (block_frames - 1) * dt_fs
    min_msd = (criterion.min_displacement_rg * radius_of_gyration_A) ** 2 if radius_of_gyration_A else 0.0
    window = find_window(lag_fs, msd, criterion, max_lag_fs, min_msd)
    if window is None:
        info = shortfall(lag_fs, msd, criterion, max_lag_fs, radius_of_gyration_A, (n_frames - 1) * dt_fs,
                         n_blocks if error_method == "time" else 1)
        info.update(curves(lag_fs, msd, criterion, max_lag_fs))
        raise NoDiffusiveRegime(shortfall_text(where, info, criterion), details=info)
    slope, intercept = fit_line(lag_fs, msd, window)

    blocks = []
    if error_method == "time":
        for b in range(n_blocks):
            part = com[b * block_frames : (b + 1) * block_frames]
            block_msd = msd_fft(part).mean(axis=1)
            blocks.append(slope_to_d(fit_line(lag_fs[:block_frames], block_msd, window)[0]))
    else:
        for group in np.array_split(np.arange(n_molecules), n_blocks):
            blocks.append(slope_to_d(fit_line(lag_fs, per_molecule[:, group].mean(axis=1), window)[0]))
    blocks = np.asarray(blocks)
    d_err = float(blocks.std(ddof=1) / math.sqrt(n_blocks))
    half = n_frames // 2
    return DiffusionResult(
        D=slope_to_d(slope),
        D_err=d_err,
        fit_window_fs=window,
        slope_A2_per_fs=slope,
        intercept_A2=intercept,
        D_blocks=[float(v) for v in blocks],
        error_method=error_method,
        n_blocks=n_blocks,
        n_molecules=n_molecules,
        n_frames=n_frames,
        dt_fs=float(dt_fs),
        remove_drift=remove_drift,
        criterion=asdict(criterion),
        radius_of_gyration_A=radius_of_gyration_A,
        rms_displacement_at_window_A=tuple(math.sqrt(float(np.interp(t, lag_fs, msd))) for t in window),
        D_halves=(_half_d(com[:half], lag_fs, window), _half_d(com[half:], lag_fs, window)),
        **curves(lag_fs, msd, criterion, max_lag_fs),
    )
