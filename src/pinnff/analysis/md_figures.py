"""``pinnff md-figures``: figures of the liquid stage: thermodynamic traces, RDFs, densities, D against
experiment and box size.

Each run folder holds ``thermo.csv``, ``minimized.extxyz`` and
``production.extxyz`` from ``pinnff md``; D of every potential and box size
comes from the ``diffusion.json`` of ``pinnff diffusion-summary``. Matplotlib
with the Agg backend.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from pinnff.config import add_settings_argument, section
from pinnff.errors import InputError
from pinnff.io.atomic import atomic_open
from pinnff.units import AVOGADRO

log = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format=Path(path).suffix.lstrip("."), dpi=150, bbox_inches="tight")


def thermo_figure(runs: list[Path], labels: list[str], path: Path) -> None:
    """Temperature, potential and total energy per molecule against time, for every run."""
    import pandas as pd

    from pinnff.io.structures import read_structures

    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 7.0), sharex=True)
    for run, label in zip(runs, labels):
        thermo = pd.read_csv(run / "thermo.csv")
        (box,) = read_structures(run / "minimized.extxyz")
        n_molecules = int(box.arrays["mol_id"].max()) + 1
        t_ps = thermo["time_fs"] / 1000.0
        axes[0].plot(t_ps, thermo["temperature_K"], label=label, lw=0.8)
        axes[1].plot(t_ps, thermo["epot_kcal"] / n_molecules, lw=0.8)
        axes[2].plot(t_ps, thermo["etot_kcal"] / n_molecules, lw=0.8)
    axes[0].set_ylabel("T (K)")
    axes[1].set_ylabel("E_pot / molecule\n(kcal/mol)")
    axes[2].set_ylabel("E_tot / molecule\n(kcal/mol)")
    axes[2].set_xlabel("time (ps); equilibration then production")
    axes[0].legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)


def density_trace(run: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    """Time (ps) and density (g/cm^3) of one run's constant-pressure stage, and whether it had one.

    The ``density_g_cm3`` column of ``thermo.csv`` over the ``npt`` phase
    (the Monte Carlo barostat: the model's own density) when the run has
    one, else the fixed density the run was packed at (``minimized.extxyz``)
    at every row's time.
    """
    import pandas as pd

    from pinnff.io.structures import read_structures

    thermo = pd.read_csv(run / "thermo.csv")
    npt = thermo[thermo["phase"] == "npt"] if "density_g_cm3" in thermo else thermo.iloc[:0]
    if len(npt):
        return npt["time_fs"].to_numpy() / 1000.0, npt["density_g_cm3"].to_numpy(dtype=float), True
    (box,) = read_structures(run / "minimized.extxyz")
    density = box.get_masses().sum() / AVOGADRO / (box.get_volume() * 1e-24)
    return thermo["time_fs"].to_numpy() / 1000.0, np.full(len(thermo), density), False


def density_figure(runs: list[Path], labels: list[str], experimental: str | None, path: Path, table: Path) -> None:
    """Density traces of every run, and mean +- error per label against the cited experimental density.

    Runs sharing a label are replicas: their mean densities (second half of
    each trace) give mean +- standard error; a single run's error is
    ``std sqrt(g / n)`` with the statistical inefficiency ``g`` of its trace.
    The experimental value is drawn only when resources/experimental cites one.
    """
    import pandas as pd

    from pinnff.analysis.experimental import load_experimental
    from pinnff.analysis.replicas import aggregate_replicas
    from pinnff.md.stationarity import correlated_mean

    reference = load_experimental(experimental).get("density") if experimental else None
    plt = _pyplot()
    fig, (trace_ax, mean_ax) = plt.subplots(1, 2, figsize=(10.0, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    per_label: dict[str, list[tuple[float, float, bool]]] = {}
    colour = {label: f"C{k}" for k, label in enumerate(dict.fromkeys(labels))}
    for run, label in zip(runs, labels):
        t_ps, rho, varies = density_trace(run)
        trace_ax.plot(t_ps, rho, lw=0.8, label=None if label in per_label else label, color=colour[label])
        half = rho[len(rho) // 2 :]
        mean, error, _ = correlated_mean(half) if len(half) > 2 else (float(half.mean()), 0.0, 1.0)
        per_label.setdefault(label, []).append((mean, error, varies))
    rows = []
    for k, (label, values) in enumerate(per_label.items()):
        density = aggregate_replicas([v[0] for v in values], [v[1] for v in values])
        varies = any(v[2] for v in values)
        mean_ax.errorbar([k], [density["mean"]], yerr=[density["error"]], fmt="o" if varies else "x", capsize=3,
                         color=f"C{k}")
        rows.append({"run": label, "density_g_cm3": density["mean"], "error": density["error"], "n_runs": density["n"],
                     "volume": "NPT" if varies else "fixed"})
    if reference is not None:
        for axis in (trace_ax, mean_ax):
            axis.axhline(reference.value, color="k", lw=1.0)
        mean_ax.set_title(f"experiment {reference.value:g} g/cm³: {reference.cite()[:60]}", fontsize=6)
    else:
        mean_ax.set_title("no cited experimental density in resources/experimental", fontsize=7)
    if not any(r["volume"] == "NPT" for r in rows):
        trace_ax.set_title("fixed volume (no barostat in these runs): the packing density", fontsize=8)
    mean_ax.set_xticks(range(len(rows)), [r["run"] for r in rows], rotation=30, fontsize=7)
    trace_ax.set_xlabel("time (ps)")
    trace_ax.set_ylabel("density (g/cm³)")
    trace_ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)
    with atomic_open(table, "w") as handle:
        pd.DataFrame(rows).to_csv(handle, index=False)


def rdf_figure(runs: list[Path], labels: list[str], r_max_A: float, path: Path, table: Path) -> None:
    """Intermolecular O-O and C-C g(r) of every run's production frames; also written as CSV."""
    import pandas as pd

    from pinnff.analysis.msd import perpendicular_widths
    from ase.io import read

    from pinnff.analysis.rdf import intermolecular_rdf

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6), sharey=True)
    rows = {}
    for run, label in zip(runs, labels):
        frames = read(run / "production.extxyz", index=":", format="extxyz")
        r_max = min(r_max_A, 0.5 * perpendicular_widths(frames[0].cell.array).min())
        for ax, (a, b) in zip(axes, (("O", "O"), ("C", "C"))):
            r, g = intermolecular_rdf(frames, a, b, r_max, n_bins=int(r_max / 0.05))
            ax.plot(r, g, label=label, lw=1.0)
            rows[f"{label}_{a}{b}_r_A"], rows[f"{label}_{a}{b}_g"] = r, g
    for ax, name in zip(axes, ("O–O", "C–C")):
        ax.axhline(1.0, color="0.6", lw=0.5)
        ax.set_title(f"{name} (intermolecular)")
        ax.set_xlabel("r (Å)")
    axes[0].set_ylabel("g(r)")
    axes[0].legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)
    length = max(len(v) for v in rows.values())
    frame = pd.DataFrame({k: np.pad(v, (0, length - len(v)), constant_values=np.nan) for k, v in rows.items()})
    with atomic_open(table, "w") as handle:
        frame.to_csv(handle, index=False)


