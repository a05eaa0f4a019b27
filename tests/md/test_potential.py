"""The liquid (MD) potential: the same interaction energy as the trained model, exact forces, clear refusals."""

import numpy as np
import pytest
import torch

from pinnff.errors import InputError
from pinnff.geometry import random_rotation
from pinnff.md.calculator import PotentialCalculator
from pinnff.md.potential import LiquidPotential
from pinnff.model.clusters import Cluster
from pinnff.model.descriptors import DescriptorConfig
from pinnff.model.heads import HeadConfig
from pinnff.model.physics_potential import PhysicsPotential

SMILES = "COCCOCCOC"
MUTUAL = {"polarization": "mutual", "polarization_tol_debye": 1e-9}
# numerics under which a dimer in a big box sees no cutoff, taper or long-range correction
WIDE = {"electrostatics": "pme", "real_cutoff_A": 10.0, "ewald_tolerance": 1e-8, "pme_spacing_A": 0.4,
        "vdw_cutoff_A": 21.0, "vdw_taper": 0.99, "vdw_long_range_correction": False, "polarization": "mutual",
        "polarization_tol_debye": 1e-9, "dtype": "float64"}


def dimer(pool, seed: int) -> np.ndarray:
    """Two pool conformers, COM 6.5 A apart, randomly oriented, no contact under 2.2 A."""
    rng = np.random.default_rng(seed)
    while True:
        a = pool[0] @ random_rotation(rng).T
        b = pool[1] @ random_rotation(rng).T + [0.0, 0.0, 6.5]
        if np.linalg.norm(a[:, None] - b[None], axis=-1).min() > 2.2:
            return np.concatenate([a, b])


def small_pinn() -> PhysicsPotential:
    """An untrained PINN with a small network whose outputs are far from zero."""
    return PhysicsPotential("pinn", descriptors=DescriptorConfig(radial_cutoff=4.0, radial_shells=6, angular_shells=2,
                                                                 zetas=(1.0,)),
                            heads=HeadConfig(hidden=(8,), init_scale=1.0), physics=MUTUAL).double()


def dimer_cluster(x: np.ndarray) -> Cluster:
    """The two-molecule cluster at positions ``x`` (46, 3) A, unlabelled."""
    return Cluster("d", torch.tensor(x), torch.tensor(np.tile(pool_numbers(), 2)),
                   torch.repeat_interleave(torch.arange(2), 23), 0.0, 0.0)


def test_box_interaction_energy_equals_the_trained_models(pool):
    """E(dimer) - E(A) - E(B) in a 50 A periodic box is the model's E_int (images 50 A away)."""
    model = small_pinn()
    x = dimer(pool, 0)
    with torch.no_grad():
        expected = float(model.interaction_energies(model.prepare([dimer_cluster(x)]))[0])
    cell = torch.eye(3, dtype=torch.float64) * 50.0
    box, single = LiquidPotential(2, SMILES, WIDE, model), LiquidPotential(1, SMILES, WIDE, model)
    with torch.no_grad():
        e_int = box(torch.tensor(x), cell) - single(torch.tensor(x[:23]), cell) - single(torch.tensor(x[23:]), cell)
    assert abs(expected) > 0.3
    assert float(e_int) == pytest.approx(expected, abs=2e-3)


def pool_numbers():
    from ase.data import atomic_numbers

    from pinnff.chem.molecule import symbols

    return [atomic_numbers[s] for s in symbols(SMILES)]


@pytest.mark.parametrize("source", ["prior", "pinn"])
def test_forces_are_minus_the_energy_gradient_in_a_periodic_box(pool, source):
    """Exact forces, also with the PINN, whose parameters follow every atom's position."""
    from ase import Atoms

    from pinnff.chem.molecule import symbols

    settings = dict(WIDE, real_cutoff_A=6.0, vdw_cutoff_A=6.5, vdw_taper=0.9, vdw_long_range_correction=True,
                    ewald_tolerance=1e-6, pme_spacing_A=0.5)
    x = dimer(pool, 1) + 7.0
    model = None
    if source == "pinn":
        torch.manual_seed(0)
        model = small_pinn()
        model.fit_normalization(model.prepare([dimer_cluster(x)]))
    atoms = Atoms(symbols(SMILES) * 2, positions=x, cell=[14.0, 14.5, 15.0], pbc=True)
    atoms.calc = PotentialCalculator(LiquidPotential(2, SMILES, settings, model))
    forces = atoms.get_forces()
    h = 1e-4
    for atom, axis in [(0, 0), (5, 2), (30, 1)]:
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.calc = atoms.calc
            moved.positions[atom, axis] += sign * h
            energies.append(moved.get_potential_energy())
        assert forces[atom, axis] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=2e-5)  # eV/A
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=3e-3)  # PME grid: not exactly translation-invariant


def test_wrong_atom_count_and_missing_cell_are_refused(pool):
    potential = LiquidPotential(2, SMILES, WIDE)
    x = torch.tensor(dimer(pool, 2))
    with pytest.raises(InputError, match="2 molecules"):
        potential(x[:40], torch.eye(3, dtype=torch.float64) * 30)
    with pytest.raises(InputError, match="periodic"):
        potential(x, None)


def test_neighbour_list_covers_the_models_charge_transfer_cutoff(pool):
    """The model's ct cutoff (6 A, from training) exceeds this section's cutoffs (5.5 A): still evaluates."""
    short = dict(WIDE, real_cutoff_A=5.0, vdw_cutoff_A=5.5, ct_cutoff_A=5.0, ewald_tolerance=1e-5, pme_spacing_A=0.8)
    model = PhysicsPotential("physics", physics=dict(MUTUAL, ct_cutoff_A=6.0)).double()
    potential = LiquidPotential(2, SMILES, short, model)
    assert potential.neighbors.cutoff == 6.0
    energy = potential(torch.tensor(dimer(pool, 3)) + 6.0, torch.eye(3, dtype=torch.float64) * 13.0)
    assert torch.isfinite(energy)


@pytest.mark.parametrize("kind", ["physics", "pinn"])
def test_middle_level_uses_fixed_reference_parameters(pool, kind):
    """RESPA1's short-range part: a physics model's own table, a PINN's priors (the prior's
    parameters), and never the PINN's position-dependent network."""
    from pinnff.physics import short_range_energy

    x = torch.tensor(dimer(pool, 2) + 7.0)
    cell = torch.eye(3, dtype=torch.float64) * 14.0
    torch.manual_seed(0)
    model = small_pinn() if kind == "pinn" else PhysicsPotential("physics", physics=MUTUAL).double()
    if kind == "physics":
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.normal_(std=0.3)  # a table away from the priors
    settings = dict(WIDE, real_cutoff_A=6.0, vdw_cutoff_A=6.5, ewald_tolerance=1e-6, pme_spacing_A=0.5)
    potential = LiquidPotential(2, SMILES, settings, model, short_range=(5.0, 1.0))
    prior = LiquidPotential(2, SMILES, settings, short_range=(5.0, 1.0))
    with torch.no_grad():
        middle = float(potential.middle_energy(x, cell))
        own = potential.atom_parameters(x, cell)
        with_own = float(short_range_energy(x, potential.topology, own, potential.neighbors.get(x, cell), cutoff=5.0,
                                            switch_width=1.0, settings=potential.settings))
        with_prior = float(prior.middle_energy(x, cell))
    if kind == "physics":
        assert middle == pytest.approx(with_own, abs=1e-9)
        assert abs(middle - with_prior) > 1e-3
    else:
        assert middle == pytest.approx(with_prior, abs=1e-9)
        assert abs(middle - with_own) > 1e-3
