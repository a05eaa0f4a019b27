"""The short-range part of the non-bonded energy: what multiple time stepping moves to a middle step.

``short_range_energy`` is, over the pairs of a neighbour list within ``cutoff``,

- the permanent multipoles (with charge penetration when the settings have
  it) with the AMOEBA 1-n scalings: under Ewald (``settings.ewald``) the
  erfc-screened real-space pair energies of the full potential's splitting,
  without it plain ones,
- the buffered 14-7 vdW,

each pair's energy switched off smoothly (quintic, C2) between
``cutoff - switch_width`` and ``cutoff``, plus the whole charge-transfer
energy (already short-ranged: its own cutoff and switch). Reciprocal space
and polarization stay on the outer step.

Screening matters: a plain 1/r pair energy is still about 10 kcal/mol for
two partial charges at the switch, so its switching force, modulated by
bond vibrations, leaves fast forces on the outer step (measured: NVE energy
fluctuation 3.6 instead of 0.3 kcal/mol on the 64-molecule box at a 6 fs
outer step); screened, it is a few thousandths of that.

The energy is a smooth function of the positions, so the split
``E = E_short + (E - E_short)`` is exact for any parameters; an MD
potential evaluates it with fixed reference parameters (see
:meth:`pinnff.md.potential.LiquidPotential.middle_energy`). This is the
RESPA1 splitting of Tinker-HP (Lagardere, Aviat and Piquemal, J. Phys.
Chem. Lett. 10, 2593 (2019)) without its short-range polarization.
Energies in kcal/mol, lengths in Angstrom.
"""

from __future__ import annotations

import torch

from pinnff.physics.chargetransfer import charge_transfer_energy
from pinnff.physics.electrostatics import Electrostatics
from pinnff.physics.energy import PhysicsSettings
from pinnff.physics.multipole import pair_sum_energy
from pinnff.physics.pairs import PairList
from pinnff.physics.topology import Topology
from pinnff.physics.vdw import vdw_energy


def short_range_energy(positions: torch.Tensor, topology: Topology, params: dict, pairs: PairList, *,
                       cutoff: float, switch_width: float, settings: PhysicsSettings) -> torch.Tensor:
    """Switched short-range non-bonded energy (kcal/mol, 0-d) of positions (n, 3) A.

    ``params``: per-atom tensors of the physics contract; ``pairs``: a pair
    list (periodic shifts allowed) holding every pair within ``cutoff`` and the charge-transfer cutoff;
    ``settings``: the terms, penetration, epsilon rule, scalings, Ewald splitting
    and charge-transfer cutoff of the full potential.
    """
    if not 0 < switch_width < cutoff:
        raise ValueError(f"the short-range switch width must lie in (0, {cutoff}) A, got {switch_width}")
    on = cutoff - switch_width
    energy = positions.new_zeros(())
    if "multipole" in settings.terms:
        shared = Electrostatics(positions, topology, params, pairs=pairs, cutoff=cutoff, scales=settings.scales)
        energy = energy + pair_sum_energy(shared, params, cutoff, penetration=settings.penetration,
                                          ewald=settings.ewald, switch=on)
    if "vdw" in settings.terms:
        energy = energy + vdw_energy(positions, topology, params, pairs=pairs, cutoff=cutoff, taper=on / cutoff,
                                     epsilon_rule=settings.epsilon_rule, scales=settings.scales)
    if "charge_transfer" in settings.terms:
        energy = energy + charge_transfer_energy(positions, topology, params, pairs=pairs, cutoff=settings.ct_cutoff,
                                                 taper=settings.ct_taper, scales=settings.scales)
    return energy
