"""The intramolecular fit: MMFF94 valence terms refitted to DFT monomer energies and forces.

The monomer energy of the liquid potential is the MMFF94 valence energy
(bonds, angles, stretch-bend, torsions) plus the AMOEBA+ intramolecular
non-bonded energy with the parameters of the potential (a trained model, or
the priors). The non-bonded part does not depend on the valence parameters,
so it is computed once per monomer; the valence parameters are then fitted to
what DFT leaves: ``E_DFT - E_nb`` (up to one constant offset, fitted
analytically) and ``F_DFT - F_nb``, with a weak pull toward MMFF94

    loss = mean (E - E_ref - offset)^2 + w_F mean |F - F_ref|^2 + lambda sum u^2,  p = p0 + (|p0| + 1) u

in kcal^2/mol^2 (energies) and kcal^2/mol^2/A^2 (force components).
Full-batch L-BFGS; the parameters with the lowest validation loss are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from pinnff.errors import InputError
from pinnff.physics import degdme_topology, prior_parameters, total_energy
from pinnff.physics.intramolecular import MMFFIntramolecular

log = logging.getLogger(__name__)

NONBONDED = ("multipole", "polarization", "vdw", "charge_transfer")


@dataclass
class IntramolecularSettings:
    """``force_weight`` (A^2), ``prior_weight`` (kcal^2/mol^2), L-BFGS ``iterations``: the
    ``train.intramolecular`` config section (its defaults are the schema's)."""

    force_weight: float
    prior_weight: float
    iterations: int


@dataclass
class Monomers:
    """A batch of ``m`` monomers in template order: positions (m*n, 3) A, DFT energies (m,) kcal/mol,
    DFT forces (m*n, 3) kcal/mol/A, and the non-bonded energies (m,) and forces (m*n, 3) of the potential."""

    positions: torch.Tensor
    energy: torch.Tensor
    forces: torch.Tensor
    nb_energy: torch.Tensor
    nb_forces: torch.Tensor

    @property
    def count(self) -> int:
        return len(self.energy)


def nonbonded(positions: torch.Tensor, model, settings) -> tuple[float, torch.Tensor]:
    """AMOEBA+ energy (kcal/mol) and forces (n, 3) of one isolated molecule (all intramolecular pairs,
    AMOEBA exclusion scalings) with the parameters of ``model`` (None: the priors)."""
    x = positions.clone().requires_grad_(True)
    params = prior_parameters(1, dtype=x.dtype) if model is None else model.atom_parameters(x, 1)
    energy, _ = total_energy(x, degdme_topology(1), params, settings=settings)
    (gradient,) = torch.autograd.grad(energy, x)
    return float(energy.detach()), -gradient.detach()


def monomer_batch(frames: list, model, settings) -> Monomers:
    """:class:`Monomers` of labelled monomer frames (``energy_kcal``, ``forces_kcal_A``)."""
    if not frames:
        raise InputError("no monomers to fit")
    missing = [a.info["sample_id"] for a in frames if "forces_kcal_A" not in a.arrays or "energy_kcal" not in a.info]
    if missing:
        raise InputError(f"monomers without DFT energy and forces: {missing[:3]}")
    x = [torch.tensor(a.positions, dtype=torch.float64) for a in frames]
    nb = [nonbonded(p, model, settings) for p in x]
    return Monomers(torch.cat(x), torch.tensor([a.info["energy_kcal"] for a in frames], dtype=torch.float64),
                    torch.cat([torch.tensor(a.arrays["forces_kcal_A"], dtype=torch.float64) for a in frames]),
                    torch.tensor([e for e, _ in nb], dtype=torch.float64), torch.cat([f for _, f in nb]))


def valence_errors(molecule_energies, batch: Monomers, offset: float | None = None,
                   create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Energy residuals (m,) and force residuals (m*n, 3) on ``batch`` of a valence model given as its
    ``molecule_energies(positions) -> (m,)``, and the offset (the mean energy residual unless given)."""
    x = batch.positions.clone().requires_grad_(True)
    energies = molecule_energies(x)
    (gradient,) = torch.autograd.grad(energies.sum(), x, create_graph=create_graph)
    residual = energies + batch.nb_energy - batch.energy
    if offset is None:
        offset = float(residual.detach().mean())
    return residual - offset, (-gradient + batch.nb_forces) - batch.forces, offset


def valence_rmse(molecule_energies, batch: Monomers, offset: float | None) -> dict:
    """Energy and force RMSEs (kcal/mol, kcal/mol/A) of a valence model on ``batch`` and the offset used."""
    with torch.enable_grad():
        e, f, offset = valence_errors(molecule_energies, batch, offset)
    return {"energy_rmse_kcal": float(e.detach().pow(2).mean().sqrt()),
            "force_rmse_kcal_A": float(f.detach().pow(2).mean().sqrt()), "offset_kcal": offset, "n": batch.count}


def fit_valence(smiles: str, train: list, val: list, model, physics_settings,
                settings: IntramolecularSettings) -> tuple[MMFFIntramolecular, dict]:
    """The refitted valence terms (one molecule's parameters) and a report of energy/force RMSEs."""
    train_batch = monomer_batch(train, model, physics_settings)
    val_batch = monomer_batch(val, model, physics_settings)
    valence = MMFFIntramolecular(smiles, train_batch.count, nonbonded=False)
    val_valence = MMFFIntramolecular(smiles, val_batch.count, nonbonded=False)
    names = MMFFIntramolecular.VALENCE
    prior = {name: getattr(valence, name).detach().clone() for name in names}
    scale = {name: prior[name].abs() + 1.0 for name in names}
    # fitted in scaled steps u (p = p0 + (|p0| + 1) u): force constants, lengths and angles alike are O(1)
    steps = {name: torch.zeros_like(prior[name], requires_grad=True) for name in names}

    def current() -> dict:
        return {name: prior[name] + scale[name] * steps[name] for name in names}

    def energies_of(module, params=None):
        if params is None:
            return module.molecule_energies
        return lambda x: torch.func.functional_call(module, params, (x,), kwargs={"per_molecule": True}, strict=False)

    def loss_of(fn, batch, offset=None, create_graph=False):
        e, f, offset = valence_errors(fn, batch, offset, create_graph)
        return torch.mean(e ** 2) + settings.force_weight * torch.mean(f ** 2), offset

    before = {"train": valence_rmse(energies_of(valence), train_batch, None)}
    before["val"] = valence_rmse(energies_of(val_valence), val_batch, before["train"]["offset_kcal"])
    optimizer = torch.optim.LBFGS(list(steps.values()), lr=1.0, max_iter=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_of(energies_of(valence, current()), train_batch, create_graph=True)[0]
        loss = loss + settings.prior_weight * sum((u ** 2).sum() for u in steps.values())
        loss.backward()
        return loss

    best, best_state = float("inf"), None
    for step in range(max(1, settings.iterations // 20)):
        optimizer.step(closure)
        with torch.no_grad():
            for name, value in current().items():
                getattr(valence, name).copy_(value)
        val_valence.load_state_dict(valence.state_dict())
        offset = valence_rmse(energies_of(valence), train_batch, None)["offset_kcal"]
        val_loss = float(loss_of(energies_of(val_valence), val_batch, offset)[0].detach())
        if val_loss < best:
            best, best_state = val_loss, {k: v.detach().clone() for k, v in valence.state_dict().items()}
        log.info("L-BFGS round %d: validation loss %.4g", step + 1, val_loss)
    valence.load_state_dict(best_state)
    val_valence.load_state_dict(best_state)
    after = {"train": valence_rmse(energies_of(valence), train_batch, None)}
    after["val"] = valence_rmse(energies_of(val_valence), val_batch, after["train"]["offset_kcal"])
    single = MMFFIntramolecular(smiles, 1, nonbonded=False)
    single.load_state_dict(valence.state_dict())
    shift = {n: float(((getattr(valence, n).detach() - prior[n]) / scale[n]).abs().max()) for n in names}
    return single, {"before": before, "after": after, "max_relative_change": shift,
                    "n_train": train_batch.count, "n_val": val_batch.count, "settings": settings.__dict__}


def evaluate_valence(valence: MMFFIntramolecular, batch: Monomers, offset: float | None) -> dict:
    """:func:`valence_rmse` of one molecule's valence parameters on a batch of monomers; ``offset`` None
    fits the constant energy offset on the batch itself."""
    tiled = MMFFIntramolecular(valence.smiles, batch.count, nonbonded=False)
    tiled.load_state_dict(valence.state_dict())
    return valence_rmse(tiled.molecule_energies, batch, offset)
