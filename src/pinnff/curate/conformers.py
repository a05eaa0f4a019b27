"""The conformer pool: distinct low-energy monomer conformations.

Every dimer and trimer is built from rigid copies of pool conformers, so each
monomer energy is computed once per pool conformer and reused.
"""

from __future__ import annotations

import logging

import numpy as np

from pinnff.chem import molecule
from pinnff.curate.frames import assign_splits, cluster_frame
from pinnff.geometry import kabsch_rmsd

log = logging.getLogger(__name__)


def conformer_pool(smiles: str, n_embed: int, seed: int, rmsd_threshold_A: float,
                   energy_window_kcal: float, max_count: int) -> list:
    """Distinct MMFF94-relaxed conformers, lowest energy first.

    ETKDG embeds ``n_embed`` conformers, MMFF94 relaxes them; those more than
    ``energy_window_kcal`` above the lowest are dropped; a conformer is kept
    only if its heavy-atom RMSD (after superposition) to every kept one is
    at least ``rmsd_threshold_A``; at most ``max_count`` are kept. Each frame
    is centred at its centre of mass.
    """
    positions, energies = molecule.embed_relaxed_conformers(smiles, n_embed, seed)
    heavy = np.array([s != "H" for s in molecule.symbols(smiles)])
    kept: list[int] = []
    for index in np.argsort(energies):
        if energies[index] - energies.min() > energy_window_kcal or len(kept) == max_count:
            break
        if all(kabsch_rmsd(positions[index][heavy], positions[k][heavy]) >= rmsd_threshold_A for k in kept):
            kept.append(int(index))
    log.info("conformer pool: %d kept of %d embedded", len(kept), len(positions))
    frames = []
    for rank, index in enumerate(kept):
        frame = cluster_frame(smiles, [positions[index]], f"conf-{rank:03d}", "conformer", "pool", [rank])
        frame.positions -= frame.get_center_of_mass()
        frames.append(frame)
    return frames


def monomer_conformations(smiles: str, count: int, seed: int, displacement_A: float,
                          n_val: int, n_test: int) -> list:
    """Monomer geometries for the intramolecular fit: relaxed conformers, thermally displaced.

    ``count`` ETKDG conformers are MMFF94-relaxed, then every atom is moved by
    isotropic Gaussian noise of standard deviation ``displacement_A`` so that
    the set samples forces away from minima. Roles are assigned at random.
    """
    rng = np.random.default_rng(seed)
    positions, _ = molecule.embed_relaxed_conformers(smiles, count, seed)
    roles = assign_splits(len(positions), n_val, n_test, rng)
    frames = []
    for index, (xyz, role) in enumerate(zip(positions, roles)):
        displaced = xyz + rng.normal(scale=displacement_A, size=xyz.shape)
        frames.append(cluster_frame(smiles, [displaced - displaced.mean(axis=0)], f"mono-{index:04d}",
                                    "monomer", role, [-1]))
    return frames
