"""pinnff's DEGDME (diglyme) box as an OpenMM ``System``, and OpenMM's MD speed on it.

The opposite direction of ``tests/physics/openmm_ref.py``: pinnff's own
topology, per-atom AMOEBA parameters (:func:`pinnff.physics.prior_parameters`
or any dict of the physics contract) and MMFF94 valence terms
(:class:`pinnff.physics.intramolecular.MMFFIntramolecular`) become

- ``AmoebaMultipoleForce``: charges, local dipoles and quadrupoles with
  pinnff's frames (Z-then-X, bisector, ... share OpenMM's axis-type codes),
  polarizabilities, one Thole width, damping factors alpha^(1/6);
  PME with pinnff's own splitting beta and grid (B-spline order 5, OpenMM's
  only one), or no cutoff without a cell;
- ``AmoebaVdwForce``: buffered 14-7, cubic-mean R_min, HHG or W-H epsilon,
  hydrogen reduction, exclusions, cutoff with OpenMM's fixed taper at
  0.9 cutoff, long-range correction on or off as in pinnff;
- the valence terms as Custom forces with pinnff's MMFF94 forms (bond,
  angle, stretch-bend, torsion; DEGDME has no out-of-plane centres, which
  :class:`MMFFIntramolecular` refuses anyway).

OpenMM cannot express all of pinnff's AMOEBA+ model; :func:`comparable_settings`
gives the pinnff settings that both engines evaluate identically:

- no charge penetration and no charge transfer (not in
  ``AmoebaMultipoleForce``);
- the direct field damped by AMOEBA's Thole u^3 (a = 0.39), not AMOEBA+'s
  u^1.5 (OpenMM has one Thole damping for every field);
- OpenMM's 1-n factors are fixed (mpole 0/0/0.4/0.8, polar 0/0/1/1 with 0.5
  at 1-4 inside a group, direct 0 inside a group and 1 elsewhere, mutual 1).
  pinnff's liquid scheme (every atom its own group, ``use_polar_groups``
  off: the inducing "d" field is scaled like the "p" field, 0/0/1/1) is
  expressed exactly by giving each atom its own 1-2 and 1-3 neighbours as
  ``PolarizationCovalent11`` (OpenMM's maps are per atom and need not be
  transitive): direct factor 0 there, 1 beyond, and no 1-4 pair falls in a
  group. Other :class:`pinnff.physics.Scales` are refused.

Units at the boundary: A -> nm (x 0.1), kcal -> kJ (x 4.184), dipole e*A ->
e*nm, quadrupole Theta e*A^2 -> Theta / 3 e*nm^2 (OpenMM stores Q = Theta/3),
polarizability A^3 -> nm^3, vdW R_min (A) -> sigma = R_min / 2 nm.

``python benchmarks/openmm_diglyme.py [--molecules 64] [--threads 2] [--steps 20]``
prints :func:`openmm_speed` (and one JSON line). OpenMM is a test extra,
never a runtime dependency of pinnff: only this script imports it.

Platforms: OpenMM ships AMOEBA kernels for Reference, CUDA and OpenCL only
(``libOpenMMAmoebaReference.so``, no AMOEBA CPU plugin). A Context on the
CPU platform runs, but its AMOEBA forces use the single-threaded Reference
kernels; the ``Threads`` property then only speeds up the valence Custom
forces and the integrator. :func:`openmm_speed` reports the platform the
Context ran on, its thread setting, wall and CPU time per step.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.physics import PhysicsSettings, Topology, degdme_topology, prior_parameters
from pinnff.physics.degdme import SMILES
from pinnff.physics.intramolecular import ANGLE_K, BOND_K, CB, CS, STBN_K, MMFFIntramolecular
from pinnff.physics.pme import grid_shape
from pinnff.physics.settings import periodic_settings

KJ_PER_KCAL = 4.184
NM_PER_A = 0.1
RAD2DEG = 180.0 / math.pi
VALENCE_TERMS = ("bond", "angle", "stretch_bend", "torsion")
"""Names of the valence forces (force names in the System, keys of MMFFIntramolecular.terms)."""
OPENMM_TAPER = 0.9
"""AmoebaVdwForce switches vdW off from 0.9 * cutoff to the cutoff (fixed in OpenMM)."""
OPENMM_PME_ORDER = 5
OPENMM_SCALES = dict(mpole=(0.0, 0.0, 0.4, 0.8), polar=(0.0, 0.0, 1.0, 1.0), mutual=(1.0, 1.0, 1.0, 1.0))
"""OpenMM's fixed AMOEBA 1-2..1-5 factors that pinnff's :class:`Scales` must equal."""


def comparable_settings(section: dict | None = None, polarization: str | None = None) -> PhysicsSettings:
    """pinnff's periodic settings of the ``physics`` config ``section`` (None: defaults) restricted to
    what OpenMM's AMOEBA evaluates: no charge penetration or transfer, Thole u^3 direct damping;
    ``polarization`` ("mutual" | "direct" | "extrapolated") overrides the section's solver."""
    s = periodic_settings(section)
    pol = replace(s.polarization, direct_damping="thole", solver=polarization or s.polarization.solver)
    return replace(s, penetration=False, polarization=pol, terms=("multipole", "polarization", "vdw"))


