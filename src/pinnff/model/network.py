"""Positions to AMOEBA+ per-atom parameters: intramolecular descriptors, then the parameter heads (torch).

The composition the PINN uses (MACE/TorchANI style: small modules composed
explicitly). The energy itself comes from the physics engine
(``pinnff.physics``), which takes these parameters.
"""

from __future__ import annotations

import torch

from pinnff.errors import InputError
from pinnff.model.descriptors import DescriptorConfig, SymmetryFunctions
from pinnff.model.heads import HeadConfig, ParameterHeads


class ParameterNetwork(torch.nn.Module):
    """``(positions (n, 3) A, numbers (n,), mol_id (n,), priors)`` -> per-atom AMOEBA+ parameters.

    Descriptors see only the atom's own molecule. Output keys, shapes and
    units are those of :class:`pinnff.model.heads.ParameterHeads`; every
    output is differentiable w.r.t. the positions.
    """

    def __init__(self, descriptors: DescriptorConfig | None = None, heads: HeadConfig | None = None):
        super().__init__()
        self.descriptors = SymmetryFunctions(descriptors)
        if heads is not None and tuple(heads.species) != tuple(self.descriptors.config.species):
            raise InputError(f"head species {list(heads.species)} differ from descriptor species {list(self.descriptors.config.species)}")
        self.heads = ParameterHeads(self.descriptors.n_features, heads or HeadConfig(species=self.descriptors.config.species))

    def config_dict(self) -> dict:
        """Plain-type settings that rebuild this network with :meth:`from_config_dict`."""
        return {"descriptors": self.descriptors.config.as_dict(), "heads": self.heads.config.as_dict()}

    @classmethod
    def from_config_dict(cls, values: dict) -> "ParameterNetwork":
        return cls(DescriptorConfig.from_dict(values["descriptors"]), HeadConfig.from_dict(values["heads"]))

    def forward(self, positions, numbers, mol_id, priors, classes=None, mol_charge=None, cell=None) -> dict[str, torch.Tensor]:
        """Parameters for every atom; see :meth:`ParameterHeads.forward` for ``priors``, ``classes``, ``mol_charge``."""
        features = self.descriptors(positions, numbers, mol_id=mol_id, cell=cell)
        return self.heads(features, numbers, mol_id, priors, classes=classes, mol_charge=mol_charge)
