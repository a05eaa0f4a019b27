"""Site-site radial distribution functions of a molecular liquid (intermolecular pairs)."""

from __future__ import annotations

import numpy as np

from pinnff.analysis.msd import minimum_image_displacement, perpendicular_widths


def intermolecular_rdf(frames: list, element_a: str, element_b: str, r_max_A: float, n_bins: int = 100,
                       mol_id_key: str = "mol_id") -> tuple[np.ndarray, np.ndarray]:
    """g(r) between atoms of ``element_a`` and ``element_b`` in different molecules.

    ``frames``: periodic :class:`ase.Atoms` with a per-atom ``mol_id`` array;
    minimum-image distances, so ``r_max_A`` must not exceed half the smallest
    perpendicular cell width. Normalized by the ideal-gas count of
    intermolecular pairs at each frame's density, so g -> 1 at long range.
    Returns bin centres (A) and g(r), both ``(n_bins,)``.
    """
    edges = np.linspace(0.0, r_max_A, n_bins + 1)
    counts = np.zeros(n_bins)
    ideal = np.zeros(n_bins)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    for atoms in frames:
        cell = atoms.cell.array
        if r_max_A > 0.5 * perpendicular_widths(cell).min() + 1e-9:
            raise ValueError(f"rdf range {r_max_A} A exceeds half the cell width")
        symbols = np.array(atoms.get_chemical_symbols())
        mol_id = atoms.arrays[mol_id_key]
        a, b = np.flatnonzero(symbols == element_a), np.flatnonzero(symbols == element_b)
        delta = minimum_image_displacement(atoms.positions[b][None, :, :] - atoms.positions[a][:, None, :], cell)
        distance = np.linalg.norm(delta, axis=-1)
        other = mol_id[a][:, None] != mol_id[b][None, :]
        counts += np.histogram(distance[other], bins=edges)[0]
        n_pairs = other.sum()
        ideal += n_pairs / atoms.get_volume() * shell
    centres = 0.5 * (edges[1:] + edges[:-1])
    return centres, np.divide(counts, ideal, out=np.zeros(n_bins), where=ideal > 0)