def diffusion_figure(summary: dict, path: Path) -> None:
    """D per potential and box size with error bars, the finite-size corrected D, and the cited experiment.

    ``summary``: the dict of ``pinnff diffusion-summary``. Potentials or sizes
    without a diffusive regime are named on the figure ("no D: run too short").
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    potentials = summary["potentials"]
    notes = []
    for k, (label, entry) in enumerate(potentials.items()):
        sizes = entry["sizes"]
        for j, size in enumerate(sizes):
            x = k - 0.2 + 0.4 * j / max(1, len(sizes))
            if size["D"] is None:
                notes.append(f"{label}, {size['n_molecules']} molecules: no D: run too short")
                continue
            ax.errorbar([x], [size["D"]], yerr=[size["D_err"]], fmt="o", capsize=3, color=f"C{j}",
                        label=f"{size['n_molecules']} molecules (periodic box)")
        if entry["D_corrected"] is not None:
            ax.errorbar([k + 0.25], [entry["D_corrected"]], yerr=[entry["D_corrected_err"]], fmt="s", color="k",
                        capsize=3, label=f"corrected ({entry['route']})")
        else:
            notes.append(f"{label}: no corrected D ({entry['route_detail'][:70]})")
    reference = summary.get("experimental_self_diffusion")
    if reference is not None:
        ax.axhline(reference["value"], color="0.3", lw=1.0, label=f"experiment, {reference['temperature_K']:g} K")
        notes.append(reference["citation"][:90])
    else:
        notes.append("no cited experimental self-diffusion coefficient in resources/experimental")
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize=7)
    ax.set_xticks(range(len(potentials)), list(potentials))
    ax.set_xlim(-0.6, len(potentials) - 0.4)
    ax.set_ylabel("D (10⁻⁹ m²/s)")
    ax.set_title("\n".join(notes[:6]), fontsize=6)
    _save(fig, path)
    plt.close(fig)


def finite_size_figure(summary: dict, path: Path) -> None:
    """D against 1/L per potential with the fitted line to 1/L = 0 where two or more sizes gave D."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    notes = []
    for k, (label, entry) in enumerate(summary["potentials"].items()):
        usable = [s for s in entry["sizes"] if s["D"] is not None and s["box_length_A"]]
        if usable:
            inv = np.array([1.0 / s["box_length_A"] for s in usable])
            ax.errorbar(inv, [s["D"] for s in usable], yerr=[s["D_err"] for s in usable], fmt="o", capsize=3,
                        color=f"C{k}", label=label)
        if entry["route"] == "extrapolation":
            fit = entry["extrapolation"]
            grid = np.linspace(0.0, 1.05 * max(1.0 / L for L in fit["box_lengths_A"]), 20)
            ax.plot(grid, fit["D_inf"] + fit["slope_1e9m2s_A"] * grid, color=f"C{k}", ls="--", lw=1)
            ax.errorbar([0.0], [fit["D_inf"]], yerr=[fit["D_inf_err"]], fmt="s", color=f"C{k}", capsize=3)
            eta = fit["viscosity_mPas"]
            notes.append(f"{label}: D_inf = {fit['D_inf']:.3g} ± {fit['D_inf_err']:.2g}, "
                         + (f"η = {eta:.3g} ± {fit['viscosity_err_mPas']:.2g} mPa s" if eta else fit["note"]))
        else:
            notes.append(f"{label}: {entry['route_detail'][:80]}")
    ax.set_xlabel("1/L (1/Å)")
    ax.set_ylabel("D (10⁻⁹ m²/s)")
    ax.set_xlim(left=0.0)
    if ax.has_data():
        ax.legend(fontsize=7)
    ax.set_title("\n".join(notes[:6]), fontsize=6)
    _save(fig, path)
    plt.close(fig)


