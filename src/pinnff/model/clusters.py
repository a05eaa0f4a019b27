"""Labelled clusters as tensors: what models take (``prepare``), training and validation read.

A :class:`Cluster` holds one labelled structure of whole molecules: positions
``(n, 3)`` Angstrom, atomic numbers ``(n,)``, molecule index ``(n,)`` and the
interaction-energy target in kcal/mol (noisy for noisy training files) with
its clean value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from pinnff.errors import InputError
from pinnff.io.structures import read_structures


@dataclass
class Cluster:
    """One labelled cluster (tensors on CPU)."""

    sample_id: str
    positions: torch.Tensor  # (n, 3) Angstrom
    numbers: torch.Tensor  # (n,) atomic numbers
    mol_id: torch.Tensor  # (n,) molecule index, 0-based
    e_int_kcal: float  # training target (may carry noise)
    e_int_clean_kcal: float  # the clean label

    def monomers(self) -> list[torch.Tensor]:
        """Boolean atom masks ``(n,)`` of each molecule."""
        return [self.mol_id == m for m in torch.unique(self.mol_id)]


def load_clusters(path: str | Path, dtype: torch.dtype = torch.float64) -> list[Cluster]:
    """Successfully labelled clusters (two or more molecules) of a structure file."""
    clusters = []
    for atoms in read_structures(path):
        if atoms.info.get("label_status") != "ok" or atoms.info["n_molecules"] < 2:
            continue
        if "e_int_kcal" not in atoms.info:
            raise InputError(f"{path}: sample {atoms.info['sample_id']} has no e_int_kcal")
        e_int = float(atoms.info["e_int_kcal"])
        clusters.append(Cluster(
            sample_id=atoms.info["sample_id"],
            positions=torch.tensor(atoms.positions, dtype=dtype),
            numbers=torch.tensor(atoms.numbers, dtype=torch.long),
            mol_id=torch.tensor(atoms.arrays["mol_id"], dtype=torch.long),
            e_int_kcal=e_int,
            e_int_clean_kcal=float(atoms.info.get("e_int_clean_kcal", e_int)),
        ))
    return clusters

