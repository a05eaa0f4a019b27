"""Total energy of a periodic liquid box for MD: the trained model, or the classical prior.

:class:`LiquidPotential` is a ``torch.nn.Module`` with ``forward(positions,
cell) -> energy`` (positions (n, 3) and cell (3, 3) in Angstrom, energy in
kcal/mol), the contract of :class:`pinnff.md.calculator.PotentialCalculator`.
The energy is

- the MMFF94 valence terms (bonds, angles, stretch-bend, torsions) of every
  molecule: the intramolecular prior, and
- the AMOEBA+ non-bonded energy of the whole box (inter- and intramolecular
  pairs with the AMOEBA exclusion scalings) under periodic boundaries, with
  PME and the numerics of the ``physics`` config section,

with the per-atom AMOEBA+ parameters either predicted by a trained ``pinn``
model (from each molecule's own geometry, every step), taken from a trained
``physics`` model's per-type table, or the priors themselves (``prior``: the
classical force field). The functional form (charge penetration, epsilon
combining rule, charge-transfer cutoff) is the one the model was trained
with, so the liquid sees the same physics as the training dimers. A PINN with
a contact correction (:mod:`pinnff.model.contact`) adds it as the term
``contact``, on the same neighbour list; one with an environment correction
(:mod:`pinnff.model.environment`) gives each atom the parameters its
intermolecular neighbours of that list imply.

With ``short_range`` (cutoff, switch width) the potential also has
:meth:`LiquidPotential.middle_energy`: the switched short-range non-bonded
energy (:func:`pinnff.physics.short_range.short_range_energy`) with fixed
reference parameters, the middle level of RESPA1.

Atoms are whole molecules of the model's SMILES, molecule after molecule, in
template order; molecules must stay whole (MD positions are never wrapped).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from pinnff.errors import InputError
from pinnff.model.store import PHYSICS_KINDS, load_model
from pinnff.physics import degdme_topology, prior_parameters, short_range_energy, total_energy
from pinnff.physics.intramolecular import MMFFIntramolecular
from pinnff.physics.settings import dtype as physics_dtype
from pinnff.physics.settings import neighbor_list, periodic_settings

PRIOR = "prior"
"""Name of the classical force field (MMFF94 valence + AMOEBA+ prior non-bonded parameters)."""


class LiquidPotential(torch.nn.Module):
    """Energy (kcal/mol) of ``n_molecules`` molecules in a periodic cell.

    ``model``: a trained :class:`pinnff.model.physics_potential.PhysicsPotential`
    (kind pinn or physics), or None for the classical prior; ``physics``: the
    ``physics`` config section (None: defaults); ``valence``: refitted MMFF94
    valence parameters (a state dict from ``pinnff fit-intramolecular``; None: MMFF94);
    ``short_range``: (cutoff, switch width) A of :meth:`middle_energy` (None: no middle level).
    """

    def __init__(self, n_molecules: int, smiles: str, physics: dict | None = None, model=None,
                 valence: dict | None = None, short_range: tuple[float, float] | None = None):
        super().__init__()
        if n_molecules < 1:
            raise InputError(f"a liquid box needs at least one molecule, got {n_molecules}")
        self.n_molecules, self.smiles = n_molecules, smiles
        self.model = model
        self._tiled: dict = {}
        settings = periodic_settings(physics)
        if model is not None:
            options = model.physics
            settings = replace(settings, penetration=options["penetration"], epsilon_rule=options["epsilon_rule"],
                               ct_cutoff=options["ct_cutoff_A"])
        self.settings = settings
        self.short_range = short_range
        if short_range is not None and short_range[0] > max(settings.cutoff, settings.ewald.cutoff):
            raise InputError(f"the short-range cutoff {short_range[0]} A exceeds every cutoff of the potential")
        self._reference: dict = {}
        # the list covers these settings' cutoffs, the model's charge-transfer cutoff included
        self.neighbors = neighbor_list(physics, settings)
        for name in ("contact", "environment"):
            correction = getattr(model, name, None)
            if correction is not None and (self.neighbors.cutoff is None
                                           or self.neighbors.cutoff < correction.config.cutoff):
                raise InputError(f"the model's {name} correction needs pairs within {correction.config.cutoff} A; "
                                 f"the neighbour list holds {self.neighbors.cutoff} A")
        self.topology = degdme_topology(n_molecules, smiles)
        self.valence = MMFFIntramolecular(smiles, n_molecules, nonbonded=False)
        if valence is not None:
            self.valence.load_state_dict(valence)
        self.prior = None if model is not None else prior_parameters(n_molecules, smiles)
        self.to(physics_dtype(physics))

    @property
    def name(self) -> str:
        """``prior``, or the kind of the trained model."""
        return PRIOR if self.model is None else self.model.kind

    def _apply(self, fn, recurse=True):
        """Moves and casts the fixed prior tensors with the module (``.to(dtype)``)."""
        super()._apply(fn, recurse)
        self._reference = {}
        if self.prior is not None:
            self.prior = {k: fn(v) for k, v in self.prior.items()}
        return self

    def atom_parameters(self, positions: torch.Tensor, cell: torch.Tensor) -> dict:
        """Per-atom AMOEBA+ parameters of the box (the physics contract's keys)."""
        if self.model is None:
            return self.prior
        key = (positions.device, next(self.model.parameters()).dtype)
        if key not in self._tiled:  # priors, types and molecule ids of the box: built once, not every step
            self._tiled = {key: self.model.tiled(self.n_molecules, positions.device)}
        tiled = self._tiled[key]
        shells = None
        if self.model.environment is not None:
            shells = self.model.environment_shells(positions, self.neighbors.get(positions, cell), tiled)
        return self.model.atom_parameters(positions, self.n_molecules, tiled=tiled, shells=shells)

    def _nonbonded(self, positions: torch.Tensor, cell: torch.Tensor, intramolecular) -> tuple[torch.Tensor, dict]:
        expected = self.n_molecules * self.valence.n_per_molecule
        if positions.shape != (expected, 3):
            raise InputError(f"positions {tuple(positions.shape)} do not match {self.n_molecules} molecules "
                             f"({expected} atoms)")
        if cell is None:
            raise InputError("the liquid potential is periodic: give a cell")
        params = self.atom_parameters(positions, cell)
        energy, terms = total_energy(positions, self.topology, params, cell, settings=self.settings,
                                     intramolecular=intramolecular, neighbors=self.neighbors)
        if getattr(self.model, "contact", None) is not None:
            tiled = next(iter(self._tiled.values()))
            terms["contact"] = self.model.contact(positions, tiled["numbers"], tiled["mol_id"],
                                                  self.neighbors.get(positions, cell))
            energy = energy + terms["contact"]
        return energy, terms

    def energy_terms(self, positions: torch.Tensor, cell: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Total energy (kcal/mol) and its parts (valence and each non-bonded term)."""
        return self._nonbonded(positions, cell, self.valence)

    def forward(self, positions: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        return self.energy_terms(positions, cell)[0]

    def fast_energy(self, positions: torch.Tensor) -> torch.Tensor:
        """The valence energy (kcal/mol): the fast forces of multiple time stepping (parameters fixed)."""
        return self.valence.valence_energy(positions)

    def slow_energy(self, positions: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """Everything but the valence terms (kcal/mol): PME, polarization, charge transfer, vdW and,
        for a trained model, the parameter network; the outer-step forces of multiple time stepping."""
        return self._nonbonded(positions, cell, None)[0]

    def reference_parameters(self, positions: torch.Tensor, cell: torch.Tensor) -> dict:
        """Fixed per-atom parameters of :meth:`middle_energy`: the prior's; a ``physics`` model's table
        (its parameters do not depend on the positions); a ``pinn``'s priors (its own parameters move
        with the positions; fixed ones keep the split exact, see the module docstring). Kept per device."""
        if self.model is None:
            return self.prior
        if positions.device not in self._reference:
            tiled = self.model.tiled(self.n_molecules, positions.device)
            if self.model.kind == "pinn":
                params = dict(tiled["priors"], vdw_reduction=tiled["reduction"])
            else:
                with torch.no_grad():
                    params = self.atom_parameters(positions.detach(), cell)
            self._reference = {positions.device: {k: v.detach() for k, v in params.items()}}
        return self._reference[positions.device]

    def middle_energy(self, positions: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """The switched short-range non-bonded energy (kcal/mol) with :meth:`reference_parameters`:
        the middle-step forces of RESPA1 (the outer step gets the rest)."""
        if self.short_range is None:
            raise InputError("this liquid potential has no short-range part (short_range not set)")
        cutoff, width = self.short_range
        return short_range_energy(positions, self.topology, self.reference_parameters(positions, cell),
                                  self.neighbors.get(positions, cell), cutoff=cutoff, switch_width=width,
                                  settings=self.settings)

    @property
    def bonds(self) -> torch.Tensor:
        """(m, 2) int64 bonded atom pairs of the whole box."""
        return self.valence.bond_idx

    @property
    def symbols(self) -> list[str]:
        """Element of each atom of the box."""
        return list(self.topology.symbols)


def load_valence(path: str | None, smiles: str) -> dict | None:
    """Refitted valence parameters written by ``pinnff fit-intramolecular`` (None: keep MMFF94)."""
    if path is None:
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files
        raise InputError(f"{path}: not a valence parameter file ({exc})") from None
    if payload.get("smiles") != smiles:
        raise InputError(f"{path}: fitted for {payload.get('smiles')}, the box holds {smiles}")
    return payload["valence"]


def load_liquid_potential(source: str, n_molecules: int, smiles: str, physics: dict | None = None,
                          valence: str | None = None, short_range: tuple[float, float] | None = None
                          ) -> LiquidPotential:
    """The liquid potential of a trained checkpoint path, or of the classical prior (``source == "prior"``),
    with the valence parameters of ``valence`` (a ``pinnff fit-intramolecular`` file) when given and
    the short-range middle level of ``short_range`` (cutoff, switch width) A when given."""
    model = None if source == PRIOR else load_model(source, PHYSICS_KINDS)
    if model is not None and model.smiles != smiles:
        raise InputError(f"{source}: trained for {model.smiles}, the box holds {smiles}")
    return LiquidPotential(n_molecules, smiles, physics, model, load_valence(valence, smiles), short_range)
