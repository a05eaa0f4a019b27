"""``pinnff evaluate MODEL STRUCTURES --out PRED.csv``: E_int of any structures of whole molecules.

STRUCTURES is any file ASE reads (extended XYZ, plain XYZ, ASE trajectories,
...). Molecules come from the per-atom ``mol_id`` array when present, else
from bonding; atoms may be in any order (each molecule is matched onto the
template by its bond graph). PRED.csv has one row per structure with
``e_int_pred_kcal`` and, when the file carries ``e_int_kcal``, ``e_int_ref_kcal``.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def predict(model, frames: list, smiles: str, where: str) -> list[dict]:
    """One result dict per frame: index, n_molecules, e_int_pred_kcal (and e_int_ref_kcal)."""
    import numpy as np
    import torch

    from pinnff.chem.molecule import symbols
    from pinnff.chem.topology import template_order
    from pinnff.model.clusters import Cluster

    dtype = next(model.parameters()).dtype
    rows, clusters = [], []
    n_template = len(symbols(smiles))
    for index, atoms in enumerate(frames):
        order = template_order(atoms, smiles, where=f"{where} frame {index}")
        ordered = atoms[order]
        mol_id = np.repeat(np.arange(len(ordered) // n_template), n_template)
        clusters.append(Cluster(str(index), torch.tensor(ordered.positions, dtype=dtype),
                                torch.tensor(ordered.numbers), torch.tensor(mol_id), float("nan"), float("nan")))
        row = {"index": index, "n_molecules": int(mol_id.max()) + 1}
        if "e_int_kcal" in atoms.info:
            row["e_int_ref_kcal"] = float(atoms.info["e_int_kcal"])
        rows.append(row)
    with torch.no_grad():
        predicted = model.interaction_energies(model.prepare(clusters))
    for row, value in zip(rows, predicted.tolist()):
        row["e_int_pred_kcal"] = value
    return rows


def _run(args) -> None:
    import pandas as pd
    from ase.io import read

    from pinnff.errors import InputError
    from pinnff.io.atomic import write_text
    from pinnff.model.store import load_checkpoint

    model, metadata = load_checkpoint(args.model)
    try:
        frames = read(args.structures, index=":")
    except FileNotFoundError:
        raise InputError(f"{args.structures}: no such file") from None
    except Exception as exc:
        raise InputError(f"{args.structures}: not readable by ASE ({exc})") from None
    rows = predict(model, frames, args.smiles, str(args.structures))
    columns = ["index", "n_molecules", "e_int_pred_kcal"] + (["e_int_ref_kcal"] if any("e_int_ref_kcal" in r for r in rows) else [])
    table = pd.DataFrame(rows)[columns]
    write_text(args.out, table.to_csv(index=False))
    log.info("%d structures -> %s (model %s trained on %s)", len(rows), args.out, metadata.get("model"),
             metadata.get("train_file"))


def add_parser(subparsers) -> None:
    """Register ``pinnff evaluate``."""
    p = subparsers.add_parser("evaluate", help="predict E_int for structures of whole molecules")
    p.add_argument("model", help="checkpoint from `pinnff train`")
    p.add_argument("structures", help="any ASE-readable file")
    p.add_argument("--smiles", default="COCCOCCOC", help="the molecule the model was trained for")
    p.add_argument("--out", required=True, help="PRED.csv")
    p.set_defaults(func=_run)
