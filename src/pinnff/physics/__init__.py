"""AMOEBA+ physics in torch: every term takes positions (n, 3) A, a
:class:`Topology`, an optional cell and a dict of per-atom parameter tensors,
and returns an energy in kcal/mol (forces by autograd).

Per-atom keys: 'charge' (n,) e; 'dipole' (n, 3) e*A and 'quadrupole'
(n, 3, 3) e*A^2 (traceless Buckingham Theta) in the local frame;
'polarizability' (n,) A^3; 'cp_core' (n,) e; 'cp_alpha' (n,) 1/A; 'ct_A'
(n,); 'ct_B' (n,) 1/A; 'vdw_radius' (n,) A (R_min); 'vdw_epsilon' (n,)
kcal/mol; 'vdw_reduction' (n,).

Periodic boxes: smooth PME (:mod:`pme`; plain Ewald in :mod:`ewald` is the
reference) for multipoles and induced dipoles, the isotropic long-range vdW
correction, and a Verlet list whose per-term sub-lists and scale factors
are memoized (:mod:`pairs`); :mod:`settings` builds all of it from the
``physics`` config section. :mod:`short_range` is the switched short-range
part that multiple time stepping moves to a middle step.

Known limitations (see each module): no charge flux; Tinker chirality flips
of local frames not applied; ``Scales.intermolecular_only`` is refused under
Ewald/PME; the GORDON2 and AMOEBA+ direct-field damping deficits are cut at
the real-space cutoff (as in Tinker); "mutual" polarization gives exact
forces but its parameter derivatives of forces (double backward) miss
d(mu)/d(theta): train on forces with the "exact" (small systems) or
"extrapolated" solver.
"""

from pinnff.physics.chargetransfer import charge_transfer_energy
from pinnff.physics.degdme import degdme_topology, prior_parameters
from pinnff.physics.energy import PhysicsSettings, total_energy
from pinnff.physics.multipole import permanent_energy
from pinnff.physics.polarization import PolarizationSettings, induced_dipoles, polarization_energy
from pinnff.physics.short_range import short_range_energy
from pinnff.physics.topology import Scales, Topology
from pinnff.physics.vdw import vdw_energy

__all__ = [
    "PhysicsSettings", "PolarizationSettings", "Scales", "Topology", "charge_transfer_energy",
    "degdme_topology", "induced_dipoles", "permanent_energy", "polarization_energy", "prior_parameters",
    "short_range_energy", "total_energy", "vdw_energy",
]