def _check_expressible(settings: PhysicsSettings) -> None:
    """One clear InputError when ``settings`` hold something OpenMM's AMOEBA forces cannot express."""
    sc = settings.scales
    problems = []
    if settings.penetration:
        problems.append("charge penetration")
    if "charge_transfer" in settings.terms:
        problems.append("charge transfer")
    if settings.polarization.direct_damping != "thole":
        problems.append(f"direct damping {settings.polarization.direct_damping!r} (OpenMM: thole)")
    for name, value in OPENMM_SCALES.items():
        if tuple(getattr(sc, name)) != value:
            problems.append(f"scales.{name} {getattr(sc, name)} (OpenMM: {value})")
    if sc.use_polar_groups and (sc.direct11, sc.polar14_intra, sc.mutual11) != (0.0, 0.5, 1.0):
        problems.append("polarization-group factors other than direct 0, 1-4 intra 0.5, mutual 1")
    if any(v not in (0.0, 1.0) for v in sc.vdw):
        problems.append(f"scales.vdw {sc.vdw} (OpenMM: exclusions only, 0 or 1)")
    if sc.intermolecular_only:
        problems.append("intermolecular_only")
    if settings.cutoff is not None and abs(settings.vdw_taper - OPENMM_TAPER) > 1e-12:
        problems.append(f"vdw_taper {settings.vdw_taper} (OpenMM: {OPENMM_TAPER})")
    if settings.ewald is not None and settings.ewald.pme_order != OPENMM_PME_ORDER:
        problems.append(f"pme_order {settings.ewald.pme_order} (OpenMM: {OPENMM_PME_ORDER})")
    if problems:
        raise InputError("OpenMM's AMOEBA cannot express: " + "; ".join(problems))


def _cell(cell_A) -> np.ndarray | None:
    """A (3, 3) cell in A (rows are lattice vectors) or None."""
    if cell_A is None:
        return None
    cell = np.asarray(cell_A, dtype=float)
    return np.diag(cell) if cell.shape == (3,) else cell


def multipole_force(topology: Topology, params: dict, settings: PhysicsSettings, cell_A=None):
    """``AmoebaMultipoleForce`` of per-atom ``params`` (physics contract, kcal/A/e units) on ``topology``."""
    import openmm

    force = openmm.AmoebaMultipoleForce()
    pol = settings.polarization
    kind = {"mutual": force.Mutual, "direct": force.Direct, "extrapolated": force.Extrapolated}
    if pol.solver not in kind:
        raise InputError(f"OpenMM polarization is mutual, direct or extrapolated, not {pol.solver!r}")
    force.setPolarizationType(kind[pol.solver])
    force.setMutualInducedTargetEpsilon(pol.tol)  # both: RMS of the induced dipoles, Debye
    force.setMutualInducedMaxIterations(pol.max_iter)
    force.setExtrapolationCoefficients(list(pol.extrapolation))
    cell = _cell(cell_A)
    if cell is None:
        force.setNonbondedMethod(force.NoCutoff)
    else:
        ew = settings.ewald
        force.setNonbondedMethod(force.PME)
        force.setCutoffDistance(ew.cutoff * NM_PER_A)
        force.setPMEParameters(ew.beta / NM_PER_A, *grid_shape(torch.tensor(cell), ew.pme_spacing, ew.pme_order))
    p = {k: v.detach().double().cpu().numpy() for k, v in params.items()}
    alpha_nm3 = p["polarizability"] * NM_PER_A ** 3
    for i in range(topology.n_atoms):
        force.addMultipole(float(p["charge"][i]), (p["dipole"][i] * NM_PER_A).tolist(),
                           (p["quadrupole"][i] / 3.0 * NM_PER_A ** 2).reshape(-1).tolist(),
                           int(topology.axis_type[i]), int(topology.frame_z[i]), int(topology.frame_x[i]),
                           int(topology.frame_y[i]), pol.thole, float(alpha_nm3[i]) ** (1.0 / 6.0),
                           float(alpha_nm3[i]))
    covalent = [force.Covalent12, force.Covalent13, force.Covalent14, force.Covalent15]
    maps = [[[i] for i in range(topology.n_atoms)] for _ in covalent]
    for level in range(4):
        for a, b in topology.pairs(level + 2):
            maps[level][a].append(int(b))
            maps[level][b].append(int(a))
    if settings.scales.use_polar_groups:
        members: dict[int, list[int]] = {}
        for i, g in enumerate(topology.polar_group):
            members.setdefault(int(g), []).append(i)
        group11 = [members[int(g)] for g in topology.polar_group]
    else:  # the d field scaled like the p field: 1-2 and 1-3 neighbours are each atom's own group
        group11 = [[i] + maps[0][i][1:] + maps[1][i][1:] for i in range(topology.n_atoms)]
    for i in range(topology.n_atoms):
        for level, kind_ in enumerate(covalent):
            force.setCovalentMap(i, kind_, maps[level][i][1:])
        force.setCovalentMap(i, force.PolarizationCovalent11, group11[i])
    force.setName("multipole")
    return force


