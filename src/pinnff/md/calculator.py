"""ASE calculator for any pinnff torch potential.

A potential is a ``torch.nn.Module`` whose ``forward(positions, cell)``
takes positions ``(n, 3)`` in Angstrom and the cell ``(3, 3)`` in Angstrom
(rows are lattice vectors; ``None`` for an isolated cluster) and returns the
potential energy in kcal/mol as a scalar tensor. Forces are the exact
negative gradient (autograd); the stress comes from the derivative with
respect to a homogeneous strain of positions and cell. Units are converted
here, and only here: ASE receives eV, eV/Angstrom and eV/Angstrom^3.
"""

from __future__ import annotations

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from pinnff.units import EV_TO_KCAL


class PotentialCalculator(Calculator):
    """Energy, forces and (periodic systems) stress from a torch potential."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential: torch.nn.Module, dtype: torch.dtype = torch.float64, device: str = "cpu", **kwargs):
        super().__init__(**kwargs)
        self.potential = potential.to(device=device, dtype=dtype)
        self.dtype, self.device = dtype, device

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        periodic = bool(self.atoms.pbc.any())
        positions = torch.tensor(self.atoms.positions, dtype=self.dtype, device=self.device)
        cell = torch.tensor(self.atoms.cell.array, dtype=self.dtype, device=self.device) if periodic else None
        strain = torch.zeros(3, 3, dtype=self.dtype, device=self.device, requires_grad=True)
        deformation = torch.eye(3, dtype=self.dtype, device=self.device) + 0.5 * (strain + strain.T)
        positions.requires_grad_(True)
        if periodic:
            strained_positions = positions @ deformation
            energy = self.potential(strained_positions, cell @ deformation)
        else:
            energy = self.potential(positions, None)
        wanted = [positions] + ([strain] if periodic and "stress" in properties else [])
        gradients = torch.autograd.grad(energy, wanted)
        energy_ev = float(energy.detach()) / EV_TO_KCAL
        self.results["energy"] = self.results["free_energy"] = energy_ev
        self.results["forces"] = -gradients[0].detach().cpu().numpy() / EV_TO_KCAL
        if len(gradients) > 1:
            virial = gradients[1].detach().cpu().numpy() / EV_TO_KCAL  # dE/d(strain), eV
            stress = virial / self.atoms.get_volume()
            self.results["stress"] = np.array([stress[0, 0], stress[1, 1], stress[2, 2],
                                               stress[1, 2], stress[0, 2], stress[0, 1]])
