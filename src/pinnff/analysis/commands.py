"""``pinnff diffusion`` and ``pinnff diffusion-summary``: self-diffusion of a liquid from MD trajectories.

``diffusion`` reads one trajectory per independent replica (any ASE-readable
file of whole molecules) and writes D.json: D and D_err in 1e-9 m^2/s
(periodic box, before the finite-size correction) as mean +- standard error
over the replicas (one replica: its block error), every replica's own D,
window, RMS displacement at the window's ends and D of each half, the pooled
MSD (average over replicas), the radius of gyration, ``D_corrected``
(Yeh-Hummer) when a viscosity, a temperature and a cubic box are known. When
the molecules never diffuse (see :mod:`pinnff.analysis.diffusion`) it exits
with one error line, or, with ``--allow-no-diffusion`` (the workflow's
choice), writes D.json with ``"D": null`` and the reason.

``diffusion-summary`` gathers D.json files of several potentials and box
sizes into one table with a finite-size corrected D per potential:
extrapolation in 1/L over two or more sizes (Jamali et al. 2018), else the
Yeh-Hummer term with a cited viscosity, else none, and says which.
"""

from __future__ import annotations

import logging

import numpy as np

from pinnff.errors import InputError

log = logging.getLogger(__name__)

UNITS = {"D": "1e-9 m^2/s", "time": "fs", "msd": "Angstrom^2", "length": "Angstrom", "viscosity": "mPa s"}


def _method_text(criterion: dict, error_method: str, n_blocks: int, n_replicas: int, sources: set,
                 unwrapped: bool, remove_drift: bool) -> str:
    c = criterion
    blocks = "contiguous time blocks" if error_method == "time" else "groups of molecules"
    return (
        f"centre-of-mass MSD ({'unwrapped from the cell' if unwrapped else 'positions taken as unwrapped'}; "
        f"molecules from {'/'.join(sorted(sources))}), averaged over molecules and all time origins by FFT; "
        f"diffusive window where |d ln MSD/d ln t - 1| <= {c['slope_tolerance']} (local slope over a factor "
        f"{c['slope_span']} in time, window >= factor {c['min_ratio']}, starting after the RMS centre-of-mass "
        f"displacement exceeds {c['min_displacement_rg']} x the radius of gyration, ending <= "
        f"{c['max_lag_fraction']} of the block length); least-squares MSD = 6 D t + c in the window; "
        + (f"D and D_err = mean and standard error over {n_replicas} independent replicas (each fitted in its own "
           f"window)" if n_replicas > 1 else f"D_err = standard error over {n_blocks} {blocks}")
        + ("; system centre-of-mass drift removed" if remove_drift else "")
    )


def _replica(path: str, args, criterion):
    """(trajectory, DiffusionResult dict or None, NoDiffusiveRegime or None, full MSD) of one file."""
    from pinnff.analysis.diffusion import NoDiffusiveRegime, self_diffusion
    from pinnff.analysis.msd import msd_fft
    from pinnff.analysis.trajectory import parse_cell, read_com_trajectory

    trajectory = read_com_trajectory(path, dt_fs=args.dt_fs, cell=parse_cell(args.cell_A), file_format=args.format)
    com = trajectory.com
    if args.remove_drift:
        w = trajectory.molecule_masses
        com = com - (w @ com / w.sum())[:, None, :]
    entry = {"trajectory": str(path), "n_frames": trajectory.n_frames,
             "duration_ps": (trajectory.n_frames - 1) * trajectory.dt_fs / 1000.0,
             "radius_of_gyration_A": trajectory.radius_of_gyration_A, "time_source": trajectory.time_source,
             "molecules_source": trajectory.molecules_source, "formulas": trajectory.formulas,
             "max_unwrap_step_fraction": trajectory.max_step_fraction}
    try:
        result = self_diffusion(com, trajectory.dt_fs, criterion, error_method=args.error_blocks,
                                n_blocks=args.n_blocks, where=str(path),
                                radius_of_gyration_A=trajectory.radius_of_gyration_A)
    except NoDiffusiveRegime as refusal:
        details = dict(refusal.details)
        entry.update(D=None, D_err=None, fit_window_fs=None, reason=str(refusal),
                     msd_curve=details.pop("msd_curve"), slope_curve=details.pop("slope_curve"), shortfall=details)
        return trajectory, entry, refusal, msd_fft(com).mean(axis=1)
    entry.update({k: v for k, v in result.to_dict().items() if k not in ("criterion", "remove_drift", "dt_fs")})
    return trajectory, entry, None, msd_fft(com).mean(axis=1)


