"""Training set A: neighbouring pairs (and trimers) cut from liquid-like boxes.

Each box packs rigid pool conformers at the liquid density (periodic, see
:mod:`pinnff.chem.packing`), then relaxes them as rigid bodies with MMFF94's
intermolecular terms (:mod:`pinnff.chem.rigid_relax`) so that neighbours sit
at realistic contact distances. Two molecules are neighbours when their closest
atoms (minimum image) are nearer than ``neighbour_contact_A``. Pairs and
trimers are cut out with the periodic images chosen to keep them together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from pinnff.chem import molecule
from pinnff.chem.packing import box_edge_A, relaxed_liquid
from pinnff.geometry import center_of_mass, min_contact, minimum_image

log = logging.getLogger(__name__)


@dataclass
class LiquidCluster:
    """Molecules cut from a box: positions per molecule and their pool conformers."""

    positions: list[np.ndarray]
    conformer_ids: list[int]


def _neighbour_graph(molecules: list[np.ndarray], masses: np.ndarray, box_A: float, contact_A: float):
    """Image shifts (n, n, 3) bringing j next to i, and the neighbour matrix (n, n)."""
    coms = np.array([center_of_mass(m, masses) for m in molecules])
    shifts = minimum_image(coms[None, :, :] - coms[:, None, :], box_A) - (coms[None, :, :] - coms[:, None, :])
    n = len(molecules)
    neighbours = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            contact = min_contact(molecules[i], molecules[j] + shifts[i, j])
            neighbours[i, j] = neighbours[j, i] = contact < contact_A
    return shifts, neighbours


def liquid_clusters(smiles: str, pool: list[np.ndarray], n_boxes: int, molecules_per_box: int,
                    density_g_cm3: float, tolerance_A: float, neighbour_contact_A: float,
                    pairs_per_box: int, trimers_per_box: int, seed: int, relax_iterations: int) -> tuple[list[LiquidCluster], list[LiquidCluster]]:
    """Neighbouring pairs and trimers from ``n_boxes`` independent packed boxes.

    ``relax_iterations`` L-BFGS iterations of rigid-body relaxation (0: none).
    At most ``pairs_per_box`` pairs and ``trimers_per_box`` mutually
    neighbouring trimers are drawn at random from each box, so that samples
    come from many independent configurations. Returns ``(pairs, trimers)``.
    """
    rng = np.random.default_rng(seed)
    from ase import Atoms

    masses = Atoms(molecule.symbols(smiles)).get_masses()
    box_A = box_edge_A(molecules_per_box, molecule.molar_mass(smiles), density_g_cm3)
    pairs, trimers = [], []
    for _ in tqdm(range(n_boxes), desc="liquid boxes", unit="box"):
        conformer_ids = rng.integers(0, len(pool), molecules_per_box)
        molecules, placed_ids = relaxed_liquid(smiles, pool, conformer_ids, box_A, tolerance_A, int(rng.integers(1, 2**31 - 1)),
                                   relax_iterations)
        shifts, neighbours = _neighbour_graph(molecules, masses, box_A, neighbour_contact_A)
        candidates = np.argwhere(np.triu(neighbours, 1))
        for i, j in candidates[rng.permutation(len(candidates))[:pairs_per_box]]:
            pairs.append(LiquidCluster([molecules[i], molecules[j] + shifts[i, j]],
                                       [int(placed_ids[i]), int(placed_ids[j])]))
        triples = [(i, j, k) for i, j in candidates for k in range(j + 1, len(molecules))
                   if neighbours[i, k] and neighbours[j, k]
                   and min_contact(molecules[j] + shifts[i, j], molecules[k] + shifts[i, k]) < neighbour_contact_A]
        for t in rng.permutation(len(triples))[:trimers_per_box]:
            i, j, k = triples[t]
            trimers.append(LiquidCluster([molecules[i], molecules[j] + shifts[i, j], molecules[k] + shifts[i, k]],
                                         [int(placed_ids[c]) for c in (i, j, k)]))
    log.info("liquid: box edge %.2f A, %d pairs, %d trimers from %d boxes", box_A, len(pairs), len(trimers), n_boxes)
    return pairs, trimers