def _figures(args) -> None:
    if len(args.labels) != len(args.runs) or len(args.density_labels) != len(args.density_runs):
        raise InputError(f"{len(args.runs)} runs but {len(args.labels)} labels, or {len(args.density_runs)} "
                         f"density runs but {len(args.density_labels)} density labels")
    md = section(args.settings, "md")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [Path(r) for r in args.runs]
    try:
        summary = json.loads(Path(args.summary).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{args.summary}: cannot read the diffusion summary ({exc})") from exc
    thermo_figure(runs, args.labels, out / "thermo.png")
    rdf_figure(runs, args.labels, md["rdf_max_A"], out / "rdf.png", out / "rdf.csv")
    density_figure([Path(r) for r in args.density_runs], args.density_labels, args.experimental, out / "density.png",
                   out / "density.csv")
    diffusion_figure(summary, out / "diffusion.png")
    finite_size_figure(summary, out / "finite_size.png")
    log.info("MD figures of %d runs -> %s", len(args.density_runs), out)


def add_parser(subparsers) -> None:
    """Register ``pinnff md-figures``."""
    p = subparsers.add_parser("md-figures", help="thermo traces, RDFs, densities, D against experiment and box size")
    p.add_argument("--runs", nargs="+", required=True, help="run folders for thermo traces and RDFs (each with "
                   "thermo.csv, minimized.extxyz and production.extxyz)")
    p.add_argument("--labels", nargs="+", required=True, help="one name per run")
    p.add_argument("--density-runs", nargs="+", required=True, help="run folders for the density panel (replicas "
                   "share a label)")
    p.add_argument("--density-labels", nargs="+", required=True, help="one name per density run")
    p.add_argument("--summary", required=True, help="diffusion.json of pinnff diffusion-summary")
    p.add_argument("--experimental", help="cited experimental data (resources/experimental/*.yaml)")
    add_settings_argument(p, "md")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=_figures)
