"""The environment correction: parameters that respond to intermolecular neighbours, zero for a molecule
alone, with interaction energies equal to the cluster's energy minus the monomers' computed independently,
invariant, and the same parameters with exact forces in the periodic box."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from pinnff.errors import InputError
from pinnff.geometry import random_rotation
from pinnff.model.clusters import Cluster
from pinnff.model.environment import EnvironmentConfig, EnvironmentCorrection
from pinnff.model.physics_potential import PhysicsPotential
from pinnff.physics import total_energy
from pinnff.physics.pairs import build_pairs

from central_differences import assert_gradient_matches_central_differences

SMILES = "COCCOCCOC"
CONFIG = EnvironmentConfig(cutoff=4.5, hidden=(8,))


def numbers(n_molecules: int = 2):
    from ase.data import atomic_numbers

    from pinnff.chem.molecule import symbols

    return torch.tensor([atomic_numbers[s] for s in symbols(SMILES)] * n_molecules)


def dimer(pool, shift: float, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    a = pool[0] @ random_rotation(rng).T
    b = pool[1] @ random_rotation(rng).T + [0.0, 0.0, shift]
    return torch.tensor(np.concatenate([a, b]))


def pinn(seed: int = 0) -> PhysicsPotential:
    """A float64 PINN whose environment correction has random, clearly non-zero weights."""
    torch.manual_seed(seed)
    model = PhysicsPotential("pinn", environment=CONFIG).double()
    with torch.no_grad():
        for p in model.environment.parameters():
            p.normal_(0.0, 0.3)
    return model


def parameters(model, x, n_molecules, neighbours: bool) -> dict:
    t = model.tiled(n_molecules, x.device)
    shells = model.environment_shells(x, build_pairs(x), t) if neighbours else None
    return model.atom_parameters(x, n_molecules, tiled=t, shells=shells)


def test_zero_for_a_fresh_correction_and_for_molecules_beyond_the_cutoff(pool):
    x = dimer(pool, 6.0)
    assert float(torch.cdist(x[:23], x[23:]).min()) < 3.0
    fresh = PhysicsPotential("pinn", environment=CONFIG).double()
    plain = PhysicsPotential("pinn").double()
    plain.load_state_dict({k: v for k, v in fresh.state_dict().items() if not k.startswith("environment.")})
    cluster = Cluster("d", x, numbers(), torch.repeat_interleave(torch.arange(2), 23), 0.0, 0.0)
    with torch.no_grad():
        assert float(fresh.interaction_energies(fresh.prepare([cluster]))[0]) == pytest.approx(
            float(plain.interaction_energies(plain.prepare([cluster]))[0]), abs=1e-9)
    model = pinn()
    far = dimer(pool, 30.0)
    with torch.no_grad():
        near_params = parameters(model, x, 2, True)
        alone_params = parameters(model, x, 2, False)
        far_params, far_alone = parameters(model, far, 2, True), parameters(model, far, 2, False)
    for key in ("charge", "vdw_radius", "polarizability"):
        assert torch.equal(far_params[key], far_alone[key])
        assert float((near_params[key] - alone_params[key]).abs().max()) > 1e-3
    assert float(near_params["charge"].reshape(2, 23).sum(1).abs().max()) < 1e-12  # still neutral molecules


def test_interaction_energy_is_the_cluster_with_neighbours_minus_each_molecule_alone(pool):
    """The batched E_int (intermolecular and, since parameters change, intramolecular pairs) equals
    the total non-bonded energy of the cluster minus those of its molecules, computed one by one."""
    from pinnff.physics import degdme_topology

    model = pinn()
    x = dimer(pool, 6.0)
    mol_id = torch.repeat_interleave(torch.arange(2), 23)
    cluster = Cluster("d", x, numbers(), mol_id, 0.0, 0.0)
    with torch.no_grad():
        batched = float(model.interaction_energies(model.prepare([cluster, cluster]))[1])
        settings = replace(model._pairwise, terms=("multipole", "polarization", "vdw", "charge_transfer"))
        whole, _ = total_energy(x, degdme_topology(2, SMILES), parameters(model, x, 2, True), settings=settings)
        parts = 0.0
        for k in range(2):
            xm = x[23 * k:23 * (k + 1)]
            energy, _ = total_energy(xm, degdme_topology(1, SMILES), parameters(model, xm, 1, False),
                                     settings=settings)
            parts += float(energy)
        plain = PhysicsPotential("pinn").double()
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("environment.")})
        without = float(plain.interaction_energies(plain.prepare([cluster]))[0])
    assert batched == pytest.approx(float(whole) - parts, abs=1e-8)
    assert abs(batched - without) > 0.05  # the correction matters in this test


def test_invariant_to_rotation_translation_and_molecule_order(pool):
    model = pinn()
    x = dimer(pool, 5.5, seed=3)
    mol_id = torch.repeat_interleave(torch.arange(2), 23)
    rotation = torch.tensor(random_rotation(np.random.default_rng(7)))
    moved = x @ rotation.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    swapped = torch.cat([x[23:], x[:23]])
    clusters = [Cluster(name, y, numbers(), mol_id, 0.0, 0.0) for name, y in (("a", x), ("b", moved), ("c", swapped))]
    with torch.no_grad():
        e = model.interaction_energies(model.prepare(clusters)).tolist()
    assert e[1] == pytest.approx(e[0], abs=1e-8) and e[2] == pytest.approx(e[0], abs=1e-8)


def test_the_periodic_box_uses_the_same_parameters_with_exact_forces(pool):
    """LiquidPotential's parameters of a dimer in a 22 A box (images beyond every cutoff) are the
    non-periodic cluster's; the forces are -dE/dx by central differences, also through the shells."""
    from pinnff.md.potential import LiquidPotential

    model = pinn()
    box = LiquidPotential(2, SMILES, {"dtype": "float64"}, model)
    x, cell = dimer(pool, 6.0), torch.eye(3, dtype=torch.float64) * 22.0
    with torch.no_grad():
        periodic = box.atom_parameters(x, cell)
        cluster = parameters(model, x, 2, True)
    for key in ("charge", "vdw_epsilon", "ct_A"):
        assert torch.allclose(periodic[key], cluster[key], atol=1e-12)
    atom = int(torch.cdist(x[:23], x[23:]).min(dim=1).values.argmin())
    assert_gradient_matches_central_differences(lambda y: box(y, cell), x, atom)


