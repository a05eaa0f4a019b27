"""``pinnff md-figures``: figures of the liquid stage: thermodynamic traces, RDFs, D against experiment
(matplotlib, Agg).

Each run folder holds ``thermo.csv`` and ``production.extxyz`` from
``pinnff md`` and ``D.json`` from ``pinnff diffusion``.
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
    """Temperature, potential and total energy per molecule, and density against time, for every run."""
    import pandas as pd

    from pinnff.io.structures import read_structures

    plt = _pyplot()
    fig, axes = plt.subplots(4, 1, figsize=(6.5, 9.0), sharex=True)
    for run, label in zip(runs, labels):
        thermo = pd.read_csv(run / "thermo.csv")
        (box,) = read_structures(run / "minimized.extxyz")
        n_molecules = int(box.arrays["mol_id"].max()) + 1
        density = box.get_masses().sum() / AVOGADRO / (box.get_volume() * 1e-24)
        t_ps = thermo["time_fs"] / 1000.0
        axes[0].plot(t_ps, thermo["temperature_K"], label=label, lw=0.8)
        axes[1].plot(t_ps, thermo["epot_kcal"] / n_molecules, lw=0.8)
        axes[2].plot(t_ps, thermo["etot_kcal"] / n_molecules, lw=0.8)
        axes[3].plot(t_ps, np.full(len(t_ps), density), lw=0.8)
    axes[0].set_ylabel("T (K)")
    axes[1].set_ylabel("E_pot / molecule\n(kcal/mol)")
    axes[2].set_ylabel("E_tot / molecule\n(kcal/mol)")
    axes[3].set_ylabel("density (g/cm³)\n(fixed volume)")
    axes[3].set_xlabel("time (ps); equilibration then production")
    axes[0].legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)


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


def diffusion_figure(runs: list[Path], labels: list[str], experimental: str | None, path: Path, table: Path) -> None:
    """D (and the Yeh-Hummer corrected D) with error bars per run, against the cited experimental value."""
    import pandas as pd

    from pinnff.analysis.experimental import load_experimental

    reference = load_experimental(experimental).get("self_diffusion") if experimental else None
    results = [json.loads((run / "D.json").read_text()) for run in runs]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    x = np.arange(len(runs))
    ax.errorbar(x - 0.08, [r["D"] for r in results], yerr=[r["D_err"] for r in results], fmt="o", capsize=3,
                label="D (periodic box)")
    corrected = [r.get("D_corrected", np.nan) for r in results]
    if np.isfinite(corrected).any():
        ax.errorbar(x + 0.08, corrected, yerr=[r.get("D_corrected_err", np.nan) for r in results], fmt="s",
                    capsize=3, label="D + Yeh–Hummer")
    if reference is not None:
        low, high = reference.value - (reference.uncertainty or 0.0), reference.value + (reference.uncertainty or 0.0)
        ax.axhspan(low, high, color="0.85")
        ax.axhline(reference.value, color="k", lw=1.0, label=f"experiment, {reference.temperature_K:g} K")
        note = reference.cite()
    else:
        note = "no cited experimental self-diffusion coefficient in resources/experimental"
    ax.set_xticks(x, labels)
    ax.set_ylabel("D (10⁻⁹ m²/s)")
    ax.legend(fontsize=8)
    ax.set_title(note if len(note) < 90 else note[:87] + "…", fontsize=7)
    _save(fig, path)
    plt.close(fig)
    frame = pd.DataFrame({"run": labels, "D": [r["D"] for r in results], "D_err": [r["D_err"] for r in results],
                          "D_corrected": corrected,
                          "fit_window_start_ps": [r["fit_window_fs"][0] / 1000 for r in results],
                          "fit_window_end_ps": [r["fit_window_fs"][1] / 1000 for r in results],
                          "duration_ps": [r["duration_ps"] for r in results],
                          "experiment": reference.value if reference is not None else np.nan})
    with atomic_open(table, "w") as handle:
        frame.to_csv(handle, index=False)


def _figures(args) -> None:
    if len(args.labels) != len(args.runs):
        raise InputError(f"{len(args.runs)} runs but {len(args.labels)} labels")
    md = section(args.settings, "md")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [Path(r) for r in args.runs]
    thermo_figure(runs, args.labels, out / "thermo.png")
    rdf_figure(runs, args.labels, md["rdf_max_A"], out / "rdf.png", out / "rdf.csv")
    diffusion_figure(runs, args.labels, args.experimental, out / "diffusion.png", out / "diffusion.csv")
    log.info("MD figures of %d runs -> %s", len(runs), out)


def add_parser(subparsers) -> None:
    """Register ``pinnff md-figures``."""
    p = subparsers.add_parser("md-figures", help="thermo traces, RDFs and D against experiment for MD runs")
    p.add_argument("--runs", nargs="+", required=True, help="run folders (each with thermo.csv, "
                   "production.extxyz and D.json)")
    p.add_argument("--labels", nargs="+", required=True, help="one name per run")
    p.add_argument("--experimental", help="cited experimental data (resources/experimental/*.yaml)")
    add_settings_argument(p, "md")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=_figures)
