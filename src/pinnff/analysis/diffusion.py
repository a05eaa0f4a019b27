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
   and ending no later than ``max_lag_fraction`` of the block length, and
   spanning at least a factor ``min_ratio`` in time. See :class:`WindowCriterion`.
3. ``MSD = 6 D t + c`` fitted by least squares over every lag in the window
   (free intercept ``c`` absorbs the ballistic offset); ``D = slope / 6``.
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
    """The MSD never reaches a diffusive (log-log slope ~ 1) window: run longer or relax the criterion."""


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
    """

    slope_tolerance: float = 0.1
    slope_span: float = 2.0
    min_lag_fs: float = 0.0
    max_lag_fraction: float = 0.5
    min_ratio: float = 3.0
    points_per_decade: int = 20

    def __post_init__(self):
        if not 0 < self.slope_tolerance < 1:
            raise InputError(f"slope_tolerance must lie in (0, 1), got {self.slope_tolerance}")
        if self.slope_span <= 1:
            raise InputError(f"slope_span must exceed 1, got {self.slope_span}")
        if not 0 < self.max_lag_fraction <= 1:
            raise InputError(f"max_lag_fraction must lie in (0, 1], got {self.max_lag_fraction}")
        if self.min_ratio < 1 or self.points_per_decade < 2 or self.min_lag_fs < 0:
            raise InputError("min_ratio must be >= 1, points_per_decade >= 2 and min_lag_fs >= 0")


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
                where: str = "trajectory") -> tuple[float, float]:
    """The diffusive window ``(start_fs, end_fs)`` of an MSD curve (see the module docstring).

    Raises :class:`NoDiffusiveRegime` (an :class:`~pinnff.errors.InputError`)
    naming ``where`` when no run of grid points satisfies the criterion.
    """
    grid, slopes = local_loglog_slope(lag_fs, msd, criterion, max_lag_fs)
    ok = (np.abs(slopes - 1.0) <= criterion.slope_tolerance) & (grid >= criterion.min_lag_fs)
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
    if best is None:
        finite = slopes[np.isfinite(slopes)]
        seen = f"{finite.min():.2f}..{finite.max():.2f}" if finite.size else "none"
        raise NoDiffusiveRegime(
            f"{where}: no diffusive window: the log-log slope of the MSD (range {seen}) never stays within "
            f"1 +- {criterion.slope_tolerance} over a factor {criterion.min_ratio} in time between "
            f"{max(criterion.min_lag_fs, float(lag_fs[1]) if len(lag_fs) > 1 else 0.0):g} and {max_lag_fs:g} fs; "
            f"run longer or relax the window criterion"
        )
    return best


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
    """Everything :func:`self_diffusion` finds; D values in 1e-9 m^2/s, times in fs, MSD in Angstrom^2."""

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
    msd_curve: dict = field(repr=False)
    slope_curve: dict = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (plain floats and lists)."""
        out = asdict(self)
        out["fit_window_fs"] = list(self.fit_window_fs)
        return out


def _log_sample(n: int, count: int = 200) -> np.ndarray:
    """About ``count`` indices ``0..n-1``, evenly spaced in log, always including 0, 1 and n-1."""
    if n <= count:
        return np.arange(n)
    idx = np.unique(np.round(np.geomspace(1, n - 1, count)).astype(int))
    return np.concatenate([[0], idx])


def self_diffusion(com: np.ndarray, dt_fs: float, criterion: WindowCriterion | None = None,
                   error_method: str = "time", n_blocks: int = 5, remove_drift: bool = False,
                   molecule_masses: np.ndarray | None = None, where: str = "trajectory") -> DiffusionResult:
    """D and its block error from an unwrapped centre-of-mass trajectory.

    ``com``: ``(n_frames, n_molecules, 3)`` Angstrom; ``dt_fs``: frame spacing
    in fs; ``error_method``: ``"time"`` (contiguous time blocks) or
    ``"molecules"`` (groups of molecules); ``remove_drift``: subtract the
    (molecule-mass-weighted) centre of mass of all molecules from every frame
    first; ``where`` names the source in error messages.
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
    window = find_window(lag_fs, msd, criterion, max_lag_fs, where)
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

    grid, slopes = local_loglog_slope(lag_fs, msd, criterion, max_lag_fs)
    shown = _log_sample(max(2, n_frames // 2))
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
        msd_curve={"lag_fs": lag_fs[shown].tolist(), "msd_A2": msd[shown].tolist()},
        slope_curve={"lag_fs": grid.tolist(), "slope": [None if not np.isfinite(s) else float(s) for s in slopes]},
    )
