"""Sum of the AMOEBA+ terms (plus the intramolecular model) with its decomposition.

``total_energy(positions, topology, params, cell=None, settings=...)``
returns ``(E_total, {"multipole", "polarization", "vdw", ["vdw_long_range"],
"charge_transfer", ["intramolecular"]})`` in kcal/mol (the long-range vdW
correction under a cell only); forces by autograd. With ``segments`` (a
batch of independent non-periodic structures and an explicit pair list that
never joins two of them) every energy has shape ``(segments.size,)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pinnff.physics.chargetransfer import charge_transfer_energy
from pinnff.physics.electrostatics import Electrostatics
from pinnff.physics.ewald import EwaldSettings
from pinnff.errors import InputError
from pinnff.physics.multipole import permanent_energy
from pinnff.physics.pairs import PairList, Segments, build_pairs
from pinnff.physics.polarization import PolarizationSettings, polarization_energy
from pinnff.physics.topology import Scales, Topology
from pinnff.physics.vdw import long_range_correction, vdw_energy


@dataclass(frozen=True)
class PhysicsSettings:
    """Choices of the inter-molecular model (lengths in A).

    cutoff: non-bonded cutoff (None: all pairs, non-periodic only); vdW is
    tapered from ``vdw_taper * cutoff``. ct_cutoff / ct_taper: charge
    transfer switch. penetration: GORDON2 charge penetration on the
    permanent multipoles. terms: which terms to evaluate. scales: AMOEBA 1-n
    factors without polarization groups (AMOEBA+ style; the DEGDME topology
    puts every atom in its own group).
    """

    cutoff: float | None = None
    vdw_taper: float = 0.9
    ct_cutoff: float = 6.0
    ct_taper: float = 0.9
    penetration: bool = True
    epsilon_rule: str = "HHG"
    scales: Scales = field(default_factory=lambda: Scales(use_polar_groups=False))
    polarization: PolarizationSettings = field(default_factory=PolarizationSettings)
    terms: tuple[str, ...] = ("multipole", "polarization", "vdw", "charge_transfer")
    ewald: EwaldSettings | None = None
    """Required under a cell: Ewald sums (plain or PME) for multipoles and induced dipoles; its
    cutoff is the real-space cutoff (``cutoff`` then applies to vdW and must be set)."""
    vdw_correction: bool = True
    """Under a cell, add the isotropic long-range vdW correction (part "vdw_long_range")."""


def pair_cutoff(settings: PhysicsSettings, periodic: bool) -> float | None:
    """Largest cutoff (A) of any term: what a neighbour list must cover (None: all pairs, non-periodic)."""
    if periodic:
        return max(settings.cutoff, settings.ewald.cutoff, settings.ct_cutoff)
    return None if settings.cutoff is None else max(settings.cutoff, settings.ct_cutoff)


def total_energy(positions: torch.Tensor, topology: Topology, params: dict, cell=None, *,
                 settings: PhysicsSettings = PhysicsSettings(), intramolecular=None, neighbors=None,
                 pairs: PairList | None = None, segments: Segments | None = None, lab: tuple | None = None):
    """Total energy (scalar, or per segment; kcal/mol) and its per-term dict.

    positions (n, 3) A; params the per-atom tensors of the physics contract;
    ``intramolecular`` an optional callable ``(positions) -> energy`` (e.g.
    :class:`pinnff.physics.intramolecular.MMFFIntramolecular`); ``neighbors``
    an optional :class:`pinnff.physics.pairs.NeighborCache` (Verlet list with
    skin) whose cutoff covers every term's cutoff; or ``pairs`` an explicit
    non-periodic pair list (e.g. :func:`pinnff.physics.pairs.segment_pairs`,
    or only the intermolecular pairs when the intramolecular ones cancel).
    ``lab``: the lab-frame multipoles (:func:`pinnff.physics.electrostatics.lab_frame`) of these
    positions and params, where a caller evaluates one geometry more than once.
    """
    s = settings
    if pairs is not None and (cell is not None or neighbors is not None):
        raise InputError("explicit pairs are for non-periodic systems without a neighbour list")
    if segments is not None and pairs is None:
        raise InputError("per-segment energies need the explicit pair list that keeps the segments apart")
    if cell is not None and (s.ewald is None or s.cutoff is None):
        raise InputError("periodic systems need settings.ewald and settings.cutoff")
    list_cutoff = pair_cutoff(s, periodic=cell is not None)
    explicit = pairs is not None or neighbors is not None  # vdW otherwise lists its own (site) pairs
    if neighbors is not None:
        if list_cutoff is not None and (neighbors.cutoff is None or neighbors.cutoff < list_cutoff):
            raise InputError(f"neighbour list cutoff {neighbors.cutoff} is below the terms' cutoff {list_cutoff}")
        pairs = neighbors.get(positions, cell)
    elif pairs is None:
        pairs = build_pairs(positions, cell, list_cutoff)
    parts = {}
    ewald = s.ewald if cell is not None else None
    shared = None
    if "multipole" in s.terms or "polarization" in s.terms:
        shared = Electrostatics(positions, topology, params, cell, pairs=pairs, cutoff=s.cutoff, ewald=ewald,
                                scales=s.scales, lab=lab)
    if "multipole" in s.terms:
        parts["multipole"] = permanent_energy(positions, topology, params, cell, pairs=pairs,
                                              cutoff=s.cutoff, penetration=s.penetration, scales=s.scales,
                                              ewald=ewald, segments=segments, shared=shared)
    if "polarization" in s.terms:
        parts["polarization"] = polarization_energy(positions, topology, params, cell, pairs=pairs,
                                                    scales=s.scales, settings=s.polarization, ewald=ewald,
                                                    segments=segments, shared=shared)
    if "vdw" in s.terms:
        parts["vdw"] = vdw_energy(positions, topology, params, cell, pairs=pairs if explicit else None,
                                  cutoff=s.cutoff, taper=s.vdw_taper,
                                  epsilon_rule=s.epsilon_rule, scales=s.scales, segments=segments)
    if "vdw" in s.terms and cell is not None and s.vdw_correction:
        parts["vdw_long_range"] = long_range_correction(topology, params, cell, s.cutoff, s.vdw_taper,
                                                        s.epsilon_rule)
    if "charge_transfer" in s.terms:
        parts["charge_transfer"] = charge_transfer_energy(positions, topology, params, cell, pairs=pairs,
                                                          cutoff=s.ct_cutoff, taper=s.ct_taper, scales=s.scales,
                                                          segments=segments)
    if intramolecular is not None:
        parts["intramolecular"] = intramolecular(positions)
    total = sum(parts.values())
    return total, parts
