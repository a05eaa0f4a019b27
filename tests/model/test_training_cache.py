"""Training batches reuse geometry (frozen pair vectors, frames, vdW sites; one segment per distinct
monomer): the energies and parameter gradients must equal those of every dimer and monomer evaluated
on its own, with fresh geometry, by the physics engine."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pinnff.geometry import random_rotation
from pinnff.model.descriptors import DescriptorConfig
from pinnff.model.heads import HeadConfig
from pinnff.model.physics_potential import PhysicsPotential, physics_settings, rigid_copies
from pinnff.physics import degdme_topology, total_energy
from pinnff.model.clusters import Cluster, load_clusters

CHUNK = (Path(__file__).parents[2] / "resources" / "labels" / "dft_b3lyp-d3bj_def2-svp_df_grid2" / "set_A"
         / "chunk-000.extxyz")
SMALL = DescriptorConfig(radial_cutoff=4.0, radial_shells=6, angular_shells=2, zetas=(1.0,))
TERMS = ("multipole", "polarization", "vdw", "charge_transfer")


def real_dimers_and_a_rigid_copy(count: int = 4) -> list:
    """``count`` shipped set-A dimers (float64) plus the first one rotated and moved as a whole."""
    clusters = load_clusters(CHUNK, torch.float64)[:count]
    first = clusters[0]
    rotation = torch.as_tensor(random_rotation(np.random.default_rng(7)))
    moved = first.positions @ rotation.T + torch.tensor([3.0, -2.0, 5.0], dtype=torch.float64)
    return clusters + [Cluster("copy", moved, first.numbers, first.mol_id, 0.0, 0.0)]


def model_with_random_parameters(kind: str, physics: dict) -> PhysicsPotential:
    model = PhysicsPotential(kind, descriptors=SMALL, heads=HeadConfig(hidden=(8,), init_scale=1.0),
                             physics=physics).double()
    with torch.no_grad():
        model.table.raw.normal_(generator=torch.Generator().manual_seed(3)).mul_(0.3)
    return model


def direct_interaction_energies(model: PhysicsPotential, clusters: list) -> torch.Tensor:
    """E(cluster) - sum E(monomer), each structure alone with all its pairs, positions carrying
    gradients (so nothing geometric is reused), parameters from its own geometry."""
    settings = physics_settings(model.physics, TERMS)

    def energy(x, n_molecules):
        params = model.atom_parameters(x, n_molecules)
        return total_energy(x, degdme_topology(n_molecules, model.smiles), params, settings=settings)[0]

    out = []
    for cluster in clusters:
        x = cluster.positions.clone().requires_grad_(True)
        out.append(energy(x, 2) - sum(energy(x[mask], 1) for mask in cluster.monomers()))
    return torch.stack(out)


@pytest.mark.parametrize("physics, grad_tol", [({"polarization": "extrapolated"}, 1e-10),
                                               # CG stops at its own residual in each system: gradients
                                               # are first order in it, energies second order
                                               ({"polarization": "mutual", "polarization_tol_debye": 1e-11}, 1e-9)],
                         ids=["opt3", "mutual"])
@pytest.mark.parametrize("kind", ["pinn", "physics"])
def test_prepared_batch_gives_the_energies_and_gradients_of_each_dimer_alone(kind, physics, grad_tol):
    model = model_with_random_parameters(kind, physics)
    clusters = real_dimers_and_a_rigid_copy()
    data = model.prepare(clusters, copy_rmsd_A=1e-10)  # exact copies only (the shipped ones differ by 1e-8 A)
    model.fit_normalization(data)
    assert data["segments"].size == len(clusters) + 2 * len(clusters) - 2  # the copy's monomers are shared
    weights = torch.linspace(-1.0, 2.0, len(clusters), dtype=torch.float64)
    parameters = [p for p in model.parameters() if p.requires_grad]

    reference = direct_interaction_energies(model, clusters)
    reference_grad = torch.autograd.grad((weights * reference).sum(), parameters)
    for _ in range(2):  # the second evaluation runs on the geometry frozen by the first
        batched = model.interaction_energies(data)
        grad = torch.autograd.grad((weights * batched).sum(), parameters)
        torch.testing.assert_close(batched, reference, rtol=0, atol=1e-10)
        for g, g_ref in zip(grad, reference_grad):
            torch.testing.assert_close(g, g_ref, rtol=grad_tol, atol=grad_tol)
    assert float(reference.detach().abs().min()) > 0.05
    assert float((batched[0] - batched[-1]).abs()) < 1e-10  # the rigid copy has the same E_int
    geometry_keys = [key for key in data["all_pairs"].memo if key[0] == "geometry"]
    assert geometry_keys  # the pair geometry was frozen on the batch's pair list


def test_shipped_rigid_copies_share_one_monomer_energy():
    """Liquid dimers reuse pool conformers: at the default tolerance their monomers collapse to fewer
    segments and E_int moves by no more than the 1e-8 A rounding of the shipped coordinates."""
    model = model_with_random_parameters("physics", {"polarization": "extrapolated"})
    clusters = load_clusters(CHUNK, torch.float64)
    shared, apart = model.prepare(clusters), model.prepare(clusters, copy_rmsd_A=None)
    assert shared["segments"].size < apart["segments"].size == 3 * len(clusters)
    with torch.no_grad():
        torch.testing.assert_close(model.interaction_energies(shared), model.interaction_energies(apart),
                                   rtol=0, atol=1e-6)


def test_rigid_copies_are_rotations_not_mirror_images(pool):
    rng = np.random.default_rng(0)
    molecule = torch.as_tensor(pool[0])
    rotated = molecule @ torch.as_tensor(random_rotation(rng)).T + 4.0
    mirrored = molecule * torch.tensor([-1.0, 1.0, 1.0], dtype=molecule.dtype)
    bent = molecule.clone()
    bent[0] += 1e-3
    distinct, copy_of = rigid_copies(torch.stack([molecule, mirrored, rotated, bent, torch.as_tensor(pool[1])]), 1e-6)
    assert distinct.tolist() == [0, 1, 3, 4]
    assert copy_of.tolist() == [0, 1, 0, 2, 3]
    assert rigid_copies(torch.stack([molecule, rotated]), None)[1].tolist() == [0, 1]
