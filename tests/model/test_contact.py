"""The short-range contact correction: zero without contacts, smooth at its cutoff, bounded, invariant,
exact forces, and the same term in the PINN's interaction energies as in the periodic box."""

import numpy as np
import pytest
import torch

from pinnff.errors import InputError
from pinnff.geometry import random_rotation
from pinnff.model.contact import ContactConfig, ContactCorrection
from pinnff.model.physics_potential import PhysicsPotential
from pinnff.physics.pairs import build_pairs
from pinnff.model.clusters import Cluster

from central_differences import assert_gradient_matches_central_differences

SMILES = "COCCOCCOC"


def numbers():
    from ase.data import atomic_numbers

    from pinnff.chem.molecule import symbols

    return torch.tensor([atomic_numbers[s] for s in symbols(SMILES)] * 2)


MOL_ID = torch.repeat_interleave(torch.arange(2), 23)


def active(config: ContactConfig | None = None, seed: int = 0) -> ContactCorrection:
    """A correction with random (non-zero) weights in float64."""
    torch.manual_seed(seed)
    model = ContactCorrection(config or ContactConfig(hidden=(8,), bound=1.5)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 1.0)
    return model


def dimer(pool, shift: float, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    a = pool[0] @ random_rotation(rng).T
    b = pool[1] @ random_rotation(rng).T + [0.0, 0.0, shift]
    return torch.tensor(np.concatenate([a, b]))


def energy(model, x):
    return model(x, numbers(), MOL_ID, build_pairs(x))


def min_contact(x) -> float:
    return float(torch.cdist(x[:23], x[23:]).min())


def test_zero_for_a_fresh_model_and_beyond_the_cutoff(pool):
    x = dimer(pool, 6.0)
    assert min_contact(x) < 3.0
    assert float(energy(ContactCorrection().double(), x)) == 0.0
    far = dimer(pool, 30.0)
    assert float(energy(active(), far)) == 0.0
    assert abs(float(energy(active(), x))) > 1e-2


def test_energy_and_slope_vanish_smoothly_at_the_cutoff():
    """Two atoms (O of two molecules) approaching r_c: E ~ (r_c - r)^2 near it, zero beyond."""
    model = active(ContactConfig(hidden=(8,), bound=1.5, species=(8,)))
    z, mol = torch.tensor([8, 8]), torch.tensor([0, 1])

    def e(r):
        x = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, r]], dtype=torch.float64)
        return float(model(x, z, mol, build_pairs(x)))

    rc = model.config.cutoff
    assert e(rc) == 0.0 and e(rc + 0.5) == 0.0
    ratio = e(rc - 1e-3) / e(rc - 2e-3)
    assert ratio == pytest.approx(0.25, rel=0.01)


def test_forces_are_the_exact_gradient(pool):
    model = active()
    x = dimer(pool, 6.0).requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(model, x), x)
    rng = np.random.default_rng(3)
    h = 1e-5
    for atom in rng.choice(46, 6, replace=False):
        for axis in range(3):
            plus, minus = x.detach().clone(), x.detach().clone()
            plus[atom, axis] += h
            minus[atom, axis] -= h
            fd = (float(energy(model, plus)) - float(energy(model, minus))) / (2 * h)
            assert float(grad[atom, axis]) == pytest.approx(fd, abs=1e-6)


def test_invariant_to_rotation_translation_and_like_atom_permutation(pool):
    model = active()
    x = dimer(pool, 6.0)
    e0 = float(energy(model, x))
    rotation = torch.tensor(random_rotation(np.random.default_rng(5)))
    assert float(energy(model, x @ rotation.T + torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))) \
        == pytest.approx(e0, abs=1e-10)
    h = torch.nonzero(numbers() == 1).flatten()
    pair, back = torch.stack([h[0], h[-1]]), torch.stack([h[-1], h[0]])
    swapped = x.clone()
    swapped[pair] = x[back]  # an H of molecule 0 trades places with an H of molecule 1
    mol = MOL_ID.clone()
    mol[pair] = MOL_ID[back]
    assert float(model(swapped, numbers(), mol, build_pairs(swapped))) == pytest.approx(e0, abs=1e-10)


