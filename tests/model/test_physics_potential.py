"""The PINN and physics-only models: interaction energies, gradients, constraints, training, checkpoints."""

import numpy as np
import pytest
import torch

from pinnff.curate.frames import cluster_frame
from pinnff.errors import InputError
from pinnff.geometry import random_rotation
from pinnff.model.clusters import Cluster
from pinnff.model.descriptors import DescriptorConfig
from pinnff.model.heads import HeadConfig
from pinnff.model.physics_potential import PhysicsPotential
from pinnff.physics import PhysicsSettings, PolarizationSettings, degdme_topology, prior_parameters, total_energy
from pinnff.train.trainer import TrainSettings, rmse, train

SMILES = "COCCOCCOC"  # DEGDME
SMALL = DescriptorConfig(radial_cutoff=4.0, radial_shells=6, angular_shells=2, zetas=(1.0,))
MUTUAL = {"polarization": "mutual", "polarization_tol_debye": 1e-9}


def dimers(pool, n, seed, labeller=None):
    """``n`` random-orientation dimers (COM 5-9 A, no contact under 2.5 A) labelled by ``labeller`` (or 0)."""
    rng = np.random.default_rng(seed)
    clusters = []
    for k in range(n):
        while True:
            a = pool[k % len(pool)] @ random_rotation(rng).T
            b = pool[(k + 2) % len(pool)] @ random_rotation(rng).T + [0.0, 0.0, rng.uniform(5.0, 9.0)]
            if np.linalg.norm(a[:, None] - b[None], axis=-1).min() > 2.5:
                break
        frame = cluster_frame(SMILES, [a, b], f"d-{k}", "random", "train", [0, 1])
        clusters.append(Cluster(f"d-{k}", torch.tensor(frame.positions), torch.tensor(frame.numbers),
                                torch.tensor(frame.arrays["mol_id"]), 0.0, 0.0))
    if labeller is not None:
        with torch.no_grad():
            values = labeller.interaction_energies(labeller.prepare(clusters)).tolist()
        for cluster, value in zip(clusters, values):
            cluster.e_int_kcal = cluster.e_int_clean_kcal = value
    return clusters


def test_prior_model_equals_cluster_minus_monomers_computed_directly(pool):
    """With zero corrections the model's E_int is E(dimer) - E(A) - E(B) of the physics engine."""
    model = PhysicsPotential("physics", physics=MUTUAL).double()
    clusters = dimers(pool, 3, 0)
    predicted = model.interaction_energies(model.prepare(clusters)).detach()
    settings = PhysicsSettings(polarization=PolarizationSettings(solver="mutual", tol=1e-9))
    for cluster, value in zip(clusters, predicted):
        x = cluster.positions
        dimer = total_energy(x, degdme_topology(2), prior_parameters(2), settings=settings)[0]
        monomers = sum(total_energy(x[s], degdme_topology(1), prior_parameters(1), settings=settings)[0]
                       for s in (slice(0, 23), slice(23, 46)))
        assert float(value) == pytest.approx(float(dimer - monomers), abs=1e-7)


def test_decomposition_sums_to_the_interaction_energy_and_far_monomers_do_not_interact(pool):
    model = PhysicsPotential("pinn", descriptors=SMALL, heads=HeadConfig(hidden=(8,), init_scale=1.0)).double()
    clusters = dimers(pool, 2, 1)
    far = Cluster("far", clusters[0].positions + (clusters[0].mol_id[:, None] == 1) * 100.0, clusters[0].numbers,
                  clusters[0].mol_id, 0.0, 0.0)
    data = model.prepare(clusters + [far])
    model.fit_normalization(data)
    parts = model.interaction_decomposition(data)
    assert set(parts) == {"multipole", "vdw", "charge_transfer", "polarization"}
    total = model.interaction_energies(data)
    torch.testing.assert_close(sum(parts.values()), total)
    assert abs(float(total[2].detach())) < 1e-4  # 100 A apart: only the charge-multipole tail remains (neutral molecules)
    assert abs(float(total[0].detach())) > 0.1