def vdw_force(topology: Topology, params: dict, settings: PhysicsSettings, cell_A=None):
    """``AmoebaVdwForce`` (buffered 14-7) of ``params`` ('vdw_radius' R_min A, 'vdw_epsilon' kcal/mol,
    'vdw_reduction') with pinnff's exclusions (pairs whose vdW factor is 0)."""
    import openmm

    force = openmm.AmoebaVdwForce()
    force.setSigmaCombiningRule("CUBIC-MEAN")
    force.setEpsilonCombiningRule(settings.epsilon_rule.upper())
    if _cell(cell_A) is None:
        force.setNonbondedMethod(force.NoCutoff)
    else:
        force.setNonbondedMethod(force.CutoffPeriodic)
        force.setCutoffDistance(settings.cutoff * NM_PER_A)
    force.setUseDispersionCorrection(bool(settings.vdw_correction) and _cell(cell_A) is not None)
    p = {k: params[k].detach().double().cpu().numpy() for k in ("vdw_radius", "vdw_epsilon", "vdw_reduction")}
    for i in range(topology.n_atoms):
        force.addParticle(int(topology.vdw_parent[i]), float(p["vdw_radius"][i]) / 2.0 * NM_PER_A,
                          float(p["vdw_epsilon"][i]) * KJ_PER_KCAL, float(p["vdw_reduction"][i]))
    excluded = [[] for _ in range(topology.n_atoms)]
    for level, factor in enumerate(settings.scales.vdw):
        if factor == 0.0:
            for a, b in topology.pairs(level + 2):
                excluded[a].append(int(b))
                excluded[b].append(int(a))
    for i, ex in enumerate(excluded):
        force.setParticleExclusions(i, [i] + sorted(ex))
    force.setName("vdw")
    return force