def test_per_atom_energies_are_bounded():
    model = active(ContactConfig(hidden=(8,), bound=0.7))
    features = torch.rand(50, model.n_features, dtype=torch.float64) * 50.0
    element = torch.randint(0, 3, (50,))
    e = model.atom_energies(features, element)
    assert float(e.abs().max()) <= 0.7 and float(e.abs().max()) > 0.3


def test_pinn_interaction_energy_gains_the_clusters_contact_energy(pool):
    """E_int(with correction) - E_int(without) = the correction of the dimer (monomers have none)."""
    x = dimer(pool, 6.0)
    cluster = Cluster("d", x, numbers(), MOL_ID, 0.0, 0.0)
    model = PhysicsPotential("pinn", contact=ContactConfig(hidden=(8,), bound=1.5)).double()
    model.contact.load_state_dict(active().state_dict())
    data = model.prepare([cluster, cluster])
    with torch.no_grad():
        terms = model.interaction_decomposition(data)
        expected = float(energy(model.contact, x))
    assert abs(expected) > 1e-2
    assert terms["contact"].tolist() == pytest.approx([expected, expected], abs=1e-10)
    rebuilt = PhysicsPotential.from_config_dict(model.config_dict()).double()
    rebuilt.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert float(rebuilt.interaction_energies(rebuilt.prepare([cluster]))[0]) \
            == pytest.approx(float(model.interaction_energies(data)[0]), abs=1e-10)


def test_only_the_pinn_carries_it_and_bad_settings_are_refused():
    with pytest.raises(InputError):
        PhysicsPotential("physics", contact=ContactConfig())
    with pytest.raises(InputError):
        ContactConfig(cutoff=1.0, start=2.0)
    with pytest.raises(InputError):
        ContactConfig.from_dict({"cutoff_A": 4.0})


def test_the_periodic_box_adds_the_same_contact_term_with_exact_forces(pool):
    """LiquidPotential's ``contact`` term equals the dimer's (images are 22 A away); forces stay -dE/dx."""
    from pinnff.md.potential import LiquidPotential

    model = PhysicsPotential("pinn", contact=ContactConfig(hidden=(8,), bound=1.5)).double()
    model.contact.load_state_dict(active().state_dict())
    box = LiquidPotential(2, SMILES, {"dtype": "float64"}, model)
    x, cell = dimer(pool, 6.0), torch.eye(3, dtype=torch.float64) * 22.0
    with torch.no_grad():
        _, terms = box.energy_terms(x, cell)
        expected = float(energy(model.contact, x))
    assert abs(expected) > 1e-2
    assert float(terms["contact"]) == pytest.approx(expected, abs=1e-10)
    atom = int(torch.cdist(x[:23], x[23:]).min(dim=1).values.argmin())  # the atom in closest contact
    assert_gradient_matches_central_differences(lambda y: box(y, cell), x, atom)


def test_refit_learns_a_teachers_contact_energy_and_leaves_the_rest_alone(pool):
    """Labels = the model's own E_int + a teacher correction: the second stage alone recovers most of it."""
    torch.manual_seed(0)
    config = ContactConfig(hidden=(8,), bound=1.5)
    model = PhysicsPotential("pinn", contact=config).double()
    teacher = active(config, seed=1)
    clusters = [Cluster(f"d{k}", dimer(pool, 5.0 + 0.1 * k, seed=k), numbers(), MOL_ID, 0.0, 0.0) for k in range(12)]
    train, val = model.prepare(clusters[:8]), model.prepare(clusters[8:])

    def labels(data, cl):
        with torch.no_grad():
            return model.interaction_energies(data) + torch.stack([energy(teacher, c.positions) for c in cl])

    y_train, y_val = labels(train, clusters[:8]), labels(val, clusters[8:])
    before = float(torch.sqrt(torch.mean((model.interaction_energies(val).detach() - y_val) ** 2)))
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("contact.")}
    best = model.refit_contact(train, y_train, val, y_val, steps=300, lr=0.01, val_every=20)
    with torch.no_grad():
        after = float(torch.sqrt(torch.mean((model.interaction_energies(val) - y_val) ** 2)))
    assert before > 0.05
    assert after == pytest.approx(best, abs=1e-10) and after < 0.7 * before
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in frozen.items())
    with pytest.raises(InputError):
        PhysicsPotential("pinn").double().refit_contact(train, y_train, val, y_val, steps=1, lr=0.01)