@pytest.mark.parametrize("kind", ["pinn", "physics"])
def test_parameter_gradients_match_finite_differences(pool, kind):
    model = PhysicsPotential(kind, descriptors=SMALL, heads=HeadConfig(hidden=(8,), init_scale=1.0),
                             physics=MUTUAL).double()
    data = model.prepare(dimers(pool, 2, 2))
    model.fit_normalization(data)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(5), dtype=p.dtype))
    loss = lambda: (model.interaction_energies(data) ** 2).sum()  # noqa: E731
    weights = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss(), weights)
    rng = np.random.default_rng(0)
    checked = 0
    for p, g in zip(weights, grads):
        flat, gflat = p.data.view(-1), g.view(-1)
        for index in rng.choice(flat.numel(), size=min(3, flat.numel()), replace=False):
            old = float(flat[index])
            with torch.no_grad():
                flat[index] = old + 1e-5
                up = float(loss())
                flat[index] = old - 1e-5
                down = float(loss())
                flat[index] = old
            assert float(gflat[index]) == pytest.approx((up - down) / 2e-5, rel=1e-4, abs=1e-6)
            checked += 1
    assert checked >= 3


def test_physics_table_keeps_molecules_neutral_and_equivalent_atoms_equal(pool):
    model = PhysicsPotential("physics").double()
    with torch.no_grad():
        model.source.raw.normal_(generator=torch.Generator().manual_seed(1))
    params = model.atom_parameters(torch.zeros(46, 3, dtype=torch.float64), 2)
    charge = params["charge"].detach().reshape(2, 23)
    assert abs(float(charge.sum(1).abs().max())) < 1e-12
    # the two terminal methyl carbons (atoms 0 and 8) are equivalent
    for key in ("charge", "polarizability", "vdw_epsilon"):
        assert float(params[key][0].detach()) == float(params[key][8].detach())


def test_pinn_with_a_silent_network_is_the_physics_model_and_its_penalty_sees_the_network(pool):
    """The PINN is the per-type table plus a network correction: with the network's output layer at
    zero it gives the physics model's energies, and ``network_weight`` prices exactly the network part
    (no distortion term with ``distortion_A = 0``)."""
    generator = torch.Generator().manual_seed(2)
    physics = PhysicsPotential("physics", prior_weight=0.5).double()
    pinn = PhysicsPotential("pinn", descriptors=SMALL, heads=HeadConfig(hidden=(8,), init_scale=1.0),
                            prior_weight=0.5, network_weight=3.0, distortion_A=0.0).double()
    with torch.no_grad():
        physics.source.raw.normal_(generator=generator).mul_(0.3)
        pinn.type_table.raw.copy_(physics.source.raw)
    clusters = dimers(pool, 3, 6)
    data, pinn_data = physics.prepare(clusters), pinn.prepare(clusters)
    pinn.fit_normalization(pinn_data)
    network_out = pinn.cluster_rows(pinn_data, pinn.source.heads.raw(pinn_data["features"],
                                                                  pinn_data["numbers"]))
    assert float(network_out.abs().max()) > 0.05
    assert float(pinn.penalty(pinn_data)) == pytest.approx(
        float(physics.penalty(data)) + 3.0 * float(network_out.pow(2).mean()), rel=1e-12)
    assert float((pinn.interaction_energies(pinn_data) - physics.interaction_energies(data)).abs().max()) > 1e-3
    with torch.no_grad():
        for network in pinn.source.heads.networks:
            network[-1].weight.zero_()
            network[-1].bias.zero_()
    torch.testing.assert_close(pinn.interaction_energies(pinn_data), physics.interaction_energies(data),
                               rtol=0, atol=1e-10)
    assert float(pinn.penalty(pinn_data)) == pytest.approx(float(physics.penalty(data)), rel=1e-12)


