"""Intermolecular RDF: ideal gas gives g = 1; same-molecule pairs are left out."""

import numpy as np
import pytest
from ase import Atoms

from pinnff.analysis.rdf import intermolecular_rdf


def ideal_gas(n: int, edge: float, seed: int, bonded: bool) -> Atoms:
    """``n`` uniformly random O atoms; with ``bonded`` each has a partner 1.0 A away in the same molecule."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, edge, (n, 3))
    mol_id = np.arange(n)
    if bonded:
        x = np.concatenate([x, x + [1.0, 0.0, 0.0]])
        mol_id = np.concatenate([mol_id, mol_id])
    atoms = Atoms("O" * len(x), positions=x, cell=[edge] * 3, pbc=True)
    atoms.arrays["mol_id"] = mol_id
    return atoms


def test_ideal_gas_has_g_equal_one():
    frames = [ideal_gas(1500, 25.0, seed, bonded=False) for seed in range(4)]
    r, g = intermolecular_rdf(frames, "O", "O", 10.0, n_bins=20)
    assert r[0] == pytest.approx(0.25) and r[-1] == pytest.approx(9.75)
    assert np.mean(g[4:]) == pytest.approx(1.0, abs=0.01)
    assert np.abs(g[4:] - 1.0).max() < 0.06


def test_pairs_within_a_molecule_are_excluded():
    frames = [ideal_gas(600, 20.0, seed, bonded=True) for seed in range(3)]
    r, g = intermolecular_rdf(frames, "O", "O", 6.0, n_bins=60)
    at_bond = np.argmin(np.abs(r - 1.0))
    assert g[at_bond] == pytest.approx(1.0, abs=0.25)  # only the random intermolecular pairs remain
    assert np.mean(g[20:]) == pytest.approx(1.0, abs=0.03)


def test_range_beyond_half_the_box_is_refused():
    with pytest.raises(ValueError, match="half the cell"):
        intermolecular_rdf([ideal_gas(10, 10.0, 0, bonded=False)], "O", "O", 6.0)
