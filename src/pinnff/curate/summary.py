"""Summary table of curated (or labelled) sets: counts and distance distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd


def summarize(sets: dict[str, list]) -> pd.DataFrame:
    """One row per (set, split): count, COM-distance and closest-contact quantiles (Angstrom),
    and, where labels exist, failed counts and the ranges of E_int and (counterpoise-corrected labels)
    of the BSSE (kcal/mol)."""
    rows = []
    for name, frames in sets.items():
        for split in sorted({f.info["split"] for f in frames}):
            members = [f for f in frames if f.info["split"] == split]
            row = {"set": name, "split": split, "count": len(members)}
            for key, label in (("com_distance_A", "com_A"), ("min_contact_A", "contact_A")):
                values = np.array([f.info[key] for f in members if key in f.info])
                if len(values):
                    row[f"{label}_min"], row[f"{label}_median"], row[f"{label}_max"] = (
                        float(values.min()), float(np.median(values)), float(values.max()))
            statuses = [f.info.get("label_status") for f in members]
            if any(status is not None for status in statuses):
                row["failed"] = sum(status == "failed" for status in statuses)
                for key in ("e_int_kcal", "bsse_kcal"):
                    values = np.array([f.info[key] for f in members if key in f.info])
                    if len(values):
                        row[f"{key}_min"], row[f"{key}_mean"], row[f"{key}_max"] = (
                            float(values.min()), float(values.mean()), float(values.max()))
            rows.append(row)
    return pd.DataFrame(rows).round(3)


def write_summary(table: pd.DataFrame, csv_path, markdown_path) -> None:
    """Write the table as CSV and Markdown, atomically."""
    from pinnff.io.atomic import write_text

    write_text(csv_path, table.to_csv(index=False))
    write_text(markdown_path, table.to_markdown(index=False) + "\n")