def test_distortion_penalty_prices_only_geometry_dependence_of_the_network(pool):
    """A network whose output ignores the descriptors pays nothing for distortion; a varying one does."""
    pinn = PhysicsPotential("pinn", descriptors=SMALL, heads=HeadConfig(hidden=(8,), init_scale=1.0),
                            network_weight=2.0, distortion_A=0.2).double()
    data = pinn.prepare(dimers(pool, 2, 7))
    pinn.fit_normalization(data)
    network_out = pinn.cluster_rows(data, pinn.source.heads.raw(data["features"], data["numbers"]))
    distortion_term = float(pinn.penalty(data)) - 2.0 * float(network_out.pow(2).mean())
    assert distortion_term > 1e-3
    with torch.no_grad():
        for network in pinn.source.heads.networks:
            network[0].weight.zero_()
            network[0].bias.normal_(generator=torch.Generator().manual_seed(3))
    constant_output = pinn.cluster_rows(data, pinn.source.heads.raw(data["features"], data["numbers"]))
    assert float(constant_output.abs().max()) > 0.05
    assert float(pinn.penalty(data)) == pytest.approx(2.0 * float(constant_output.pow(2).mean()), rel=1e-12)


@pytest.mark.parametrize("kind, lr", [("physics", 0.01), ("pinn", 0.003)])
def test_training_recovers_a_teacher_with_other_parameters(pool, kind, lr):
    """Labels from a physics-only teacher with perturbed per-type parameters: both kinds learn them."""
    torch.manual_seed(0)
    teacher = PhysicsPotential("physics").double()
    with torch.no_grad():
        teacher.source.raw.normal_(generator=torch.Generator().manual_seed(11)).mul_(0.3)
    train_set, val_set = dimers(pool, 6, 3, teacher), dimers(pool, 4, 4, teacher)
    student = PhysicsPotential(kind, descriptors=SMALL, heads=HeadConfig(hidden=(8,))).double()
    val_data = student.prepare(val_set)
    student.fit_normalization(student.prepare(train_set))
    clean = torch.tensor([c.e_int_clean_kcal for c in val_set], dtype=torch.float64)
    before = rmse(student.interaction_energies(val_data), clean)
    result = train(student, train_set, val_set, TrainSettings(optimizer="adam", max_grad_evals=60, lr=lr,
                                                              val_every=5))
    after = rmse(student.interaction_energies(val_data), clean)
    assert before > 0.1
    assert after < 0.4 * before
    assert result.best_val_loss == pytest.approx(after, rel=1e-9)


def test_checkpoint_round_trip(pool, tmp_path):
    from pinnff.model.store import load_checkpoint, save_checkpoint

    for kind in ("pinn", "physics"):
        model = PhysicsPotential(kind, descriptors=SMALL, heads=HeadConfig(hidden=(8,), init_scale=1.0)).double()
        data = model.prepare(dimers(pool, 2, 5))
        model.fit_normalization(data)
        save_checkpoint(tmp_path / f"{kind}.pt", model, {"model": kind})
        loaded, _ = load_checkpoint(tmp_path / f"{kind}.pt")
        torch.testing.assert_close(loaded.interaction_energies(loaded.prepare(dimers(pool, 2, 5))),
                                   model.interaction_energies(data), rtol=0, atol=1e-12)


def test_physics_options_default_to_the_schema_and_a_checkpoint_keeps_its_own(pool, tmp_path):
    """A new model takes the config's ``train.amoeba`` defaults; a checkpoint made with other options
    (here the mutual solver) loads with those, whatever the defaults are now."""
    from pinnff.config import validate
    from pinnff.model.store import load_checkpoint, save_checkpoint

    assert PhysicsPotential("physics").physics == validate({"train": {}})["train"]["amoeba"]
    model = PhysicsPotential("physics", physics=MUTUAL).double()
    assert model.physics["polarization"] != PhysicsPotential("physics").physics["polarization"]
    save_checkpoint(tmp_path / "mutual.pt", model, {})
    loaded, _ = load_checkpoint(tmp_path / "mutual.pt")
    assert loaded.physics == model.physics
    data = model.prepare(dimers(pool, 2, 6))
    torch.testing.assert_close(loaded.interaction_energies(loaded.prepare(dimers(pool, 2, 6))),
                               model.interaction_energies(data), rtol=0, atol=1e-12)
    with pytest.raises(InputError, match="config: train.amoeba: .*'polarisation' was unexpected"):
        PhysicsPotential("physics", physics={"polarisation": "mutual"})
