"""``pinnff diffusion``: self-diffusion coefficient of a liquid from an MD trajectory.

Reads any ASE-readable trajectory of whole molecules, writes D.json with D
and D_err in 1e-9 m^2/s (periodic box, before the finite-size correction),
``D_corrected`` (Yeh-Hummer) when a viscosity, a temperature and a cubic box
are known, the fit window, counts and the method. See
:mod:`pinnff.analysis.diffusion` for the method.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _method_text(result, trajectory, unwrapped: bool) -> str:
    c = result.criterion
    blocks = "contiguous time blocks" if result.error_method == "time" else "groups of molecules"
    return (
        f"centre-of-mass MSD ({'unwrapped from the cell' if unwrapped else 'positions taken as unwrapped'}; "
        f"molecules from {trajectory.molecules_source}), averaged over molecules and all time origins by FFT; "
        f"diffusive window where |d ln MSD/d ln t - 1| <= {c['slope_tolerance']} (local slope over a factor "
        f"{c['slope_span']} in time, window >= factor {c['min_ratio']}, ending <= {c['max_lag_fraction']} of the "
        f"block length); least-squares MSD = 6 D t + c in the window; D_err = standard error over "
        f"{result.n_blocks} {blocks}"
        + ("; system centre-of-mass drift removed" if result.remove_drift else "")
    )


def _diffusion(args) -> None:
    from pinnff import __version__
    from pinnff.analysis.diffusion import WindowCriterion, cubic_box_length, self_diffusion, yeh_hummer_correction
    from pinnff.analysis.experimental import load_experimental
    from pinnff.analysis.trajectory import parse_cell, read_com_trajectory
    from pinnff.io.atomic import write_json

    criterion = WindowCriterion(
        slope_tolerance=args.slope_tolerance, slope_span=args.slope_span, min_lag_fs=args.min_lag_fs,
        max_lag_fraction=args.max_lag_fraction, min_ratio=args.min_ratio,
    )
    experimental = load_experimental(args.experimental) if args.experimental else None
    trajectory = read_com_trajectory(args.trajectory, dt_fs=args.dt_fs, cell=parse_cell(args.cell_A),
                                     file_format=args.format)
    result = self_diffusion(trajectory.com, trajectory.dt_fs, criterion, error_method=args.error_blocks,
                            n_blocks=args.n_blocks, remove_drift=args.remove_drift,
                            molecule_masses=trajectory.molecule_masses, where=str(args.trajectory))
    out = result.to_dict()
    out.update(
        trajectory=str(args.trajectory),
        units={"D": "1e-9 m^2/s", "time": "fs", "msd": "Angstrom^2", "length": "Angstrom", "viscosity": "mPa s"},
        duration_ps=(trajectory.n_frames - 1) * trajectory.dt_fs / 1000.0,
        time_source=trajectory.time_source,
        molecules_source=trajectory.molecules_source,
        formulas=trajectory.formulas,
        n_atoms=trajectory.n_atoms,
        max_unwrap_step_fraction=trajectory.max_step_fraction,
        method=_method_text(result, trajectory, trajectory.cells is not None),
        pinnff_version=__version__,
    )

    # Yeh-Hummer finite-size correction
    box = cubic_box_length(trajectory.cells) if trajectory.cells is not None else None
    if args.temperature_K is not None:
        temperature, t_source = args.temperature_K, "--temperature-K"
    elif trajectory.temperature_K is not None:
        temperature, t_source = trajectory.temperature_K, "mean of the frames' temperature_K"
    else:
        temperature, t_source = None, None
    if args.viscosity_mPas is not None:
        viscosity, v_source = args.viscosity_mPas, "--viscosity-mPas"
    elif experimental is not None and "viscosity" in experimental:
        viscosity, v_source = experimental["viscosity"].value, experimental["viscosity"].cite()
        if temperature is not None and abs(experimental["viscosity"].temperature_K - temperature) > 1.0:
            log.warning("experimental viscosity is at %.2f K, the trajectory at %.2f K",
                        experimental["viscosity"].temperature_K, temperature)
    else:
        viscosity, v_source = None, None
    missing = [what for what, v in (("a viscosity", viscosity), ("a temperature", temperature),
                                    ("a cubic periodic box", box)) if v is None]
    if missing:
        out["yeh_hummer"] = {"applied": False, "reason": "needs " + " and ".join(missing)}
    else:
        term = yeh_hummer_correction(temperature, viscosity, box)
        out["D_corrected"] = result.D + term
        out["D_corrected_err"] = result.D_err
        out["yeh_hummer"] = {
            "applied": True, "term": term, "xi": 2.837297, "temperature_K": temperature,
            "temperature_source": t_source, "viscosity_mPas": viscosity, "viscosity_source": v_source,
            "box_length_A": box, "formula": "D_corrected = D + xi k_B T / (6 pi eta L); D_corrected_err = D_err",
        }

    if experimental is not None:
        out["experimental"] = {
            name: {"value": m.value, "uncertainty": m.uncertainty, "unit": m.unit, "temperature_K": m.temperature_K,
                   "method": m.method, "citation": m.cite()}
            for name, m in experimental.items()
        }
        out["experimental_file"] = str(args.experimental)
        if "self_diffusion" in experimental:
            reference = out.get("D_corrected", result.D)
            out["D_over_experiment"] = reference / experimental["self_diffusion"].value
    if args.label:
        out["label"] = args.label

    write_json(args.out, out)
    if args.plot:
        from pinnff.analysis.plots import plot_msd

        plot_msd(out, args.plot, labels=[args.label or str(args.trajectory)])
    corrected = f", corrected {out['D_corrected']:.4g}" if "D_corrected" in out else ""
    log.info("%s: D = %.4g +- %.2g 1e-9 m^2/s%s (window %.3g-%.3g ps, %d molecules, %d frames) -> %s",
             args.trajectory, result.D, result.D_err, corrected, result.fit_window_fs[0] / 1000,
             result.fit_window_fs[1] / 1000, result.n_molecules, result.n_frames, args.out)


def add_parser(subparsers) -> None:
    """Register ``pinnff diffusion``."""
    p = subparsers.add_parser(
        "diffusion", help="self-diffusion coefficient from a trajectory (centre-of-mass MSD, Yeh-Hummer)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("trajectory", help="any ASE-readable trajectory of whole molecules (extxyz, .traj, xyz, ...)")
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
                   help="block D_err over contiguous time blocks (default) or groups of molecules")
    p.add_argument("--n-blocks", type=int, default=5, help="number of blocks for D_err (default 5)")
    p.add_argument("--slope-tolerance", type=float, default=0.1, help="accept |d ln MSD/d ln t - 1| <= this")
    p.add_argument("--slope-span", type=float, default=2.0, help="time factor over which the local slope is fitted")
    p.add_argument("--min-lag-fs", type=float, default=0.0, help="earliest start of the fit window, fs")
    p.add_argument("--max-lag-fraction", type=float, default=0.5,
                   help="latest end of the fit window, as a fraction of the block length")
    p.add_argument("--min-ratio", type=float, default=3.0, help="the window spans at least this factor in time")
    p.add_argument("--remove-drift", action="store_true", help="subtract the system centre-of-mass motion first")
    p.add_argument("--plot", help="also draw the MSD with its fit window to this image file")
    p.add_argument("--label", help="name of this run in D.json and plots")
    p.set_defaults(func=_diffusion)
