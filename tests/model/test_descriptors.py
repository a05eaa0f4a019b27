"""Symmetry-function descriptors: analytic values, invariances, finite-difference gradients, smooth cutoff."""

import math

import numpy as np
import pytest
import torch

from pinnff.errors import InputError
from pinnff.geometry import random_rotation
from pinnff.model.descriptors import DescriptorConfig, SymmetryFunctions, cosine_cutoff

SMILES = "COCCOCCOC"


@pytest.fixture(scope="module")
def numbers():
    from pinnff.chem.molecule import template

    return torch.tensor([atom.GetAtomicNum() for atom in template(SMILES).GetAtoms()])


@pytest.fixture(scope="module")
def dimer(pool, numbers):
    """Two DEGDME conformers ~4.5 A apart: positions (46, 3), numbers (46,), mol_id (46,)."""
    positions = np.concatenate([pool[0], pool[1] + np.array([4.5, 0.0, 0.0])])
    return torch.tensor(positions), torch.cat([numbers, numbers]), torch.repeat_interleave(torch.arange(2), 23)


def test_two_atom_radial_values_match_formula():
    cfg = DescriptorConfig()
    sf = SymmetryFunctions(cfg)
    r = 1.3
    pos = torch.tensor([[0.0, 0.0, 0.0], [r, 0.0, 0.0]], dtype=torch.float64)
    d = sf(pos, torch.tensor([1, 8]))
    centres = np.linspace(cfg.radial_start, cfg.radial_cutoff, cfg.radial_shells, endpoint=False)
    expected = np.exp(-cfg.radial_eta * (r - centres) ** 2) * 0.5 * (math.cos(math.pi * r / cfg.radial_cutoff) + 1)
    shells = cfg.radial_shells
    # atom 0 is H and sees an O (block 2); atom 1 is O and sees an H (block 0)
    np.testing.assert_allclose(d[0, 2 * shells : 3 * shells].numpy(), expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d[1, 0:shells].numpy(), expected, rtol=1e-13, atol=1e-15)
    assert float(d[0, : 2 * shells].abs().sum()) == 0.0
    assert float(d[:, sf.n_radial :].abs().sum()) == 0.0  # no angle with one neighbour


def test_three_atom_angular_value_matches_formula():
    cfg = DescriptorConfig(zetas=(1.0, 4.0), lambdas=(1.0, -1.0))
    sf = SymmetryFunctions(cfg)
    r1, r2, theta = 1.1, 1.4, math.radians(104.0)
    pos = torch.tensor([[0, 0, 0], [r1, 0, 0], [r2 * math.cos(theta), r2 * math.sin(theta), 0]], dtype=torch.float64)
    d = sf(pos, torch.tensor([8, 1, 6]))  # centre O, neighbours H and C
    centres = np.linspace(cfg.angular_start, cfg.angular_cutoff, cfg.angular_shells, endpoint=False)
    fc = lambda r: 0.5 * (math.cos(math.pi * r / cfg.angular_cutoff) + 1)  # noqa: E731
    radial = np.exp(-cfg.angular_eta * ((r1 + r2) / 2 - centres) ** 2) * fc(r1) * fc(r2)
    expected = np.array(
        [[[radial[s] * 2 ** (1 - z) * (1 + lam * math.cos(theta)) ** z for lam in cfg.lambdas] for z in cfg.zetas] for s in range(len(centres))]
    ).reshape(-1)
    pair = int(sf.pair_index[0, 1])  # (H, C)
    block = d[0, sf.n_radial + pair * sf.n_angular_per_pair : sf.n_radial + (pair + 1) * sf.n_angular_per_pair]
    np.testing.assert_allclose(block.numpy(), expected, rtol=1e-12, atol=1e-15)
    others = torch.cat([d[0, sf.n_radial : sf.n_radial + pair * sf.n_angular_per_pair], d[0, sf.n_radial + (pair + 1) * sf.n_angular_per_pair :]])
    assert float(others.abs().sum()) == 0.0


def test_rotation_translation_invariance(dimer, rng):
    positions, numbers, mol_id = dimer
    sf = SymmetryFunctions()
    reference = sf(positions, numbers, mol_id)
    for _ in range(3):
        rotation = torch.tensor(random_rotation(rng))
        moved = positions @ rotation.T + torch.tensor(rng.normal(scale=10.0, size=3))
        torch.testing.assert_close(sf(moved, numbers, mol_id), reference, rtol=0, atol=1e-11)
        torch.testing.assert_close(sf(moved, numbers), sf(positions, numbers), rtol=0, atol=1e-11)


