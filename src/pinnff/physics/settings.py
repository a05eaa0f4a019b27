"""Periodic (liquid) physics settings from the ``physics`` section of the configuration.

The section (keys, units and defaults in ``config.schema.yaml``, meanings in
``config/README.md``) chooses the long-range electrostatics, cutoffs,
tapers, the polarization solver and the neighbour-list skin of a liquid
box. :func:`periodic_settings` turns it into :class:`PhysicsSettings` and
:func:`neighbor_list` into the matching Verlet list.
"""

from __future__ import annotations

import torch

from pinnff.errors import InputError
from pinnff.physics.energy import PhysicsSettings, pair_cutoff
from pinnff.physics.ewald import EwaldSettings
from pinnff.physics.pairs import NeighborCache
from pinnff.physics.polarization import PolarizationSettings
from pinnff.physics.topology import Scales


def _section(section: dict | None) -> dict:
    """The section with the schema's defaults filled in (validated: one clear line on a bad key)."""
    from pinnff.config import validate_section

    return validate_section(section, "physics")


def periodic_settings(section: dict | None = None) -> PhysicsSettings:
    """:class:`PhysicsSettings` of a periodic box from the ``physics`` config section (None: defaults)."""
    s = _section(section)
    ewald = EwaldSettings(cutoff=s["real_cutoff_A"], tolerance=s["ewald_tolerance"], method=s["electrostatics"],
                          pme_spacing=s["pme_spacing_A"], pme_order=s["pme_order"])
    polarization = PolarizationSettings(solver=s["polarization"], tol=s["polarization_tol_debye"])
    if s["ct_cutoff_A"] > max(s["vdw_cutoff_A"], s["real_cutoff_A"]):
        raise InputError("config: physics.ct_cutoff_A exceeds both the vdW and the real-space cutoff")
    return PhysicsSettings(cutoff=s["vdw_cutoff_A"], vdw_taper=s["vdw_taper"], ct_cutoff=s["ct_cutoff_A"],
                           ct_taper=s["ct_taper"], penetration=s["penetration"], epsilon_rule=s["epsilon_rule"],
                           scales=Scales(use_polar_groups=False), polarization=polarization, ewald=ewald,
                           vdw_correction=s["vdw_long_range_correction"])


def neighbor_list(section: dict | None = None, settings: PhysicsSettings | None = None) -> NeighborCache:
    """The Verlet list (skin from the section) covering every cutoff of ``settings``
    (default: :func:`periodic_settings` of the section)."""
    settings = settings if settings is not None else periodic_settings(section)
    return NeighborCache(cutoff=pair_cutoff(settings, periodic=True), skin=_section(section)["neighbor_skin_A"])


def dtype(section: dict | None = None) -> torch.dtype:
    """The floating-point type of the section (float32 or float64)."""
    return getattr(torch, _section(section)["dtype"])
