"""Molecule perception and template ordering for files in any atom order."""

import numpy as np
import pytest

from pinnff.chem.topology import perceive_molecules, template_order
from pinnff.curate.frames import cluster_frame
from pinnff.errors import InputError

SMILES = "COCCOCCOC"  # DEGDME, the molecule of the study


def test_shuffled_dimer_is_restored_to_template_order(pool, rng):
    frame = cluster_frame(SMILES, [pool[0], pool[2] + np.array([0.0, 7.0, 0.0])], "d-0", "random", "test", [0, 2])
    shuffle = rng.permutation(len(frame))
    scrambled = frame[shuffle]
    del scrambled.arrays["mol_id"]
    np.testing.assert_array_equal(np.bincount(perceive_molecules(scrambled)), [23, 23])
    restored = scrambled[template_order(scrambled, SMILES)]
    assert restored.get_chemical_symbols() == frame.get_chemical_symbols()
    # molecules may come out in another order, and symmetry-equivalent atoms (methyl H, the two
    # ends) may swap: each restored molecule has the internal distances of one original molecule
    def signature(x):
        return np.sort(np.linalg.norm(x - x.mean(0), axis=1))

    originals = [signature(frame.positions[23 * m : 23 * (m + 1)]) for m in range(2)]
    for m in range(2):
        b = restored.positions[23 * m : 23 * (m + 1)]
        assert min(np.abs(signature(b) - o).max() for o in originals) < 1e-9
        for i, j in [(0, 1), (1, 2), (2, 3), (3, 4)]:  # C-O, O-C, C-C, C-O bonds of the template
            assert np.linalg.norm(b[i] - b[j]) < 1.6


def test_wrong_molecule_is_rejected(pool):
    from ase.build import molecule

    water = molecule("H2O")
    with pytest.raises(InputError, match="molecule 0"):
        template_order(water, SMILES)
