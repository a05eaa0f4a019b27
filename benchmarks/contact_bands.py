"""Error of E_int by the number of close intermolecular contacts: where each model kind fails.

For every cluster of a held-out structure file, counts the intermolecular atom pairs closer than
``--contact-A`` (default 3 A) and reports, per validation CSV of ``pinnff validate`` (one model each),
the RMSE (kcal/mol) against the clean DFT labels in bands of that count.

    python benchmarks/contact_bands.py --structures results/splits/set_A/test.extxyz \\
        --set set_A results/validation/{pinn,physics,ml}/A/sigma0/tabu-adam/seed0.csv
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

BANDS = ((0, 4), (5, 14), (15, 10**9))


def close_pairs(path: str, contact_A: float) -> dict[str, int]:
    """Intermolecular atom pairs closer than ``contact_A`` per sample id of a structure file."""
    from pinnff.io.structures import read_structures

    out = {}
    for atoms in read_structures(path):
        mol_id = atoms.arrays["mol_id"]
        distances = atoms.get_all_distances()
        other = mol_id[:, None] != mol_id[None, :]
        out[atoms.info["sample_id"]] = int(np.triu((distances < contact_A) & other, 1).sum())
    return out


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", nargs="+", help="validation CSVs (pinnff validate)")
    parser.add_argument("--structures", required=True, help="the held-out structure file the CSVs scored")
    parser.add_argument("--set", required=True, help="its set name in the CSVs (e.g. set_A)")
    parser.add_argument("--contact-A", type=float, default=3.0)
    args = parser.parse_args(argv)
    counts = close_pairs(args.structures, args.contact_A)
    rows = []
    for path in args.predictions:
        frame = pd.read_csv(path)
        frame = frame[frame["set"] == args.set].copy()
        frame["close"] = frame["sample_id"].map(counts)
        if frame["close"].isna().any():
            parser.error(f"{path}: samples missing from {args.structures}")
        error = frame["e_int_pred_kcal"] - frame["e_int_ref_kcal"]
        row = {"predictions": path, "all": float(np.sqrt(np.mean(error ** 2))), "n": len(frame)}
        for low, high in BANDS:
            inside = frame["close"].between(low, high)
            label = f"{low}-{high}" if high < 10**9 else f">={low}"
            row[f"{label} (n={int(inside.sum())})"] = float(np.sqrt(np.mean(error[inside] ** 2))) if inside.any() \
                else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return table


if __name__ == "__main__":
    main()
