"""OpenMM AMOEBA (amoeba2018.xml) reference for a small water cluster, and its
parameters converted to pinnff's per-atom tensors (test helper)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from pinnff.geometry import random_rotation
from pinnff.physics.topology import Topology

KJ = 1.0 / 4.184  # kcal per kJ


def _plain(value):
    """Strip an OpenMM Quantity (values are in OpenMM's nm, kJ/mol, e units)."""
    value = getattr(value, "_value", value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def water_cluster(n_waters: int, seed: int = 0, spacing: float = 3.1) -> np.ndarray:
    """Positions (3 n, 3) A of ``n_waters`` rigid waters (O, H, H) on a jittered grid, random orientations."""
    rng = np.random.default_rng(seed)
    theta = np.deg2rad(108.5)
    mono = np.array([[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [0.9572 * np.cos(theta), 0.9572 * np.sin(theta), 0.0]])
    grid = [(a, b, c) for a in range(3) for b in range(3) for c in range(3)]
    out = []
    for m in range(n_waters):
        centre = np.array(grid[m], dtype=float) * spacing + rng.normal(scale=0.15, size=3)
        out.append((mono - mono.mean(0)) @ random_rotation(rng).T + centre)
    return np.concatenate(out)


@lru_cache(maxsize=1)
def _forcefield():
    import openmm.app as app

    return app.ForceField("amoeba2018.xml")


def water_box(n_side: int, box: float, seed: int = 0) -> np.ndarray:
    """Positions (3 n_side^3, 3) A of waters on a cubic grid filling a box of edge ``box`` A."""
    rng = np.random.default_rng(seed)
    theta = np.deg2rad(108.5)
    mono = np.array([[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [0.9572 * np.cos(theta), 0.9572 * np.sin(theta), 0.0]])
    spacing = box / n_side
    out = []
    for a in range(n_side):
        for b in range(n_side):
            for c in range(n_side):
                centre = (np.array([a, b, c]) + 0.5) * spacing + rng.normal(scale=0.1, size=3)
                out.append((mono - mono.mean(0)) @ random_rotation(rng).T + centre)
    return np.concatenate(out)


def openmm_system(positions: np.ndarray, polarization: str = "mutual", cutoff_nm: float | None = None,
                  box_nm: float | None = None):
    """(system, topology) for waters in ``positions`` (A) with amoeba2018.xml."""
    import openmm.app as app
    from openmm import unit, Vec3

    top = app.Topology()
    chain = top.addChain()
    n_w = len(positions) // 3
    for _ in range(n_w):
        res = top.addResidue("HOH", chain)
        o = top.addAtom("O", app.element.oxygen, res)
        h1 = top.addAtom("H1", app.element.hydrogen, res)
        h2 = top.addAtom("H2", app.element.hydrogen, res)
        top.addBond(o, h1)
        top.addBond(o, h2)
    ff = _forcefield()
    kwargs = dict(polarization=polarization, mutualInducedTargetEpsilon=1e-8)
    if box_nm is None:
        kwargs["nonbondedMethod"] = app.NoCutoff
    else:
        top.setPeriodicBoxVectors([Vec3(box_nm, 0, 0), Vec3(0, box_nm, 0), Vec3(0, 0, box_nm)] * unit.nanometer)
        kwargs.update(nonbondedMethod=app.PME, nonbondedCutoff=cutoff_nm * unit.nanometer, ewaldErrorTolerance=1e-6)
    full = ff.createSystem(top, **kwargs)
    # keep only the non-bonded AMOEBA forces: custom valence forces make Context creation slow
    import copy

    import openmm

    system = openmm.System()
    for i in range(full.getNumParticles()):
        system.addParticle(full.getParticleMass(i))
    if box_nm is not None:
        system.setDefaultPeriodicBoxVectors(*full.getDefaultPeriodicBoxVectors())
    for force in full.getForces():
        if isinstance(force, (openmm.AmoebaMultipoleForce, openmm.AmoebaVdwForce)):
            force = copy.deepcopy(force)
            if isinstance(force, openmm.AmoebaVdwForce):
                force.setUseDispersionCorrection(False)
            system.addForce(force)
    for index, force in enumerate(system.getForces()):
        force.setForceGroup(index)
    return system, top


def energies_forces(system, positions: np.ndarray, zero_polarity: bool = False):
    """{force class name: (energy kcal/mol, forces (n, 3) kcal/mol/A)} from OpenMM's Reference platform."""
    import openmm
    from openmm import unit

    if zero_polarity:
        for force in system.getForces():
            if isinstance(force, openmm.AmoebaMultipoleForce):
                for i in range(force.getNumMultipoles()):
                    p = force.getMultipoleParameters(i)
                    p[-1] = 0.0
                    force.setMultipoleParameters(i, *p)
    ctx = openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(positions * 0.1)
    out = {}
    for index, force in enumerate(system.getForces()):
        state = ctx.getState(getEnergy=True, getForces=True, groups={index})
        e = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) * KJ
        f = np.asarray(state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)) * KJ / 10
        out[type(force).__name__] = (e, f)
    return out


def pinnff_inputs(system, n_atoms: int, mol_size: int = 3):
    """Topology and per-atom params (float64 tensors) equivalent to the OpenMM system."""
    import openmm

    mp = next(f for f in system.getForces() if isinstance(f, openmm.AmoebaMultipoleForce))
    vdw = next(f for f in system.getForces() if isinstance(f, openmm.AmoebaVdwForce))
    charge, dipole, quad, axis, fz, fx, fy, thole, pdamp, alpha = ([] for _ in range(10))
    groups = np.arange(n_atoms)
    for i in range(n_atoms):
        p = [_plain(v) for v in mp.getMultipoleParameters(i)]
        charge.append(p[0])
        dipole.append(np.asarray(p[1]) * 10.0)
        quad.append(np.asarray(p[2]).reshape(3, 3) * 100.0 * 3.0)
        axis.append(p[3]); fz.append(p[4]); fx.append(p[5]); fy.append(p[6])
        thole.append(p[7]); pdamp.append(p[8]); alpha.append(p[9] * 1000.0)
        for j in mp.getCovalentMap(i, openmm.AmoebaMultipoleForce.PolarizationCovalent11):
            groups[j] = min(groups[j], groups[i])
    parent, radius, eps, red = [], [], [], []
    for i in range(n_atoms):
        p = [_plain(v) for v in vdw.getParticleParameters(i)]
        parent.append(p[0])
        sigma, epsilon = p[1], p[2]
        if len(p) > 5 and p[5] >= 0:
            sigma, epsilon = (_plain(v) for v in vdw.getParticleTypeParameters(p[5]))
        radius.append(sigma * 20.0)  # OpenMM stores the Tinker radius, R_min/2, in nm
        eps.append(epsilon * KJ)
        red.append(p[3])
    bonds = []
    for i in range(n_atoms):
        for j in mp.getCovalentMap(i, openmm.AmoebaMultipoleForce.Covalent12):
            if j > i:
                bonds.append((i, j))
    topo = Topology(n_atoms=n_atoms, bonds=np.array(bonds), mol_id=np.arange(n_atoms) // mol_size,
                    axis_type=np.array(axis), frame_z=np.array(fz), frame_x=np.array(fx), frame_y=np.array(fy),
                    polar_group=groups, vdw_parent=np.array(parent))
    t = lambda v: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64)
    params = dict(charge=t(charge), dipole=t(dipole), quadrupole=t(quad), polarizability=t(alpha),
                  vdw_radius=t(radius), vdw_epsilon=t(eps), vdw_reduction=t(red))
    extra = dict(thole=np.array(thole), pdamp=np.array(pdamp),
                 sigma_rule=vdw.getSigmaCombiningRule(), epsilon_rule=vdw.getEpsilonCombiningRule())
    return topo, params, extra
