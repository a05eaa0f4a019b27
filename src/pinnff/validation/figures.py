"""Accuracy figures (matplotlib, Agg): parity plots, error against label noise, dissociation scans,
optimizer study and learning curves. Energies in kcal/mol, distances in Angstrom."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

KIND_LABELS = {"pinn": "PINN (network -> AMOEBA+)", "physics": "physics only (per-type AMOEBA+)", "ml": "pure ML"}
KIND_ORDER = ("pinn", "physics", "ml")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _kinds(frame: pd.DataFrame) -> list[str]:
    present = set(frame.model)
    return [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))


def _save(fig, path) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=150)


def parity(predictions: pd.DataFrame, trainset: str, path) -> None:
    """Predicted against DFT E_int on every held-out set, one panel per model kind (clean labels, first seed)."""
    plt = _pyplot()
    chosen = predictions[(predictions.trainset == trainset) & (predictions.sigma_kcal == 0)]
    chosen = chosen[chosen.seed == chosen.seed.min()] if len(chosen) else chosen
    kinds = _kinds(chosen) or ["none"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 4.2), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        rows = chosen[chosen.model == kind]
        for name, group in rows.groupby("set"):
            rmse = float(np.sqrt(np.mean((group.e_int_pred_kcal - group.e_int_ref_kcal) ** 2)))
            ax.scatter(group.e_int_ref_kcal, group.e_int_pred_kcal, s=14, label=f"{name} (n={len(group)}, RMSE {rmse:.2f})")
        values = pd.concat([rows.e_int_ref_kcal, rows.e_int_pred_kcal]) if len(rows) else pd.Series([0.0, 1.0])
        lo, hi = float(values.min()) - 0.5, float(values.max()) + 0.5
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="DFT E_int (kcal/mol)", ylabel="predicted E_int (kcal/mol)",
               title=KIND_LABELS.get(kind, kind), aspect="equal")
        if len(rows):
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Held-out sets, trained on set {trainset} (clean labels)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def error_vs_noise(metrics: pd.DataFrame, path) -> None:
    """Test RMSE against the label-noise sigma, per model kind, on each training set's own test set."""
    plt = _pyplot()
    overall = metrics[(metrics.band == "all")]
    trainsets = sorted(overall.trainset.unique()) or ["A"]
    fig, axes = plt.subplots(1, len(trainsets), figsize=(4.6 * len(trainsets), 4.0), squeeze=False)
    for ax, trainset in zip(axes[0], trainsets):
        rows = overall[(overall.trainset == trainset) & (overall.set == f"set_{trainset}")]
        for kind in _kinds(rows):
            g = rows[rows.model == kind].groupby("sigma_kcal").rmse
            ax.errorbar(g.mean().index, g.mean().values, yerr=g.std().fillna(0).values, marker="o", capsize=3,
                        label=KIND_LABELS.get(kind, kind))
        ax.set(xlabel="label noise sigma (kcal/mol)", ylabel="test RMSE vs clean DFT (kcal/mol)",
               title=f"trained and tested on set {trainset}")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def scans(predictions: pd.DataFrame, path) -> None:
    """Rigid dissociation curves: DFT and every kind (clean labels, first seed, each training set), and the
    PINN's energy decomposition along each scan."""
    plt = _pyplot()
    rows = predictions[(predictions.set == "scans") & (predictions.sigma_kcal == 0)]
    rows = rows[rows.seed == rows.seed.min()] if len(rows) else rows
    scan_ids = sorted(rows.scan_id.dropna().unique()) or [0]
    fig, axes = plt.subplots(2, len(scan_ids), figsize=(4.2 * len(scan_ids), 7.0), squeeze=False, sharex="col")
    for column, scan in enumerate(scan_ids):
        top, bottom = axes[0, column], axes[1, column]
        scan_rows = rows[rows.scan_id == scan].sort_values("scan_shift_A")
        reference = scan_rows.drop_duplicates("sample_id")
        top.plot(reference.scan_shift_A, reference.e_int_ref_kcal, "k-o", ms=3, label="reference")
        for (kind, trainset), group in scan_rows.groupby(["model", "trainset"]):
            top.plot(group.scan_shift_A, group.e_int_pred_kcal, marker=".", label=f"{kind} ({trainset})")
        top.set(ylabel="E_int (kcal/mol)", title=f"scan {int(scan)}")
        top.legend(fontsize=6)
        pinn = scan_rows[(scan_rows.model == "pinn")]
        pinn = pinn[pinn.trainset == pinn.trainset.min()] if len(pinn) else pinn
        for term in ("multipole", "polarization", "vdw", "charge_transfer"):
            column_name = f"pred_{term}_kcal"
            if column_name in pinn and len(pinn):
                bottom.plot(pinn.scan_shift_A, pinn[column_name], marker=".", label=term)
        bottom.axhline(0.0, color="grey", lw=0.6)
        bottom.set(xlabel="rigid shift along the COM axis (A)", ylabel="PINN term (kcal/mol)")
        bottom.legend(fontsize=6)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def optimizer_study(runs: pd.DataFrame, path) -> None:
    """Best validation RMSE and wall time per optimizer (equal gradient budget), one point per seed."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.6))
    optimizers = sorted(runs.optimizer.unique())
    for ax, column, label in zip(axes, ("best_val_rmse_kcal", "wall_s"), ("best validation RMSE (kcal/mol)", "wall time (s)")):
        for x, name in enumerate(optimizers):
            values = runs[runs.optimizer == name][column]
            ax.scatter(np.full(len(values), x), values, zorder=3)
            ax.errorbar([x + 0.15], [values.mean()], yerr=[values.std() if len(values) > 1 else 0.0], fmt="s", capsize=4)
        ax.set_xticks(range(len(optimizers)), optimizers)
        ax.set(ylabel=label, xlim=(-0.5, len(optimizers) - 0.5))
    fig.suptitle(f"Tabu-Adam vs Adam, {runs.model.iloc[0]} on set {runs.trainset.iloc[0]}, "
                 f"{int(runs.grad_evals.max())} gradient evaluations")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def learning_curves(metrics: pd.DataFrame, path) -> None:
    """Test RMSE against the number of training samples, per model kind (``n_train`` column)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    for kind in _kinds(metrics):
        g = metrics[metrics.model == kind].groupby("n_train").rmse
        ax.errorbar(g.mean().index, g.mean().values, yerr=g.std().fillna(0).values, marker="o", capsize=3,
                    label=KIND_LABELS.get(kind, kind))
    ax.set(xscale="log", yscale="log", xlabel="training samples", ylabel="test RMSE (kcal/mol)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