def _pooled(msds, dt_fs: float, criterion, block_frames: int, rg: float) -> dict:
    """Pooled MSD of the replicas, its local slope, and its own window and D (None without one)."""
    from pinnff.analysis.diffusion import curves, find_window, fit_line, slope_to_d
    from pinnff.analysis.replicas import pooled_msd

    msd = pooled_msd(msds)
    lag_fs = np.arange(len(msd)) * dt_fs
    max_lag_fs = criterion.max_lag_fraction * (block_frames - 1) * dt_fs
    window = find_window(lag_fs, msd, criterion, max_lag_fs, (criterion.min_displacement_rg * rg) ** 2)
    out = {"n_replicas": len(msds), "fit_window_fs": list(window) if window else None, **curves(lag_fs, msd, criterion,
                                                                                                   max_lag_fs)}
    if window:
        slope, intercept = fit_line(lag_fs, msd, window)
        out.update(D=slope_to_d(slope), slope_A2_per_fs=slope, intercept_A2=intercept)
    return out


def _yeh_hummer(out: dict, args, experimental, box, temperature, t_source) -> None:
    from pinnff.analysis.diffusion import YEH_HUMMER_XI, yeh_hummer_correction

    if args.viscosity_mPas is not None:
        viscosity, v_source = args.viscosity_mPas, "--viscosity-mPas"
    elif experimental is not None and "viscosity" in experimental:
        viscosity, v_source = experimental["viscosity"].value, experimental["viscosity"].cite()
        if temperature is not None and abs(experimental["viscosity"].temperature_K - temperature) > 1.0:
            log.warning("experimental viscosity is at %.2f K, the trajectory at %.2f K",
                        experimental["viscosity"].temperature_K, temperature)
    else:
        viscosity, v_source = None, None
    missing = [what for what, v in (("a diffusive regime", out["D"]), ("a viscosity", viscosity),
                                    ("a temperature", temperature), ("a cubic periodic box", box)) if v is None]
    if missing:
        out["yeh_hummer"] = {"applied": False, "reason": "needs " + " and ".join(missing)}
        return
    term = yeh_hummer_correction(temperature, viscosity, box)
    out["D_corrected"] = out["D"] + term
    out["D_corrected_err"] = out["D_err"]
    out["yeh_hummer"] = {
        "applied": True, "term": term, "xi": YEH_HUMMER_XI, "temperature_K": temperature,
        "temperature_source": t_source, "viscosity_mPas": viscosity, "viscosity_source": v_source,
        "box_length_A": box, "formula": "D_corrected = D + xi k_B T / (6 pi eta L); D_corrected_err = D_err",
    }


def _diffusion(args) -> None:
    from pinnff import __version__
    from pinnff.analysis.diffusion import NoDiffusiveRegime, WindowCriterion, cubic_box_length
    from pinnff.analysis.experimental import load_experimental
    from pinnff.analysis.replicas import aggregate_replicas
    from pinnff.io.atomic import write_json

    criterion = WindowCriterion(
        slope_tolerance=args.slope_tolerance, slope_span=args.slope_span, min_lag_fs=args.min_lag_fs,
        max_lag_fraction=args.max_lag_fraction, min_ratio=args.min_ratio,
        min_displacement_rg=args.min_displacement_rg,
    )
    experimental = load_experimental(args.experimental) if args.experimental else None
    runs = [_replica(path, args, criterion) for path in args.trajectory]
    trajectories, entries, refusals, msds = (list(x) for x in zip(*runs))
    first = trajectories[0]
    for path, t in zip(args.trajectory[1:], trajectories[1:]):
        if t.n_molecules != first.n_molecules or t.formulas != first.formulas or abs(t.dt_fs - first.dt_fs) > 1e-6:
            raise InputError(f"{path}: replicas must hold the same molecules ({t.formulas} vs {first.formulas}) "
                             f"with the same frame spacing ({t.dt_fs:g} vs {first.dt_fs:g} fs)")
    rg = float(np.mean([t.radius_of_gyration_A for t in trajectories]))
    block_frames = min(t.n_frames for t in trajectories) // (args.n_blocks if args.error_blocks == "time" else 1)
    out = {"label": args.label, "n_replicas": len(entries), "n_molecules": first.n_molecules,
           "n_atoms": first.n_atoms, "formulas": first.formulas, "dt_fs": first.dt_fs, "units": UNITS,
           "radius_of_gyration_A": rg, "criterion": {**vars(criterion)}, "remove_drift": args.remove_drift,
           "n_frames": min(t.n_frames for t in trajectories),
           "duration_ps": min(e["duration_ps"] for e in entries)}
    failed = [r for r in refusals if r is not None]
    if failed:
        reason = str(failed[0]) + (f" ({len(failed)} of {len(entries)} replicas have no diffusive regime)"
                                   if len(entries) > 1 else "")
        if not args.allow_no_diffusion:
            raise NoDiffusiveRegime(reason)
        log.warning("no D: %s", reason)
        out.update(D=None, D_err=None, error_method=None,
                   no_diffusion={"reason": reason, **{k: v for k, v in failed[0].details.items()
                                                      if k not in ("msd_curve", "slope_curve")}})
    else:
        agg = aggregate_replicas([e["D"] for e in entries], [e["D_err"] for e in entries])
        out.update(D=agg["mean"], D_err=agg["error"], D_replica_std=agg["std"], error_method=agg["error_method"],
                   no_diffusion=None)
    out["pooled"] = _pooled(msds, first.dt_fs, criterion, block_frames, rg)
    out["fit_window_fs"] = out["pooled"]["fit_window_fs"]
    out["replicas"] = entries
    out["method"] = _method_text(out["criterion"], args.error_blocks, args.n_blocks, len(entries),
                                 {t.molecules_source for t in trajectories}, first.cells is not None,
                                 args.remove_drift)
    out["pinnff_version"] = __version__

    boxes = [cubic_box_length(t.cells) if t.cells is not None else None for t in trajectories]
    box = float(np.mean(boxes)) if all(b is not None for b in boxes) else None
    out["box_length_A"] = box
    temperatures = [t.temperature_K for t in trajectories]
    if args.temperature_K is not None:
        temperature, t_source = args.temperature_K, "--temperature-K"
    elif all(t is not None for t in temperatures):
        temperature, t_source = float(np.mean(temperatures)), "mean of the frames' temperature_K"
    else:
        temperature, t_source = None, None
    out["temperature_K"] = temperature
    _yeh_hummer(out, args, experimental, box, temperature, t_source)

    if experimental is not None:
        out["experimental"] = {
            name: {"value": m.value, "uncertainty": m.uncertainty, "unit": m.unit, "temperature_K": m.temperature_K,
                   "method": m.method, "citation": m.cite()}
            for name, m in experimental.items()
        }
        out["experimental_file"] = str(args.experimental)
        if "self_diffusion" in experimental and out["D"] is not None:
            out["D_over_experiment"] = out.get("D_corrected", out["D"]) / experimental["self_diffusion"].value

    write_json(args.out, out)
    if args.plot:
        from pinnff.analysis.plots import plot_msd

        plot_msd(out, args.plot)
    if out["D"] is None:
        log.info("%s: no D (run too short) -> %s", args.label or args.trajectory[0], args.out)
        return
    corrected = f", corrected {out['D_corrected']:.4g}" if "D_corrected" in out else ""
    log.info("%s: D = %.4g +- %.2g 1e-9 m^2/s%s (%d replicas, %d molecules) -> %s", args.label or args.trajectory[0],
             out["D"], out["D_err"], corrected, len(entries), first.n_molecules, args.out)