def test_shells_vanish_smoothly_at_the_cutoff():
    """One H-H pair on the line: the shells and their slope go to zero as the distance reaches the cutoff."""
    correction = EnvironmentCorrection(CONFIG).double()
    z = torch.tensor([1, 1])
    mol_id = torch.tensor([0, 1])

    def shells(r: float) -> torch.Tensor:
        x = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, r]], dtype=torch.float64)
        return correction.features(x, z, mol_id, build_pairs(x))

    assert float(shells(CONFIG.cutoff + 1e-6).abs().max()) == 0.0
    inside = shells(CONFIG.cutoff - 1e-3)
    assert 0.0 < float(inside.abs().max()) < 1e-6
    assert float(shells(3.0).abs().max()) > 1e-2


def test_only_the_pinn_carries_it_and_bad_settings_are_refused():
    with pytest.raises(InputError):
        PhysicsPotential("physics", environment=EnvironmentConfig())
    with pytest.raises(InputError):
        EnvironmentConfig(weight=-1.0)
    with pytest.raises(InputError):
        EnvironmentConfig.from_dict({"cutoff_A": 4.0})
    with pytest.raises(InputError):
        EnvironmentCorrection(EnvironmentConfig(cutoff=1.0, start=1.5))
    model = pinn()
    rebuilt = PhysicsPotential.from_config_dict(model.config_dict()).double()
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.environment.config == model.environment.config
