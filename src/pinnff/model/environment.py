"""Environment-dependent AMOEBA+ parameters: corrections driven by an atom's intermolecular neighbours (torch).

The PINN's parameter network (:mod:`pinnff.model.network`) sees only the atom's own molecule, and the
training dimers are rigid copies of a few dozen pool conformers, so its
parameters can only be conformer-specific. Where molecules interlock, the
fixed pairwise forms of AMOEBA+ (14-7 repulsion, damped multipoles,
polarizabilities) misfit, and the misfit grows with the number of close
contacts. This module lets each atom's parameters respond to its contacts.
Per atom ``i`` of element ``e``, a further raw correction (before the bounded
maps of :func:`pinnff.model.heads.bounded_parameters`)::

    raw_env_i = phi_e(G_i) - phi_e(0)          (N_OUTPUTS,)

with ``G_i`` the intermolecular radial shells of
:class:`pinnff.model.descriptors.IntermolecularShells` and ``phi_e`` a small
MLP per element whose last layer starts at zero. Hence:

- a molecule with no atom of another molecule within ``cutoff`` has exactly
  the parameters it has without this module (monomer energies, the
  intramolecular fit and long-range physics are untouched);
- every parameter stays inside the bounds of the heads (the correction is
  added in the raw space);
- the correction is per atom, not averaged over symmetry-equivalent atoms:
  two equivalent atoms with different neighbours differ;
- the energy stays a smooth function of the positions (forces by autograd,
  continuous where a neighbour crosses the cutoff), invariant to rotation,
  translation and permutation of like atoms. It is many-body: a parameter
  depends on all of an atom's neighbours at once.

Because a molecule's charges and multipoles change with its neighbours, its
intramolecular electrostatics change too: the interaction energy of a rigid
cluster then needs the intramolecular pairs of the cluster (with the
cluster's parameters) minus those of each molecule alone
(:meth:`pinnff.model.physics_potential.PhysicsPotential.prepare`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pinnff.errors import InputError
from pinnff.model.descriptors import IntermolecularShells
from pinnff.model.heads import N_OUTPUTS, mlp
from pinnff.model.settings import PlainSettings


@dataclass(frozen=True)
class EnvironmentConfig(PlainSettings):
    """``cutoff`` A, ``start`` A (first shell centre), ``shells`` count, ``eta`` 1/A^2, ``hidden`` layer
    widths, ``weight`` kcal^2/mol^2 (price of the mean squared raw correction in the training loss),
    ``species`` atomic numbers."""

    cutoff: float = 4.5
    start: float = 1.5
    shells: int = 8
    eta: float = 4.0
    hidden: tuple[int, ...] = (16, 16)
    weight: float = 10.0
    species: tuple[int, ...] = (1, 6, 8)

    SETTINGS_NAME = "environment correction settings"

    def __post_init__(self):
        if self.weight < 0:
            raise InputError(f"environment correction: weight must be >= 0, got {self.weight}")


class EnvironmentCorrection(torch.nn.Module):
    """Raw parameter corrections ``(n, N_OUTPUTS)`` from intermolecular shells (see the module docstring)."""

    def __init__(self, config: EnvironmentConfig | None = None):
        super().__init__()
        self.config = config = config or EnvironmentConfig()
        self.shells = IntermolecularShells(config.cutoff, config.start, config.shells, config.eta, config.species)
        self.mlps = torch.nn.ModuleList(mlp(self.shells.n_features, config.hidden, N_OUTPUTS, init_scale=0.0)
                                        for _ in config.species)

    def features(self, positions: torch.Tensor, numbers: torch.Tensor, mol_id: torch.Tensor, pairs) -> torch.Tensor:
        """Shells ``G`` (n, n_features) of atoms at ``positions`` (n, 3) A; ``pairs`` (a PairList) must hold
        every intermolecular pair within the cutoff."""
        element = self.shells.element(numbers).to(positions.device)
        return self.shells.features(positions, self.shells.pairs(pairs, mol_id), element)

    def forward(self, features: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """``phi_e(G) - phi_e(0)`` (n, N_OUTPUTS) for shells ``features`` (n, n_features)."""
        element = self.shells.element(numbers).to(features.device)
        out = features.new_zeros(features.shape[0], N_OUTPUTS)
        zero = features.new_zeros(1, self.shells.n_features)
        with torch.no_grad():  # atoms without neighbours get exactly zero (not a round-off of it)
            seen = (features != 0).any(dim=1)
        for k, network in enumerate(self.mlps):
            rows = torch.nonzero((element == k) & seen).flatten()
            if rows.numel():
                out = out.index_copy(0, rows, network(features.index_select(0, rows)) - network(zero))
        return out
