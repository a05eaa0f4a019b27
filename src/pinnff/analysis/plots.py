"""Figures of the diffusion analysis (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import os
from typing import Mapping


def _curve(curve: Mapping):
    import numpy as np

    lag = np.asarray(curve["lag_fs"], dtype=float) / 1000.0
    key = "msd_A2" if "msd_A2" in curve else "slope"
    y = np.array([np.nan if v is None else v for v in curve[key]], dtype=float)
    return lag[lag > 0], y[lag > 0]


def plot_msd(result: Mapping, path: str | os.PathLike, dpi: int = 150) -> None:
    """MSD of every replica and the pooled MSD (log-log), and the local log-log slope; saved to ``path``.

    ``result``: a D.json dict of ``pinnff diffusion`` (``replicas`` with their
    ``msd_curve``, ``slope_curve`` and ``fit_window_fs``; ``pooled`` likewise;
    ``criterion``; ``radius_of_gyration_A``). Upper panel: thin lines per
    replica with their fit window drawn thick, the pooled MSD in black with its
    window shaded and the fitted line, and the displacement threshold
    ``(min_displacement_rg R_g)^2`` as a horizontal line. Lower panel: the
    local slope with the accepted band ``1 +- slope_tolerance``. Without a D
    the title says so. Time in ps, MSD in Angstrom^2; the file type follows
    the extension.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from pinnff.io.atomic import atomic_open

    fig, (ax, low) = plt.subplots(2, 1, figsize=(5.5, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, rep in enumerate(result["replicas"]):
        colour = colours[k % len(colours)]
        lag, msd = _curve(rep["msd_curve"])
        text = f"replica {k}: " + ("no D" if rep["D"] is None else f"D = {rep['D']:.3g} ± {rep['D_err']:.2g}")
        ax.plot(lag, msd, color=colour, lw=0.7, alpha=0.8, label=text)
        grid, slope = _curve(rep["slope_curve"])
        low.plot(grid, slope, color=colour, lw=0.7, alpha=0.8)
        if rep.get("fit_window_fs"):
            inside = (lag >= rep["fit_window_fs"][0] / 1000.0) & (lag <= rep["fit_window_fs"][1] / 1000.0)
            ax.plot(lag[inside], msd[inside], color=colour, lw=2.0)
    pooled = result["pooled"]
    lag, msd = _curve(pooled["msd_curve"])
    ax.plot(lag, msd, color="k", lw=1.5, label=f"pooled ({pooled['n_replicas']} replicas)")
    grid, slope = _curve(pooled["slope_curve"])
    low.plot(grid, slope, color="k", lw=1.5)
    if pooled.get("fit_window_fs"):
        start, end = (float(v) for v in pooled["fit_window_fs"])
        for axis in (ax, low):
            axis.axvspan(start / 1000.0, end / 1000.0, color="0.5", alpha=0.15, lw=0)
        fit_t = np.linspace(start, end, 50)
        ax.plot(fit_t / 1000.0, pooled["slope_A2_per_fs"] * fit_t + pooled["intercept_A2"], color="k", ls="--",
                lw=1, label=f"pooled fit: D = {pooled['D']:.3g}")
    c = result["criterion"]
    rg = result.get("radius_of_gyration_A")
    if rg:
        ax.axhline((c["min_displacement_rg"] * rg) ** 2, color="tab:red", lw=0.8, ls=":",
                   label=f"RMS displacement = {c['min_displacement_rg']:g} R_g ({rg:.2f} Å)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("COM MSD (Å$^2$)")
    ax.legend(fontsize=7, title="D in 10$^{-9}$ m$^2$/s", title_fontsize=7)
    if result["D"] is None:
        reach = result.get("no_diffusion") or {}
        ax.set_title(f"{result.get('label') or ''} no D: run too short (RMS "
                     f"{reach.get('rms_displacement_at_longest_lag_A', float('nan')):.2f} Å"
                     + (f" vs R_g {rg:.2f} Å" if rg else "") + ")", fontsize=9)
    else:
        ax.set_title(f"{result.get('label') or ''} D = {result['D']:.3g} ± {result['D_err']:.2g}", fontsize=9)
    low.axhspan(1 - c["slope_tolerance"], 1 + c["slope_tolerance"], color="tab:green", alpha=0.2, lw=0)
    low.axhline(1.0, color="k", lw=0.8, ls=":")
    low.set_ylabel("d ln MSD / d ln t")
    low.set_ylim(0.0, 2.2)
    low.set_xlabel("lag (ps)")
    fig.tight_layout()
    suffix = os.path.splitext(str(path))[1].lstrip(".") or "png"
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format=suffix, dpi=dpi)
    plt.close(fig)
