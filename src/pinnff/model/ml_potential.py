"""The pure machine-learning baseline: a Behler-Parrinello-style potential, no physics terms.

Energy = sum of atomic energies, each from a per-element multilayer
perceptron of the atom's symmetry-function descriptors over the whole
cluster (intra- and intermolecular neighbours within the cutoff). The
interaction energy follows by subtraction: E_int = E(cluster) - sum E(monomer),
so per-element reference energies cancel. Units: kcal/mol, Angstrom.

For training on energies of rigid geometries the descriptors do not depend
on the weights, so :meth:`MLPotential.prepare` computes them once per sample.
"""

from __future__ import annotations

import torch

from pinnff.model.descriptors import DescriptorConfig, SymmetryFunctions


class MLPotential(torch.nn.Module):
    """Descriptors -> per-element MLP -> atomic energies (kcal/mol)."""

    kind = "ml"

    def __init__(self, descriptors: DescriptorConfig | None = None, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.descriptors = SymmetryFunctions(descriptors or DescriptorConfig(radial_cutoff=6.0))
        self.hidden = tuple(hidden)
        n_in = self.descriptors.n_features
        self.networks = torch.nn.ModuleList()
        for _ in self.descriptors.config.species:
            layers, width = [], n_in
            for size in self.hidden:
                layers += [torch.nn.Linear(width, size), torch.nn.SiLU()]
                width = size
            layers.append(torch.nn.Linear(width, 1))
            self.networks.append(torch.nn.Sequential(*layers))
        self.register_buffer("feature_mean", torch.zeros(n_in))
        self.register_buffer("feature_std", torch.ones(n_in))

    def config_dict(self) -> dict:
        """Plain settings that rebuild this model (checkpoints)."""
        return {"kind": self.kind, "descriptors": self.descriptors.config.as_dict(), "hidden": list(self.hidden)}

    @classmethod
    def from_config_dict(cls, values: dict) -> "MLPotential":
        return cls(DescriptorConfig.from_dict(values["descriptors"]), tuple(values["hidden"]))

    def atomic_energies(self, features: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """Energy of each atom ``(n,)`` from its descriptors ``(n, n_features)``."""
        scaled = (features - self.feature_mean) / self.feature_std
        elements = self.descriptors.element_index(numbers)
        energies = torch.zeros(len(numbers), dtype=features.dtype, device=features.device)
        for index, network in enumerate(self.networks):
            chosen = elements == index
            if chosen.any():
                energies = energies.index_put((chosen.nonzero().squeeze(1),), network(scaled[chosen]).squeeze(1))
        return energies

    def forward(self, positions: torch.Tensor, numbers: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """Total energy (kcal/mol, up to per-element constants) of one structure."""
        return self.atomic_energies(self.descriptors(positions, numbers, cell=cell), numbers).sum()

    # --- training on interaction energies ------------------------------------
    def prepare(self, clusters: list) -> dict:
        """Descriptors of every cluster and of each of its isolated monomers, concatenated.

        Geometries are fixed, so this runs once per data set. Keys:
        ``features`` (m, n_features), ``numbers`` (m,), ``sample`` (m,) index of
        the cluster each row belongs to, ``sign`` (m,) +1 for cluster atoms and
        -1 for monomer atoms, ``n_samples``.
        """
        features, numbers, sample, sign = [], [], [], []
        with torch.no_grad():
            for index, cluster in enumerate(clusters):
                parts = [(cluster.positions, cluster.numbers, 1.0)]
                parts += [(cluster.positions[mask], cluster.numbers[mask], -1.0) for mask in cluster.monomers()]
                for positions, z, weight in parts:
                    features.append(self.descriptors(positions, z))
                    numbers.append(z)
                    sample.append(torch.full((len(z),), index, dtype=torch.long))
                    sign.append(torch.full((len(z),), weight, dtype=positions.dtype))
        return {"features": torch.cat(features), "numbers": torch.cat(numbers), "sample": torch.cat(sample),
                "sign": torch.cat(sign), "n_samples": len(clusters)}

    def fit_normalization(self, prepared: dict) -> None:
        """Feature mean and std from prepared training data."""
        self.feature_mean.copy_(prepared["features"].mean(0))
        self.feature_std.copy_(prepared["features"].std(0).clamp_min(1e-6))

    def interaction_energies(self, prepared: dict) -> torch.Tensor:
        """E_int (kcal/mol) of every prepared cluster, shape ``(n_samples,)``."""
        atomic = self.atomic_energies(prepared["features"], prepared["numbers"]) * prepared["sign"]
        out = torch.zeros(prepared["n_samples"], dtype=atomic.dtype, device=atomic.device)
        return out.index_add(0, prepared["sample"], atomic)
