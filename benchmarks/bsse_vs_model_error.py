"""How much of each model's error on the uncorrected labels is basis-set superposition error.

Reads clusters labelled with ``label.counterpoise: true`` (each frame carries the
Boys-Bernardi-corrected ``e_int_kcal`` and its ``bsse_kcal``, so the uncorrected
label is ``e_int_kcal - bsse_kcal``) and checkpoints trained on the uncorrected
labels. Prints the BSSE's spread, then for each model, over all clusters and
over the held-out ones (val/test):

- RMSE (kcal/mol) of the prediction against the uncorrected label, the label it was trained on;
- Pearson r of its error (prediction - uncorrected label) with the BSSE;
- RMSE left after subtracting the least-squares line a + b*BSSE from the error:
  the model's error that the BSSE does not explain.

    python benchmarks/bsse_vs_model_error.py resources/labels/dft_b3lyp-d3bj_def2-svp_df_grid2_cp/set_A/chunk-*.extxyz \\
        --models results/models/{pinn,physics,ml}/A/sigma0/tabu-adam/seed0/model.pt
"""

from __future__ import annotations

import argparse

import numpy as np


def explained(error: np.ndarray, bsse: np.ndarray) -> tuple[float, float]:
    """Pearson r of ``error`` with ``bsse`` and the RMS of ``error`` minus its least-squares line in ``bsse``."""
    design = np.column_stack([np.ones_like(bsse), bsse])
    coefficients = np.linalg.lstsq(design, error, rcond=None)[0]
    return float(np.corrcoef(error, bsse)[0, 1]), float(np.sqrt(np.mean((error - design @ coefficients) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("structures", nargs="+", help="counterpoise-labelled clusters (extxyz with e_int_kcal, bsse_kcal, split)")
    parser.add_argument("--models", nargs="+", required=True, help="checkpoints trained on the uncorrected labels")
    parser.add_argument("--smiles", default="COCCOCCOC")
    args = parser.parse_args()

    from pinnff.evaluate import predict
    from pinnff.geometry import cross_distances
    from pinnff.io.structures import read_structures
    from pinnff.model.store import load_model

    frames = [a for path in args.structures for a in read_structures(path)
              if a.info.get("label_status") == "ok" and "bsse_kcal" in a.info]
    if not frames:
        raise SystemExit(f"bsse_vs_model_error: {' '.join(args.structures)} hold no counterpoise-labelled cluster")
    bsse = np.array([a.info["bsse_kcal"] for a in frames])
    uncorrected = np.array([a.info["e_int_kcal"] for a in frames]) - bsse
    contact = np.array([cross_distances(a.positions[a.arrays["mol_id"] == 0], a.positions[a.arrays["mol_id"] == 1]).min()
                        for a in frames])
    held_out = np.array([a.info.get("split") in ("val", "test") for a in frames])
    print(f"{len(frames)} clusters ({held_out.sum()} held out); BSSE mean {bsse.mean():.2f}, std {bsse.std():.2f}, "
          f"range {bsse.min():.2f}..{bsse.max():.2f} kcal/mol; r(BSSE, closest contact) = "
          f"{np.corrcoef(bsse, contact)[0, 1]:+.2f}; uncorrected E_int std {uncorrected.std():.2f}")
    print(f"{'model':>40} {'subset':>8} {'RMSE':>6} {'r(err,BSSE)':>11} {'RMSE unexplained':>16}")
    for path in args.models:
        model = load_model(path)
        predicted = np.array([row["e_int_pred_kcal"] for row in predict(model, frames, args.smiles, "counterpoise labels")])
        error = predicted - uncorrected
        for subset, mask in (("all", np.ones_like(held_out)), ("held-out", held_out)):
            if mask.sum() < 3:
                continue
            r, unexplained = explained(error[mask], bsse[mask])
            print(f"{path.removesuffix('/model.pt').split('models/')[-1]:>40} {subset:>8} {np.sqrt(np.mean(error[mask] ** 2)):6.2f} {r:+11.2f} {unexplained:16.2f}")


if __name__ == "__main__":
    main()
