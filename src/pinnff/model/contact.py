"""Short-range contact correction: a bounded, learned many-body energy of close intermolecular contacts (torch).

The AMOEBA+ terms are pairwise additive (except polarization) and their
repulsion is a fixed 14-7 form; where two molecules interlock, many atom
pairs overlap at once and the physics over-binds. This term adds, per atom
``i`` (kcal/mol)::

    e_i = b tanh((phi_e(G_i) - phi_e(0)) / b)
    G_i[e', s] = sum_{j in other molecules, element e'} exp(-eta (r_ij - R_s)^2) f_c(r_ij; r_c)

with ``phi_e`` a small MLP per element ``e`` of atom ``i``, ``R_s`` evenly
spaced shell centres on ``[start, r_c)``, and ``f_c`` the cosine cutoff of
:func:`pinnff.model.descriptors.cosine_cutoff` (value and slope vanish at
``r_c``). Hence:

- ``e_i = 0`` exactly when atom ``i`` has no atom of another molecule within
  ``r_c``: monomers get nothing, long-range physics is untouched, and
  E_int of a rigid cluster gains ``sum_i e_i`` of the cluster;
- ``|e_i| < b`` (the bound, kcal/mol per atom);
- the energy is continuously differentiable in the positions (forces are its
  exact negative gradient through autograd, continuous at the cutoff), and
  invariant to rotation, translation and permutation of like atoms;
- it depends on all of an atom's intermolecular neighbours at once, so it is
  not pairwise additive (many-body overlap, e.g. interlocked chains).

The last layer of every MLP starts at zero, so a fresh correction is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pinnff.errors import InputError
from pinnff.model.descriptors import IntermolecularShells
from pinnff.model.heads import mlp
from pinnff.model.settings import PlainSettings
from pinnff.physics.pairs import PairList


@dataclass(frozen=True)
class ContactConfig(PlainSettings):
    """``cutoff`` A (r_c), ``start`` A (first shell centre), ``shells`` count, ``eta`` 1/A^2,
    ``hidden`` layer widths, ``bound`` kcal/mol per atom, ``species`` atomic numbers."""

    cutoff: float = 4.0
    start: float = 1.0
    shells: int = 8
    eta: float = 4.0
    hidden: tuple[int, ...] = (16, 16)
    bound: float = 2.0
    species: tuple[int, ...] = (1, 6, 8)

    SETTINGS_NAME = "contact correction settings"

    def __post_init__(self):
        if not 0 < self.start < self.cutoff:
            raise InputError(f"contact correction: need 0 < start < cutoff, got {self.start} and {self.cutoff} A")
        if self.shells < 1 or self.eta <= 0 or self.bound <= 0:
            raise InputError("contact correction: shells >= 1, eta > 0 and bound > 0 are required")


class ContactCorrection(torch.nn.Module):
    """Per-atom contact energies ``(n,)`` kcal/mol from intermolecular pairs (see the module docstring)."""

    def __init__(self, config: ContactConfig | None = None):
        super().__init__()
        self.config = config = config or ContactConfig()
        self.shells = IntermolecularShells(config.cutoff, config.start, config.shells, config.eta, config.species)
        self.n_features = self.shells.n_features
        self.mlps = torch.nn.ModuleList(mlp(self.n_features, config.hidden, 1, init_scale=0.0) for _ in config.species)

    def atom_energies(self, features: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
        """``e_i`` (n,) kcal/mol from features ``(n, n_features)``."""
        out = features.new_zeros(features.shape[0])
        zero = features.new_zeros(1, self.n_features)
        bound = self.config.bound
        for k, network in enumerate(self.mlps):
            rows = torch.nonzero(element == k).flatten()
            if rows.numel():
                raw = (network(features.index_select(0, rows)) - network(zero)).squeeze(-1)
                out = out.index_put((rows,), bound * torch.tanh(raw / bound))
        return out

    def forward(self, positions: torch.Tensor, numbers: torch.Tensor, mol_id: torch.Tensor,
                pairs: PairList) -> torch.Tensor:
        """Total contact energy (kcal/mol, scalar) of a structure; ``pairs`` must hold every pair within the cutoff."""
        element = self.shells.element(numbers).to(positions.device)
        contacts = self.shells.pairs(pairs, mol_id)
        return self.atom_energies(self.shells.features(positions, contacts, element), element).sum()