def add_parser(subparsers) -> None:
    """Register ``pinnff diffusion`` and ``pinnff diffusion-summary``."""
    p = subparsers.add_parser(
        "diffusion", help="self-diffusion coefficient from replica trajectories (centre-of-mass MSD, Yeh-Hummer)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("trajectory", nargs="+", help="one trajectory per independent replica, any ASE-readable file of "
                   "whole molecules (extxyz, .traj, xyz, ...)")
    p.add_argument("--out", required=True, help="D.json to write")
    p.add_argument("--format", help="ASE format name when the extension does not tell")
    p.add_argument("--dt-fs", type=float, help="frame spacing in fs (needed when frames carry no time_fs/time_ps)")
    p.add_argument("--cell-A", type=float, nargs="+", metavar="X",
                   help="periodic cell in Angstrom for files without one: 3 edge lengths or 9 numbers (rows)")
    p.add_argument("--temperature-K", type=float, help="temperature for the Yeh-Hummer correction "
                   "(default: mean of the frames' temperature_K when present)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--viscosity-mPas", type=float, help="shear viscosity for the Yeh-Hummer correction")
    source.add_argument("--experimental", help="cited experimental data (resources/experimental/*.yaml): "
                        "viscosity for the correction, values to compare with")
    p.add_argument("--error-blocks", choices=("time", "molecules"), default="time",
                   help="per-replica block D_err over contiguous time blocks (default) or groups of molecules")
    p.add_argument("--n-blocks", type=int, default=5, help="number of blocks for a replica's D_err (default 5)")
    p.add_argument("--slope-tolerance", type=float, default=0.1, help="accept |d ln MSD/d ln t - 1| <= this")
    p.add_argument("--slope-span", type=float, default=2.0, help="time factor over which the local slope is fitted")
    p.add_argument("--min-lag-fs", type=float, default=0.0, help="earliest start of the fit window, fs")
    p.add_argument("--max-lag-fraction", type=float, default=0.5,
                   help="latest end of the fit window, as a fraction of the block length")
    p.add_argument("--min-ratio", type=float, default=5.0, help="the window spans at least this factor in time")
    p.add_argument("--min-displacement-rg", type=float, default=1.0,
                   help="the window starts after the RMS centre-of-mass displacement exceeds this multiple of "
                   "the molecules' radius of gyration (default 1)")
    p.add_argument("--allow-no-diffusion", action="store_true",
                   help="without a diffusive regime, write D.json with D null and the reason instead of failing")
    p.add_argument("--remove-drift", action="store_true", help="subtract the system centre-of-mass motion first")
    p.add_argument("--plot", help="also draw the replicas' and the pooled MSD and the local slope to this image")
    p.add_argument("--label", help="name of this run in D.json and plots")
    p.set_defaults(func=_diffusion)

    from pinnff.analysis.summary import add_parser as add_summary

    add_summary(subparsers)
