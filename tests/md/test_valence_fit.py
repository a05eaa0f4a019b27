"""The intramolecular fit recovers a valence teacher from energies and forces; its files load back."""

import numpy as np
import pytest
import torch
from ase import Atoms

from pinnff.chem.molecule import symbols
from pinnff.md.valence_fit import (NONBONDED, IntramolecularSettings, evaluate_valence, fit_valence, monomer_batch,
                                   nonbonded)
from pinnff.model.physics_potential import physics_settings
from pinnff.physics.intramolecular import MMFFIntramolecular

SMILES = "COCCOCCOC"


def teacher():
    """MMFF94 valence terms with force constants and rest values moved by a few per cent."""
    module = MMFFIntramolecular(SMILES, 1, nonbonded=False)
    rng = np.random.default_rng(5)
    with torch.no_grad():
        for name in ("bond_k", "angle_k", "torsion_v"):
            getattr(module, name).mul_(torch.tensor(rng.uniform(0.85, 1.15, getattr(module, name).shape)))
        module.bond_r0.add_(torch.tensor(rng.uniform(-0.01, 0.01, module.bond_r0.shape)))
        module.angle_t0.add_(torch.tensor(rng.uniform(-2.0, 2.0, module.angle_t0.shape)))
    return module


def labelled(pool, count, seed, module, settings):
    """Displaced pool conformers labelled by ``module`` + the prior non-bonded energy (+ a constant)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(count):
        x = pool[k % len(pool)] + rng.normal(0.0, 0.04, pool[0].shape)
        xt = torch.tensor(x, requires_grad=True)
        valence = module(xt)
        (grad,) = torch.autograd.grad(valence, xt)
        e_nb, f_nb = nonbonded(torch.tensor(x), None, settings)
        atoms = Atoms(symbols(SMILES), positions=x)
        atoms.info.update(sample_id=f"m-{k}", energy_kcal=float(valence.detach()) + e_nb - 1234.5)
        atoms.arrays["forces_kcal_A"] = (-grad + f_nb).numpy()
        frames.append(atoms)
    return frames


def test_fit_recovers_a_valence_teacher(pool):
    settings = physics_settings({}, NONBONDED)
    truth = teacher()
    train, val, test = (labelled(pool, n, seed, truth, settings) for n, seed in ((12, 0), (4, 1), (4, 2)))
    fitted, report = fit_valence(SMILES, train, val, None, settings,
                                 IntramolecularSettings(force_weight=1.0, prior_weight=0.0, iterations=200))
    test_batch = monomer_batch(test, None, settings)
    start = evaluate_valence(MMFFIntramolecular(SMILES, nonbonded=False), test_batch, offset=None)
    end = evaluate_valence(fitted, test_batch, offset=report["after"]["train"]["offset_kcal"])
    assert start["force_rmse_kcal_A"] > 1.0
    assert end["force_rmse_kcal_A"] < 0.1 * start["force_rmse_kcal_A"]
    assert end["energy_rmse_kcal"] < 0.1 * start["energy_rmse_kcal"]
    # one molecule's parameters load into a module of any size (the MD box)
    box = MMFFIntramolecular(SMILES, 3, nonbonded=False)
    box.load_state_dict(fitted.state_dict())
    x = torch.tensor(np.concatenate([pool[0], pool[1] + 20.0, pool[2] - 20.0]))
    expected = sum(float(fitted(torch.tensor(p))) for p in (pool[0], pool[1] + 20.0, pool[2] - 20.0))
    assert float(box(x)) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(box.molecule_energies(x).detach().sum(), float(box(x)), rtol=1e-12)