def test_permutation_equivariance(dimer, rng):
    positions, numbers, mol_id = dimer
    sf = SymmetryFunctions()
    perm = torch.tensor(rng.permutation(len(numbers)))
    for labels in (mol_id, None):
        reference = sf(positions, numbers, labels)
        permuted = sf(positions[perm], numbers[perm], None if labels is None else labels[perm])
        torch.testing.assert_close(permuted, reference[perm], rtol=0, atol=1e-12)


def test_intramolecular_restriction_and_batching(dimer):
    positions, numbers, mol_id = dimer
    sf = SymmetryFunctions()
    both = sf(positions, numbers, mol_id)
    alone = torch.cat([sf(positions[:23], numbers[:23]), sf(positions[23:], numbers[23:])])
    torch.testing.assert_close(both, alone, rtol=0, atol=1e-13)
    # as a batch of two one-molecule clusters: the same again
    torch.testing.assert_close(sf(positions, numbers, cluster=mol_id), alone, rtol=0, atol=1e-13)
    # without restriction the neighbour molecule (4.5 A away) is seen
    assert float((sf(positions, numbers) - both).abs().max()) > 1e-3


def test_minimum_image_matches_unwrapped(pool, numbers):
    sf = SymmetryFunctions()
    positions = torch.tensor(pool[2]) - torch.tensor(pool[2]).mean(0)  # straddles the origin
    box = torch.tensor([24.0, 25.0, 26.0], dtype=torch.float64)  # molecule extent < half a box width
    wrapped = positions - box * torch.floor(positions / box)
    torch.testing.assert_close(sf(wrapped, numbers, cell=box), sf(positions, numbers), rtol=0, atol=1e-11)
    with pytest.raises(InputError, match="half the smallest cell width"):
        sf(wrapped, numbers, cell=torch.tensor([9.0, 14.0, 15.0], dtype=torch.float64))


def test_gradients_match_finite_differences(pool, numbers):
    sf = SymmetryFunctions()
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(3, sf.n_features, generator=generator, dtype=torch.float64)
    positions = torch.tensor(pool[0], requires_grad=True)

    def projected(x):
        return (weights[:, None, :] * sf(x, numbers)[None]).sum(dim=(1, 2))

    assert torch.autograd.gradcheck(projected, (positions,), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_unknown_element_is_rejected():
    with pytest.raises(InputError, match=r"\[17\]"):
        SymmetryFunctions()(torch.zeros(2, 3, dtype=torch.float64) + torch.tensor([[0.0], [1.0]]), torch.tensor([1, 17]))


@pytest.mark.parametrize("which", ["radial", "angular"])
def test_smooth_at_cutoff(which):
    """Value and first derivative go to zero continuously as a neighbour crosses the cutoff."""
    cfg = DescriptorConfig()
    sf = SymmetryFunctions(cfg)
    cutoff = cfg.radial_cutoff if which == "radial" else cfg.angular_cutoff
    projection = torch.randn(sf.n_features, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def energy_and_force(r):
        if which == "radial":
            pos = torch.tensor([[0.0, 0.0, 0.0], [r, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
            numbers = torch.tensor([6, 8])
        else:  # centre O, a fixed H at 1 A, a C moving out through the angular cutoff
            pos = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [r, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
            numbers = torch.tensor([8, 1, 6])
        d = sf(pos, numbers)
        if which == "angular":
            d = d[:, sf.n_radial :]
            value = (d * projection[sf.n_radial :]).sum()
        else:
            value = (d * projection).sum()
        (grad,) = torch.autograd.grad(value, pos)
        return float(value.detach()), float(grad[-1, 0])

    beyond_value, beyond_grad = energy_and_force(cutoff + 1e-9)
    assert beyond_value == 0.0 and beyond_grad == 0.0
    previous = None
    for h in (1e-2, 1e-3, 1e-4):
        value, grad = energy_and_force(cutoff - h)
        # f_c(rc - h) = (pi h / rc)^2 / 4 + O(h^4): value O(h^2), derivative O(h)
        if previous is not None:
            assert abs(value) < abs(previous[0]) / 50 and abs(grad) < abs(previous[1]) / 5
        previous = (value, grad)
    assert abs(previous[0]) < 1e-7 and abs(previous[1]) < 1e-3
    # the exact cutoff function
    rc = 4.0
    r = torch.tensor([rc - 1e-3, rc, rc + 1e-3], dtype=torch.float64)
    np.testing.assert_allclose(cosine_cutoff(r, rc).numpy(), [(math.pi * 1e-3 / rc) ** 2 / 4, 0.0, 0.0], atol=1e-15, rtol=1e-5)