def valence_forces(valence: MMFFIntramolecular) -> list:
    """pinnff's MMFF94 valence terms (its current, possibly refitted, parameters) as OpenMM Custom forces,
    one per term (named as in :data:`VALENCE_TERMS`); energies kJ/mol from lengths nm and angles rad."""
    import openmm

    g = lambda t: t.detach().double().cpu().numpy()
    rep = lambda t: np.tile(g(t), (valence.n_molecules,) + (1,) * (t.dim() - 1))
    kcal = f"{KJ_PER_KCAL!r}*"
    bond = openmm.CustomBondForce(
        kcal + f"0.5*{BOND_K!r}*kb*dr^2*(1 + {CS!r}*dr + {7.0 / 12.0 * CS * CS!r}*dr^2); dr = r/{NM_PER_A!r} - r0")
    angle = openmm.CustomAngleForce(kcal + f"0.5*{ANGLE_K!r}*ka*dt^2*(1 + {CB!r}*dt); dt = theta*{RAD2DEG!r} - t0")
    stbn = openmm.CustomCompoundBondForce(
        3, kcal + f"{STBN_K!r}*(kij*(distance(p1, p2)/{NM_PER_A!r} - rij) + kkj*(distance(p3, p2)/{NM_PER_A!r} - rkj))"
                  f"*(angle(p1, p2, p3)*{RAD2DEG!r} - t0)")
    torsion = openmm.CustomTorsionForce(
        kcal + "0.5*(v1*(1 + cos(theta)) + v2*(1 - cos(2*theta)) + v3*(1 + cos(3*theta)))")
    for add, names in ((bond.addPerBondParameter, ("kb", "r0")), (angle.addPerAngleParameter, ("ka", "t0")),
                       (stbn.addPerBondParameter, ("kij", "kkj", "rij", "rkj", "t0")),
                       (torsion.addPerTorsionParameter, ("v1", "v2", "v3"))):
        for name in names:
            add(name)
    for (i, j), kb, r0 in zip(g(valence.bond_idx), rep(valence.bond_k), rep(valence.bond_r0)):
        bond.addBond(int(i), int(j), [kb, r0])
    angles = zip(g(valence.angle_idx), rep(valence.angle_k), rep(valence.angle_t0), rep(valence.stbn_k),
                 rep(valence.angle_r0))
    for (i, j, k), ka, t0, kba, r0 in angles:
        angle.addAngle(int(i), int(j), int(k), [ka, t0])
        stbn.addBond([int(i), int(j), int(k)], [kba[0], kba[1], r0[0], r0[1], t0])
    for (i, j, k, l), v in zip(g(valence.torsion_idx), rep(valence.torsion_v)):
        torsion.addTorsion(int(i), int(j), int(k), int(l), list(v))
    for force, name in zip((bond, angle, stbn, torsion), VALENCE_TERMS):
        force.setName(name)
    return [bond, angle, stbn, torsion]


def diglyme_system(n_molecules: int, cell_A=None, *, params: dict | None = None,
                   settings: PhysicsSettings | None = None, valence: MMFFIntramolecular | bool = True):
    """An OpenMM ``System`` of ``n_molecules`` DEGDME molecules (pinnff atom order).

    cell_A: (3,) or (3, 3) A (None: non-periodic, no cutoffs); params: per-atom
    tensors of the physics contract (None: :func:`prior_parameters`);
    settings: pinnff's (default :func:`comparable_settings`), checked to be
    expressible; valence: True for MMFF94, an :class:`MMFFIntramolecular`
    (e.g. refitted) or False for none. Each force has its own force group, in
    the order valence terms, ``vdw``, ``multipole``; names via ``getName()``.
    """
    import openmm
    from openmm.app import element

    settings = comparable_settings() if settings is None else settings
    _check_expressible(settings)
    topology = degdme_topology(n_molecules)
    params = prior_parameters(n_molecules) if params is None else params
    system = openmm.System()
    for symbol in topology.symbols:
        system.addParticle(element.get_by_symbol(symbol).mass)
    cell = _cell(cell_A)
    if cell is not None and (settings.ewald is None or settings.cutoff is None):
        raise InputError("a periodic OpenMM box needs settings.ewald and settings.cutoff")
    if cell is not None:
        widths = np.abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        if max(settings.cutoff, settings.ewald.cutoff) > 0.5 * widths.min():
            raise InputError(f"OpenMM needs cutoffs ({settings.cutoff}, {settings.ewald.cutoff} A) within half "
                             f"the cell width ({widths.min():.2f} A)")
        system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) * NM_PER_A for row in cell))
    forces = []
    if valence is not False:
        valence = MMFFIntramolecular(SMILES, n_molecules, nonbonded=False) if valence is True else valence
        if valence.n_molecules != n_molecules or valence.nonbonded:
            raise InputError("the valence model must hold the box's molecules and no non-bonded terms")
        forces += valence_forces(valence)
    forces += [vdw_force(topology, params, settings, cell), multipole_force(topology, params, settings, cell)]
    for group, force in enumerate(forces):
        force.setForceGroup(group)
        system.addForce(force)
    return system


def context(system, platform: str = "Reference", threads: int | None = None, step_fs: float = 1.0):
    """An OpenMM Context with a Verlet integrator of ``step_fs`` fs on ``platform`` (CPU: ``threads``)."""
    import openmm

    props = {"Threads": str(threads)} if platform == "CPU" and threads else {}
    return openmm.Context(system, openmm.VerletIntegrator(step_fs * 1e-3),
                          openmm.Platform.getPlatformByName(platform), props)


