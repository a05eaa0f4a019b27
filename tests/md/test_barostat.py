"""Monte Carlo barostat: ideal-gas volume distribution, one move checked by hand, rigid molecules, resuming."""

import math

import numpy as np
import pytest
import torch

from pinnff.md.barostat import ATM_A3_IN_KCAL_PER_MOL, BOLTZMANN_KCAL_PER_MOL_K, MonteCarloBarostat


def _dimers(n_molecules, box_A, seed):
    """``n_molecules`` rigid diatomics (C-O, 1.2 A) at random places: positions, cell, mol_id, masses."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, box_A, size=(n_molecules, 3))
    axes = rng.normal(size=(n_molecules, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    positions = np.concatenate([centres[:, None] - 0.6 * axes[:, None], centres[:, None] + 0.6 * axes[:, None]],
                               axis=1).reshape(-1, 3)
    return (torch.tensor(positions), torch.eye(3, dtype=torch.float64) * box_A,
            np.repeat(np.arange(n_molecules), 2), np.tile([12.011, 15.999], n_molecules))


def test_constants():
    # 101325 Pa * 1e-30 m^3 * 6.02214076e23 / 4184 J/kcal, and R / 4184
    assert ATM_A3_IN_KCAL_PER_MOL == pytest.approx(1.4583972e-5, rel=1e-7)
    assert BOLTZMANN_KCAL_PER_MOL_K == pytest.approx(0.0019872043, rel=1e-7)


def test_ideal_gas_samples_the_isobaric_volume_distribution():
    n_mol = 20
    kT_over_P = BOLTZMANN_KCAL_PER_MOL_K * 298.15 / ATM_A3_IN_KCAL_PER_MOL  # A^3
    box = ((n_mol + 1) * kT_over_P) ** (1 / 3)
    positions, cell, mol_id, masses = _dimers(n_mol, box, seed=1)
    barostat = MonteCarloBarostat(mol_id, masses, initial_step=0.05, max_step=2.0, seed=7)
    energy, volumes = 0.0, []
    for k in range(12000):
        positions, cell, energy, _ = barostat.attempt(positions, cell, lambda p, c: 0.0, energy)
        if k >= 1000:
            volumes.append(float(torch.linalg.det(cell)))
    volumes = np.array(volumes)
    # Gamma(N + 1, kT/P): mean (N + 1) kT / P, variance (N + 1) (kT/P)^2
    assert volumes.mean() == pytest.approx((n_mol + 1) * kT_over_P, rel=0.025)  # N kT/P would be 4.8 % low
    assert volumes.var() == pytest.approx((n_mol + 1) * kT_over_P**2, rel=0.2)
    assert 0.28 <= barostat.acceptance_rate <= 0.52


def _coulomb_like(positions, mol_id):
    """Sum of 1/r over atom pairs in different molecules (no periodic images), kcal/mol, in numpy."""
    p = np.asarray(positions, dtype=float)
    r = np.linalg.norm(p[:, None] - p[None], axis=-1)
    other = mol_id[:, None] != mol_id[None]
    return float(np.sum(np.triu(1.0 / np.where(other, r, np.inf), 1)))


def test_one_move_accepted_exactly_as_computed_by_hand():
    positions, cell, mol_id, masses = _dimers(6, 8.0, seed=3)
    energy_fn = lambda p, c: torch.tensor(_coulomb_like(p.numpy(), mol_id), dtype=torch.float64)  # noqa: E731
    u0 = _coulomb_like(positions.numpy(), mol_id)
    kT = BOLTZMANN_KCAL_PER_MOL_K * 298.15
    pressure = 2000.0 * ATM_A3_IN_KCAL_PER_MOL
    outcomes = set()
    for seed in range(12):
        barostat = MonteCarloBarostat(mol_id, masses, pressure_atm=2000.0, initial_step=0.3, max_step=0.3, seed=seed)
        new_p, new_c, new_e, accepted = barostat.attempt(positions, cell, energy_fn, u0)
        # the same two draws, and the move done independently in numpy
        rng = np.random.default_rng(seed)
        delta, u = rng.uniform(-0.3, 0.3), rng.uniform()
        s = math.exp(delta / 3)
        p = positions.numpy()
        com = np.array([masses[mol_id == m] @ p[mol_id == m] / masses[mol_id == m].sum() for m in range(6)])
        moved = p + (s - 1) * com[mol_id]
        w = _coulomb_like(moved, mol_id) - u0 + pressure * 512.0 * (math.exp(delta) - 1) - 7 * kT * delta
        assert accepted == (w <= 0 or u < math.exp(-w / kT))
        outcomes.add(accepted)
        if accepted:
            np.testing.assert_allclose(new_p.numpy(), moved, atol=1e-12)
            np.testing.assert_allclose(new_c.numpy(), np.eye(3) * 8.0 * s, atol=1e-12)
            assert new_e == pytest.approx(_coulomb_like(moved, mol_id), rel=1e-12)
            bonds = np.linalg.norm(moved[1::2] - moved[::2], axis=1)
            np.testing.assert_allclose(bonds, 1.2, atol=1e-12)  # molecules moved rigidly
        else:
            assert new_p is positions and new_e == u0
    assert outcomes == {True, False}


def test_state_dict_resumes_the_same_sequence():
    positions, cell, mol_id, masses = _dimers(4, 20.0, seed=5)
    first = MonteCarloBarostat(mol_id, masses, seed=11)
    for _ in range(15):
        positions, cell, _, _ = first.attempt(positions, cell, lambda p, c: 0.0, 0.0)
    state = first.state_dict()
    second = MonteCarloBarostat(mol_id, masses, seed=999)
    second.load_state_dict(state)
    a = first.attempt(positions, cell, lambda p, c: 0.0, 0.0)
    b = second.attempt(positions, cell, lambda p, c: 0.0, 0.0)
    assert torch.equal(a[1], b[1]) and second.n_attempted == first.n_attempted and second.step == first.step
