"""Error metrics of E_int predictions against DFT, overall and by distance band (kcal/mol)."""

from __future__ import annotations

import numpy as np
import pandas as pd

BANDS_A = ((0.0, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, np.inf))
"""Bands of the shortest intermolecular atom-atom contact, Angstrom: [low, high)."""

MODEL_KEYS = ["model", "trainset", "sigma_kcal", "seed", "n_train"]


def band_label(low: float, high: float) -> str:
    return f"contact {low:g}-{high:g} A" if np.isfinite(high) else f"contact >= {low:g} A"


def errors(reference, predicted) -> dict:
    """``n``, ``rmse``, ``mae``, ``max_abs`` and mean signed error ``bias`` of predicted - reference."""
    d = np.asarray(predicted, dtype=float) - np.asarray(reference, dtype=float)
    if d.size == 0:
        return {"n": 0, "rmse": np.nan, "mae": np.nan, "max_abs": np.nan, "bias": np.nan}
    return {"n": int(d.size), "rmse": float(np.sqrt(np.mean(d * d))), "mae": float(np.mean(np.abs(d))),
            "max_abs": float(np.max(np.abs(d))), "bias": float(np.mean(d))}


def metrics_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, training set, sigma, seed, test set, band) with :func:`errors` columns.

    ``predictions`` holds the columns of :mod:`pinnff.validation.predictions`
    plus :data:`MODEL_KEYS`; band ``all`` covers every sample of a set.
    """
    rows = []
    for keys, group in predictions.groupby(MODEL_KEYS + ["set"], sort=True):
        base = dict(zip(MODEL_KEYS + ["set"], keys))
        rows.append({**base, "band": "all", **errors(group.e_int_ref_kcal, group.e_int_pred_kcal)})
        for low, high in BANDS_A:
            inside = group[(group.min_contact_A >= low) & (group.min_contact_A < high)]
            if len(inside):
                rows.append({**base, "band": band_label(low, high),
                             **errors(inside.e_int_ref_kcal, inside.e_int_pred_kcal)})
    return pd.DataFrame(rows)


def markdown_table(metrics: pd.DataFrame) -> str:
    """The ``band == all`` rows as a Markdown table, mean and spread over seeds."""
    overall = metrics[metrics.band == "all"]
    if overall.empty:
        return "No held-out predictions.\n"
    grouped = overall.groupby(["model", "trainset", "sigma_kcal", "set"], sort=True)
    table = grouped.agg(n=("n", "first"), seeds=("seed", "nunique"), rmse=("rmse", "mean"), rmse_sd=("rmse", "std"),
                        mae=("mae", "mean"), max_abs=("max_abs", "max")).reset_index()
    lines = ["| model | trained on | sigma (kcal/mol) | test set | n | seeds | RMSE | MAE | max |err| |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        spread = f" ± {r.rmse_sd:.2f}" if r.seeds > 1 else ""
        lines.append(f"| {r.model} | {r.trainset} | {r.sigma_kcal:g} | {r.set} | {r.n} | {r.seeds} | "
                     f"{r.rmse:.3f}{spread} | {r.mae:.3f} | {r.max_abs:.3f} |")
    return "\n".join(lines) + "\n\nEnergies in kcal/mol against DFT (B3LYP-D3(BJ)/def2-SVP); RMSE is the mean over seeds ± its standard deviation.\n"
