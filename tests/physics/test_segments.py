"""A batch of independent structures gives each structure's own energy (the training path)."""

import numpy as np
import pytest
import torch

from helpers import degdme_dimer, random_multipoles
from pinnff.physics import PhysicsSettings, PolarizationSettings, degdme_topology, prior_parameters, total_energy
from pinnff.physics.pairs import build_pairs, segment_pairs


def test_segment_pairs_lists_every_pair_inside_each_segment_once():
    pairs, segments = segment_pairs([3, 2, 3])
    got = sorted(zip(pairs.i.tolist(), pairs.j.tolist()))
    expected = [(0, 1), (0, 2), (1, 2), (3, 4), (5, 6), (5, 7), (6, 7)]
    assert got == expected
    assert segments.index.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert segments.size == 3


@pytest.mark.parametrize("solver", ["mutual", "extrapolated", "direct"])
def test_batched_energies_equal_separate_evaluations(solver):
    """Dimer, then its two monomers, then the dimer again shifted: per-segment energies and
    their parameter gradients equal those of separate calls."""
    dimer = torch.tensor(degdme_dimer())
    params1 = random_multipoles(prior_parameters(1), seed=3)
    params2 = {k: torch.cat([v, v]) for k, v in params1.items()}
    settings = PhysicsSettings(polarization=PolarizationSettings(solver=solver, tol=1e-10))
    blocks = [dimer, dimer[:23], dimer[23:], dimer + torch.tensor([5.0, -3.0, 40.0])]
    sizes = [46, 23, 23, 46]
    positions = torch.cat(blocks)
    topology = degdme_topology(6)
    alpha = params1["polarizability"].clone().requires_grad_(True)
    batch_params = {k: torch.cat([v] * 6) for k, v in params1.items()}
    batch_params["polarizability"] = alpha.repeat(6)
    pairs, segments = segment_pairs(sizes)
    batched, parts = total_energy(positions, topology, batch_params, settings=settings, pairs=pairs,
                                  segments=segments)
    assert batched.shape == (4,) and all(p.shape == (4,) for p in parts.values())
    (grad_batched,) = torch.autograd.grad(batched[0] - batched[1] - batched[2], alpha)

    separate = []
    alpha_ref = params1["polarizability"].clone().requires_grad_(True)
    for block, n_mol in zip(blocks, (2, 1, 1, 2)):
        p = dict(params2 if n_mol == 2 else params1)
        p["polarizability"] = alpha_ref.repeat(n_mol)
        separate.append(total_energy(block, degdme_topology(n_mol), p, settings=settings)[0])
    (grad_separate,) = torch.autograd.grad(separate[0] - separate[1] - separate[2], alpha_ref)
    np.testing.assert_allclose(batched.detach().numpy(), torch.stack(separate).detach().numpy(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(grad_batched.numpy(), grad_separate.numpy(), rtol=1e-6, atol=1e-8)
    assert abs(float((separate[0] - separate[3]).detach())) < 1e-8  # translation invariance of the shifted copy


def test_intermolecular_pairs_alone_give_the_pairwise_part_of_the_interaction_energy():
    """For pairwise-additive terms E(dimer) - E(A) - E(B) is the sum over intermolecular pairs."""
    positions = torch.tensor(degdme_dimer())
    params = random_multipoles(prior_parameters(2), seed=1)
    settings = PhysicsSettings(terms=("multipole", "vdw", "charge_transfer"))
    full = total_energy(positions, degdme_topology(2), params, settings=settings)[0]
    monomers = sum(total_energy(positions[s], degdme_topology(1), {k: v[s] for k, v in params.items()},
                                settings=settings)[0] for s in (slice(0, 23), slice(23, 46)))
    pairs = build_pairs(positions)
    inter = pairs.select((pairs.i < 23) & (pairs.j >= 23))
    only_inter = total_energy(positions, degdme_topology(2), params, settings=settings, pairs=inter)[0]
    assert abs(float(full - monomers - only_inter)) < 1e-9
