"""Curation: conformer pool, placements, liquid pairs, rigid relaxation, duplicates."""

import numpy as np
import pytest
import torch
from ase import Atoms

from pinnff.chem import molecule
from pinnff.curate.filters import drop_duplicates, fingerprint
from pinnff.curate.frames import assign_splits, cluster_frame
from pinnff.curate.placement import dissociation_scan, distance_for_contact, random_dimer
from pinnff.geometry import center_of_mass, kabsch_rmsd, min_contact, random_rotation

SMILES = "COCCOCCOC"  # DEGDME, the molecule of the study


def test_pool_conformers_are_distinct_and_centred(pool_frames):
    heavy = np.array([s != "H" for s in molecule.symbols(SMILES)])
    assert len(pool_frames) == 6
    for i, a in enumerate(pool_frames):
        np.testing.assert_allclose(a.get_center_of_mass(), 0.0, atol=1e-9)
        for b in pool_frames[i + 1 :]:
            assert kabsch_rmsd(a.positions[heavy], b.positions[heavy]) >= 0.5
    energies = [molecule.mmff_energy(SMILES, a.positions) for a in pool_frames]
    assert energies == sorted(energies)


def test_contact_placement_hits_its_target(pool, rng):
    first, second = pool[0], pool[1] @ random_rotation(rng).T
    direction = np.array([0.0, 0.6, 0.8])
    t = distance_for_contact(first, second, direction, 2.3)
    assert min_contact(first, second + t * direction) == pytest.approx(2.3, abs=1e-3)
    # the first crossing from outside: every farther point is farther than the target
    for farther in np.linspace(t + 0.01, 30, 50):
        assert min_contact(first, second + farther * direction) >= 2.3 - 1e-3


def test_random_dimers_respect_their_ranges(pool, rng):
    for _ in range(10):
        (a, b), ids = random_dimer(pool, rng, contact_range_A=(1.5, 1.8))
        assert 1.5 - 1e-3 <= min_contact(a, b) <= 1.8 + 1e-3
        assert kabsch_rmsd(a, pool[ids[0]]) < 1e-9 and kabsch_rmsd(b, pool[ids[1]]) < 1e-9
        (a, b), _ = random_dimer(pool, rng, com_range_A=(5.0, 8.0), contact_range_A=(2.0, 4.5))
        masses = Atoms(molecule.symbols(SMILES)).get_masses()
        com_distance = np.linalg.norm(center_of_mass(b, masses) - center_of_mass(a, masses))
        assert 5.0 - 1e-9 <= com_distance <= 8.0 + 1e-9
        assert 2.0 <= min_contact(a, b) <= 4.5


def test_scan_moves_along_the_com_axis(pool):
    masses = Atoms(molecule.symbols(SMILES)).get_masses()
    first, second = pool[0], pool[1] + np.array([0.0, 0.0, 8.0])
    points = dissociation_scan(first, second, np.linspace(-1.0, 3.0, 5), 1.0, masses)
    coms = [(m @ p[1]) / m.sum() for (_, p), m in zip(points, [masses] * len(points))]
    gaps = np.diff([c[2] for c in coms])
    np.testing.assert_allclose(gaps, 1.0, atol=1e-9)


def test_splits_have_the_requested_counts(rng):
    roles = assign_splits(100, 15, 10, rng)
    assert roles.count("val") == 15 and roles.count("test") == 10 and roles.count("train") == 75
    assert roles[:50].count("train") < 50  # interleaved, not blocked


def test_fingerprint_ignores_rigid_motion_and_atom_order(pool, rng):
    a = cluster_frame(SMILES, [pool[0], pool[1] + 6.0], "x-0", "random", "train", [0, 1])
    moved = a.copy()
    moved.positions = moved.positions @ random_rotation(rng).T + 3.0
    permuted = moved[rng.permutation(len(moved))]
    other = cluster_frame(SMILES, [pool[0], pool[1] + 6.5], "x-1", "random", "train", [0, 1])
    assert fingerprint(a) == fingerprint(moved) == fingerprint(permuted) != fingerprint(other)
    assert len(drop_duplicates([a, moved, other, permuted], set())) == 2


def test_rigid_relaxation_lowers_energy_keeps_molecules_rigid(pool):
    from pinnff.chem.packing import box_edge_A, exact_copies, pack_box
    from pinnff.chem.rigid_relax import relax_rigid

    box_A = box_edge_A(8, molecule.molar_mass(SMILES), 0.94)
    box = pack_box(molecule.symbols(SMILES), pool, np.arange(8) % len(pool), box_A, 2.0, seed=7)
    molecules = exact_copies(box, pool)
    relaxed, before, after = relax_rigid(molecules, SMILES, box_A, max_iter=60)
    assert after < before
    for placed, conformer in zip(relaxed, box.conformer_ids):
        assert kabsch_rmsd(placed, pool[conformer]) < 1e-9


def test_md_box_has_the_target_density_and_whole_molecules(pool):
    from pinnff.md.box import liquid_box
    from pinnff.units import AVOGADRO

    atoms = liquid_box(SMILES, pool, n_molecules=6, density_g_cm3=0.94, seed=2, relax_iterations=20)
    density = atoms.get_masses().sum() / AVOGADRO / (atoms.get_volume() * 1e-24)
    assert density == pytest.approx(0.94, rel=1e-9)
    for m in range(6):
        positions = atoms.positions[atoms.arrays["mol_id"] == m]
        assert min(kabsch_rmsd(positions, conformer) for conformer in pool) < 1e-9


def test_intermolecular_energy_gradient_matches_finite_differences(pool):
    from pinnff.chem.rigid_relax import IntermolecularPairs, intermolecular_energy, mmff_pair_tables

    pairs = IntermolecularPairs.of(2, 23, *(torch.tensor(t) for t in mmff_pair_tables(SMILES)))
    x = torch.tensor(np.concatenate([pool[0], pool[1] + np.array([0.0, 0.0, 6.0])]), requires_grad=True)
    energy = intermolecular_energy(x, pairs, box_A=100.0, cutoff_A=50.0)
    (grad,) = torch.autograd.grad(energy, x)
    h = 1e-5
    for atom, axis in [(0, 0), (30, 2), (45, 1)]:
        plus, minus = x.detach().clone(), x.detach().clone()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        fd = (intermolecular_energy(plus, pairs, 100.0, 50.0)
              - intermolecular_energy(minus, pairs, 100.0, 50.0)) / (2 * h)
        assert float(grad[atom, axis]) == pytest.approx(float(fd), rel=1e-5, abs=1e-7)


def test_liquid_pairs_are_neighbours_made_of_pool_copies(pool):
    from pinnff.curate.liquid import liquid_clusters

    pairs, trimers = liquid_clusters(SMILES, pool, n_boxes=1, molecules_per_box=10, density_g_cm3=0.94,
                                     tolerance_A=2.0, neighbour_contact_A=3.0, pairs_per_box=5,
                                     trimers_per_box=2, seed=5, relax_iterations=30)
    assert len(pairs) == 5
    for cluster in pairs + trimers:
        for positions, conformer in zip(cluster.positions, cluster.conformer_ids):
            assert kabsch_rmsd(positions, pool[conformer]) < 1e-9
        first, *others = cluster.positions
        assert min(min_contact(first, other) for other in others) < 3.0
