"""pinnff's AMOEBA terms against OpenMM's AmoebaMultipoleForce / AmoebaVdwForce
(amoeba2018.xml water cluster, no cutoff, Reference platform)."""

import numpy as np
import pytest
import torch

from openmm_ref import energies_forces, openmm_system, pinnff_inputs, water_box, water_cluster
from pinnff.physics.multipole import permanent_energy
from pinnff.physics.polarization import PolarizationSettings, polarization_energy
from pinnff.physics.vdw import vdw_energy

pytest.importorskip("openmm")

N_WATERS = 5


@pytest.fixture(scope="module")
def reference():
    pos = water_cluster(N_WATERS, seed=3)
    out = {"pos": pos}
    for mode in ("mutual", "direct", "extrapolated"):
        system, _ = openmm_system(pos, polarization=mode)
        out[mode] = energies_forces(system, pos)
    system, _ = openmm_system(pos)
    out["topo"], out["params"], _ = pinnff_inputs(system, len(pos))
    out["permanent"] = energies_forces(system, pos, zero_polarity=True)
    return out


def _ours(fn, pos):
    x = torch.tensor(pos, requires_grad=True)
    e = fn(x)
    (g,) = torch.autograd.grad(e, x)
    return e.item(), -g.numpy()


def _check(ours, ref, e_tol=1e-4, f_tol=1e-3):
    e, f = ours
    e_ref, f_ref = ref
    assert abs(e - e_ref) <= e_tol * abs(e_ref), (e, e_ref)
    assert np.abs(f - f_ref).max() <= f_tol * np.abs(f_ref).max()


def test_vdw_matches_openmm(reference):
    ours = _ours(lambda x: vdw_energy(x, reference["topo"], reference["params"]), reference["pos"])
    _check(ours, reference["mutual"]["AmoebaVdwForce"])


def test_permanent_multipoles_match_openmm(reference):
    ours = _ours(lambda x: permanent_energy(x, reference["topo"], reference["params"], penetration=False),
                 reference["pos"])
    _check(ours, reference["permanent"]["AmoebaMultipoleForce"])


@pytest.mark.parametrize("solver, mode", [("mutual", "mutual"), ("exact", "mutual"), ("direct", "direct"),
                                          ("extrapolated", "extrapolated")])
def test_polarization_matches_openmm(reference, solver, mode):
    settings = PolarizationSettings(solver=solver, direct_damping="thole", tol=1e-9)
    ours = _ours(lambda x: polarization_energy(x, reference["topo"], reference["params"], settings=settings),
                 reference["pos"])
    e_all, f_all = reference[mode]["AmoebaMultipoleForce"]
    e_perm, f_perm = reference["permanent"]["AmoebaMultipoleForce"]
    _check(ours, (e_all - e_perm, f_all - f_perm))


@pytest.fixture(scope="module")
def periodic():
    box, cut = 12.4, 6.0
    pos = water_box(4, box, seed=0)
    system, _ = openmm_system(pos, polarization="mutual", cutoff_nm=cut / 10, box_nm=box / 10)
    topo, params, _ = pinnff_inputs(system, len(pos))
    return dict(pos=pos, box=box, cut=cut, topo=topo, params=params, mutual=energies_forces(system, pos),
                permanent=energies_forces(system, pos, zero_polarity=True))


@pytest.mark.parametrize("method", ["ewald", "pme"])
def test_periodic_terms_match_openmm_pme(periodic, method):
    from pinnff.physics.ewald import EwaldSettings

    ref = periodic
    cell = torch.eye(3, dtype=torch.float64) * ref["box"]
    ew = EwaldSettings(cutoff=ref["cut"], tolerance=1e-7, method=method, pme_spacing=0.3)
    topo, params, pos = ref["topo"], ref["params"], ref["pos"]
    _check(_ours(lambda x: vdw_energy(x, topo, params, cell, cutoff=ref["cut"]), pos),
           ref["mutual"]["AmoebaVdwForce"])
    _check(_ours(lambda x: permanent_energy(x, topo, params, cell, penetration=False, ewald=ew), pos),
           ref["permanent"]["AmoebaMultipoleForce"])
    settings = PolarizationSettings(solver="mutual", direct_damping="thole", tol=1e-7)
    e_all, f_all = ref["mutual"]["AmoebaMultipoleForce"]
    e_perm, f_perm = ref["permanent"]["AmoebaMultipoleForce"]
    _check(_ours(lambda x: polarization_energy(x, topo, params, cell, settings=settings, ewald=ew), pos),
           (e_all - e_perm, f_all - f_perm))