def energies_forces(system, positions_A: np.ndarray, platform: str = "Reference") -> dict:
    """{force name: (energy kcal/mol, forces (n, 3) kcal/mol/A)} of every force group of ``system``."""
    from openmm import unit

    ctx = context(system, platform)
    ctx.setPositions(np.asarray(positions_A) * NM_PER_A)
    out = {}
    for force in system.getForces():
        state = ctx.getState(getEnergy=True, getForces=True, groups={force.getForceGroup()})
        e = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) / KJ_PER_KCAL
        f = state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
        out[force.getName()] = (e, np.asarray(f) / KJ_PER_KCAL * NM_PER_A)
    return out


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def openmm_speed(n_molecules: int = 64, threads: int = 2, steps: int = 20, polarization: str = "extrapolated",
                 step_fs: float = 1.0, section: dict | None = None, platform: str = "CPU", box=None,
                 seed: int = 0) -> dict:
    """OpenMM's MD speed on pinnff's DEGDME box: ms per step and ns/day (Verlet, ``step_fs`` fs).

    The box is :func:`bench_physics.degdme_box` (packed at 0.94 g/cm^3,
    ``seed``) unless ``box`` = (positions (n, 3) A, edge A) is given. Forces:
    MMFF94 valence, vdW and AMOEBA multipoles + ``polarization`` with the
    cutoffs, PME splitting and grid and vdW correction of the ``physics``
    config ``section`` (None: defaults; :func:`comparable_settings`, so no
    charge penetration or transfer, which pinnff's own MD step also pays for).
    Returns a dict with the platform, threads, atom count, ms/step (wall) and
    CPU ms/step (all threads of this process: on a loaded machine it tells
    how many cores OpenMM kept busy), ns/day, the setup seconds and the load
    average around the timing.
    """
    import openmm
    from openmm import unit

    if box is None:
        from bench_physics import degdme_box

        box = degdme_box(n_molecules, seed)
    positions, edge = box
    settings = comparable_settings(section, polarization)
    t0 = time.perf_counter()
    system = diglyme_system(n_molecules, [edge] * 3, settings=settings)
    ctx = context(system, platform, threads, step_fs)
    ctx.setPositions(np.asarray(positions) * NM_PER_A)
    ctx.setVelocitiesToTemperature(298.15 * unit.kelvin, seed + 1)
    integrator = ctx.getIntegrator()
    integrator.step(2)  # warm-up: kernels, PME plans, first induced dipoles
    setup = time.perf_counter() - t0
    load_before = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    integrator.step(steps)
    ctx.getState(getEnergy=True)  # make sure the steps have finished
    seconds = (time.perf_counter() - t0) / steps
    cpu_seconds = (time.process_time() - c0) / steps
    used = ctx.getPlatform()
    return dict(platform=used.getName(), threads=used.getPropertyValue(ctx, "Threads") if used.getName() == "CPU"
                else "1", openmm=openmm.__version__, molecules=n_molecules, atoms=system.getNumParticles(),
                polarization=polarization, step_fs=step_fs, steps=steps, ms_per_step=1e3 * seconds,
                cpu_ms_per_step=1e3 * cpu_seconds,
                ns_per_day=86400.0 / seconds * step_fs * 1e-6, setup_s=setup, load_before=load_before,
                load_after=_load(), real_cutoff_A=settings.ewald.cutoff, vdw_cutoff_A=settings.cutoff,
                ewald_tolerance=settings.ewald.tolerance,
                pme_grid=list(grid_shape(torch.tensor(np.diag([edge] * 3)), settings.ewald.pme_spacing,
                                         settings.ewald.pme_order)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--polarization", nargs="+", default=["extrapolated", "mutual"],
                    choices=["extrapolated", "mutual", "direct"])
    ap.add_argument("--platform", default="CPU", choices=["CPU", "Reference"])
    args = ap.parse_args(argv)
    from bench_physics import degdme_box

    box = degdme_box(args.molecules)
    print(f"OpenMM AMOEBA on pinnff's DEGDME box ({args.molecules} molecules, edge {box[1]:.2f} A), "
          f"physics defaults without charge penetration / transfer, Thole direct damping")
    print(f"{'platform':9s} {'threads':>7s} {'polarization':13s} {'ms/step':>9s} {'CPU ms':>9s} {'ns/day':>8s} "
          f"{'load':>16s}")
    for pol in args.polarization:
        r = openmm_speed(args.molecules, args.threads, args.steps, pol, platform=args.platform, box=box)
        print(f"{r['platform']:9s} {r['threads']:>7s} {pol:13s} {r['ms_per_step']:9.1f} {r['cpu_ms_per_step']:9.1f} "
              f"{r['ns_per_day']:8.3f} {r['load_before']:>16s}")
        print(json.dumps(r))


if __name__ == "__main__":
    main()
