"""``pinnff diffusion-summary``: D of every potential and box size, and one finite-size corrected D each.

Routes to the corrected D of a potential, in order:

1. ``extrapolation``: D at two or more box sizes, fitted as
   ``D(L) = D_inf - xi k_B T / (6 pi eta L)`` (:mod:`pinnff.analysis.finite_size`),
   which also gives the model's own viscosity;
2. ``yeh-hummer``: one size, with a cited experimental viscosity
   (resources/experimental), the Yeh-Hummer term added to D of that size;
3. ``none``: one size and no cited viscosity (or no D at all): no corrected D,
   and the output says why.

D in 1e-9 m^2/s, lengths in Angstrom, viscosity in mPa s.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def summarize(results: list[dict], viscosity=None) -> dict:
    """Group D.json dicts (``label`` = potential, ``n_molecules``) and correct each potential's D.

    ``viscosity``: a cited :class:`~pinnff.analysis.experimental.Measurement`
    or None. Returns ``{"potentials": {label: {...}}}`` with, per potential,
    its ``sizes`` (one row per box size, sorted by molecule count) and
    ``D_corrected``, ``D_corrected_err``, ``route``, ``route_detail``.
    """
    from pinnff.analysis.diffusion import yeh_hummer_correction
    from pinnff.analysis.finite_size import extrapolate_finite_size
    from pinnff.errors import InputError

    grouped: dict[str, list[dict]] = {}
    for r in results:
        if not r.get("label"):
            raise InputError(f"{r.get('replicas', [{}])[0].get('trajectory', 'D.json')}: D.json has no label "
                             f"(the potential); run pinnff diffusion with --label")
        grouped.setdefault(r["label"], []).append(r)
    out = {}
    for label, runs in grouped.items():
        runs = sorted(runs, key=lambda r: r["n_molecules"])
        sizes = [{"n_molecules": r["n_molecules"], "box_length_A": r.get("box_length_A"), "D": r["D"],
                  "D_err": r["D_err"], "n_replicas": r["n_replicas"], "duration_ps": r["duration_ps"],
                  "temperature_K": r.get("temperature_K"),
                  "no_diffusion": (r.get("no_diffusion") or {}).get("reason")} for r in runs]
        usable = [s for s in sizes if s["D"] is not None and s["box_length_A"] and s["D_err"]]
        entry = {"sizes": sizes, "D_corrected": None, "D_corrected_err": None, "viscosity_mPas": None,
                 "viscosity_err_mPas": None}
        temperatures = [s["temperature_K"] for s in usable if s["temperature_K"]]
        if len({round(s["box_length_A"], 6) for s in usable}) >= 2 and temperatures:
            fit = extrapolate_finite_size([s["box_length_A"] for s in usable], [s["D"] for s in usable],
                                          [s["D_err"] for s in usable], sum(temperatures) / len(temperatures))
            entry.update(D_corrected=fit["D_inf"], D_corrected_err=fit["D_inf_err"],
                         viscosity_mPas=fit["viscosity_mPas"], viscosity_err_mPas=fit["viscosity_err_mPas"],
                         route="extrapolation", extrapolation=fit,
                         route_detail=f"D at {len(usable)} box sizes extrapolated to 1/L = 0 (Jamali et al., J. Chem. "
                                      f"Theory Comput. 14, 5959 (2018)); viscosity from the slope")
        elif usable and viscosity is not None and temperatures:
            largest = usable[-1]
            term = yeh_hummer_correction(largest["temperature_K"] or temperatures[0], viscosity.value,
                                         largest["box_length_A"])
            entry.update(D_corrected=largest["D"] + term, D_corrected_err=largest["D_err"], route="yeh-hummer",
                         route_detail=f"Yeh-Hummer term {term:.4g} at {largest['n_molecules']} molecules "
                                      f"(L = {largest['box_length_A']:.2f} A) with the cited viscosity "
                                      f"{viscosity.value:g} mPa s ({viscosity.cite()})")
        else:
            why = ("no box size has a diffusive regime" if not usable else
                   "one box size and no cited experimental viscosity: no finite-size correction "
                   "(run md.box_sizes with two sizes, or cite a viscosity in resources/experimental)")
            entry.update(route="none", route_detail=why)
        out[label] = entry
    return {"potentials": out, "units": {"D": "1e-9 m^2/s", "length": "Angstrom", "viscosity": "mPa s"}}


def _summary(args) -> None:
    import pandas as pd

    from pinnff.analysis.experimental import load_experimental
    from pinnff.errors import InputError
    from pinnff.io.atomic import atomic_open, write_json

    results = []
    for path in args.results:
        try:
            results.append(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read D.json ({exc})") from exc
    experimental = load_experimental(args.experimental) if args.experimental else {}
    summary = summarize(results, experimental.get("viscosity"))
    summary["inputs"] = [str(p) for p in args.results]
    if "self_diffusion" in experimental:
        m = experimental["self_diffusion"]
        summary["experimental_self_diffusion"] = {"value": m.value, "uncertainty": m.uncertainty,
                                                  "temperature_K": m.temperature_K, "citation": m.cite()}
    write_json(args.out, summary)
    rows = [{"potential": label, **{k: v for k, v in size.items()}, "D_corrected": entry["D_corrected"],
             "D_corrected_err": entry["D_corrected_err"], "viscosity_mPas": entry["viscosity_mPas"],
             "route": entry["route"]}
            for label, entry in summary["potentials"].items() for size in entry["sizes"]]
    with atomic_open(args.csv, "w") as handle:
        pd.DataFrame(rows).to_csv(handle, index=False)
    for label, entry in summary["potentials"].items():
        value = entry["D_corrected"]
        shown = "none" if value is None else f"{value:.4g} +- {entry['D_corrected_err']:.2g}"
        log.info("%s: corrected D %s (%s)", label, shown, entry["route_detail"])


def add_parser(subparsers) -> None:
    """Register ``pinnff diffusion-summary``."""
    p = subparsers.add_parser("diffusion-summary", help="D of every potential and box size; finite-size corrected D",
                              description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", help="D.json files of pinnff diffusion (label = potential)")
    p.add_argument("--experimental", help="cited experimental data (viscosity for the Yeh-Hummer route)")
    p.add_argument("--out", required=True, help="diffusion.json to write")
    p.add_argument("--csv", required=True, help="diffusion.csv to write (one row per potential and box size)")
    p.set_defaults(func=_summary)
