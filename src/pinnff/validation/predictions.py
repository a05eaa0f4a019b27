"""Predictions of one trained model on labelled held-out files, one row per cluster.

Columns: ``set``, ``sample_id``, ``n_molecules``, ``com_distance_A``,
``min_contact_A``, ``scan_id`` and ``scan_shift_A`` (scans only, else NaN),
``e_int_ref_kcal`` (DFT), ``e_int_pred_kcal`` and, for the physics kinds,
the predicted decomposition ``pred_<term>_kcal`` (multipole, polarization,
vdw, charge_transfer). Energies in kcal/mol, lengths in Angstrom.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from pinnff.io.structures import read_structures
from pinnff.model.clusters import load_clusters

INFO_COLUMNS = ("n_molecules", "com_distance_A", "min_contact_A", "scan_id", "scan_shift_A")


def predict_file(model, path, set_name: str) -> pd.DataFrame:
    """Rows for every successfully labelled cluster of ``path`` (empty frame when there is none)."""
    dtype = next(model.parameters()).dtype
    clusters = load_clusters(path, dtype)
    if not clusters:
        return pd.DataFrame()
    info = {a.info["sample_id"]: a.info for a in read_structures(path)}
    data = model.prepare(clusters)
    with torch.no_grad():
        if hasattr(model, "interaction_decomposition"):
            parts = {f"pred_{k}_kcal": v.tolist() for k, v in model.interaction_decomposition(data).items()}
            predicted = [sum(values) for values in zip(*parts.values())]
        else:
            parts = {}
            predicted = model.interaction_energies(data).tolist()
    rows = []
    for k, cluster in enumerate(clusters):
        meta = info[cluster.sample_id]
        row = {"set": set_name, "sample_id": cluster.sample_id}
        row.update({key: float(meta[key]) if key in meta else math.nan for key in INFO_COLUMNS})
        row["e_int_ref_kcal"] = cluster.e_int_clean_kcal
        row["e_int_pred_kcal"] = predicted[k]
        row.update({key: values[k] for key, values in parts.items()})
        rows.append(row)
    return pd.DataFrame(rows)
