"""Figures of the diffusion analysis (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import os
from typing import Mapping, Sequence


def plot_msd(results: Sequence[Mapping] | Mapping, path: str | os.PathLike, labels: Sequence[str] | None = None,
             loglog: bool = True, dpi: int = 150) -> None:
    """Draw MSD curves with their fit windows shaded and fitted lines, and save to ``path``.

    ``results``: one or more D.json dicts (as written by ``pinnff diffusion``,
    or :meth:`DiffusionResult.to_dict`), each with ``msd_curve`` (``lag_fs``,
    ``msd_A2``), ``fit_window_fs``, ``slope_A2_per_fs``, ``intercept_A2``, ``D``
    and ``D_err`` (1e-9 m^2/s). Time axis in ps, MSD in Angstrom^2; log-log by
    default, with a t^1 guide. A lower panel shows the local log-log slope when
    ``slope_curve`` is present. The file type follows the extension.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if isinstance(results, Mapping):
        results = [results]
    labels = list(labels) if labels is not None else [r.get("label", f"run {k + 1}") for k, r in enumerate(results)]
    with_slope = all(r.get("slope_curve") for r in results)
    fig, axes = plt.subplots(2 if with_slope else 1, 1, figsize=(5.5, 6.0 if with_slope else 4.2), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]} if with_slope else None, squeeze=False)
    ax = axes[0, 0]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (result, label) in enumerate(zip(results, labels)):
        colour = colours[k % len(colours)]
        lag_ps = np.asarray(result["msd_curve"]["lag_fs"], dtype=float) / 1000.0
        msd = np.asarray(result["msd_curve"]["msd_A2"], dtype=float)
        keep = lag_ps > 0 if loglog else np.ones_like(lag_ps, dtype=bool)
        text = f"{label}: D = {result['D']:.3g} ± {result['D_err']:.2g}"
        ax.plot(lag_ps[keep], msd[keep], color=colour, label=text)
        start, end = (float(v) for v in result["fit_window_fs"])
        ax.axvspan(start / 1000.0, end / 1000.0, color=colour, alpha=0.15, lw=0)
        fit_t = np.linspace(start, end, 50)
        ax.plot(fit_t / 1000.0, result["slope_A2_per_fs"] * fit_t + result["intercept_A2"], color=colour, ls="--", lw=1)
        if with_slope:
            grid = np.asarray(result["slope_curve"]["lag_fs"], dtype=float) / 1000.0
            slope = np.array([np.nan if s is None else s for s in result["slope_curve"]["slope"]], dtype=float)
            axes[1, 0].plot(grid, slope, color=colour)
            axes[1, 0].axvspan(start / 1000.0, end / 1000.0, color=colour, alpha=0.15, lw=0)
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_ylabel("COM MSD (Å$^2$)")
    ax.legend(fontsize=8, title="D in 10$^{-9}$ m$^2$/s", title_fontsize=8)
    if with_slope:
        low = axes[1, 0]
        low.axhline(1.0, color="k", lw=0.8, ls=":")
        low.set_ylabel("d ln MSD / d ln t")
        low.set_ylim(0.0, 2.2)
        low.set_xlabel("lag (ps)")
    else:
        ax.set_xlabel("lag (ps)")
    fig.tight_layout()
    from pinnff.io.atomic import atomic_open

    suffix = os.path.splitext(str(path))[1].lstrip(".") or "png"
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format=suffix, dpi=dpi)
    plt.close(fig)
