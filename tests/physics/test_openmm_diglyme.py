"""pinnff's periodic DEGDME box against OpenMM's AMOEBA on the same box, term by term.

``benchmarks/openmm_diglyme.py`` builds the OpenMM System from pinnff's own
topology and parameters (random local dipoles and quadrupoles, so every
local frame matters); both engines use PME with the same cutoff, splitting
and grid (0.3 A, where the two meshes agree with plain Ewald to ~1e-5),
OpenMM on its Reference platform. 16 molecules (368 atoms) at 0.94 g/cm^3.
Without a cutoff (a dimer) vdW agrees to round-off; in the box to ~1e-7,
from the few pairs at the cutoff.
"""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("openmm")
sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

from helpers import random_multipoles  # noqa: E402
from openmm_diglyme import VALENCE_TERMS, comparable_settings, diglyme_system, energies_forces  # noqa: E402
from pinnff.errors import InputError  # noqa: E402
from pinnff.physics import PolarizationSettings, Scales, degdme_topology, prior_parameters, total_energy  # noqa: E402
from pinnff.physics.intramolecular import MMFFIntramolecular  # noqa: E402

N_MOLECULES = 16
SECTION = {"real_cutoff_A": 7.0, "vdw_cutoff_A": 7.0, "ewald_tolerance": 1e-6, "pme_spacing_A": 0.3,
           "polarization_tol_debye": 1e-8}


@pytest.fixture(scope="module")
def box():
    from bench_physics import degdme_box

    positions, edge = degdme_box(N_MOLECULES)
    params = random_multipoles(prior_parameters(N_MOLECULES), seed=1)
    return dict(pos=positions, edge=edge, params=params, topology=degdme_topology(N_MOLECULES),
                cell=torch.eye(3, dtype=torch.float64) * edge)


def _openmm(box, settings, params=None, valence=False):
    system = diglyme_system(N_MOLECULES, [box["edge"]] * 3, params=params or box["params"], settings=settings,
                            valence=valence)
    return energies_forces(system, box["pos"])


def _pinnff(box, settings, term, fn=None):
    """(energy kcal/mol, forces kcal/mol/A) of one part of pinnff's total energy."""
    x = torch.tensor(box["pos"], requires_grad=True)
    if fn is None:
        fn = lambda x: total_energy(x, box["topology"], box["params"], box["cell"],  # noqa: E731
                                    settings=replace(settings, terms=(term,)))[1][term]
    e = fn(x)
    (g,) = torch.autograd.grad(e, x)
    return e.item(), -g.numpy()


def _check(ours, ref, e_tol=2e-5, f_tol=1e-4):
    (e, f), (e_ref, f_ref) = ours, ref
    assert abs(e - e_ref) <= e_tol * abs(e_ref), (e, e_ref)
    rms = lambda a: float(np.sqrt((a ** 2).mean()))  # noqa: E731
    assert rms(f - f_ref) <= f_tol * rms(f_ref), (rms(f - f_ref), rms(f_ref))
    assert np.abs(f - f_ref).max() <= 10 * f_tol * np.abs(f_ref).max()


def test_valence_terms_match_openmm(box):
    valence = MMFFIntramolecular("COCCOCCOC", N_MOLECULES, nonbonded=False)
    ref = _openmm(box, comparable_settings(SECTION), valence=valence)
    for term in VALENCE_TERMS:
        _check(_pinnff(box, None, term, fn=lambda x: valence.terms(x)[term]), ref[term], e_tol=1e-10, f_tol=1e-10)


def test_vdw_and_long_range_correction_match_openmm(box):
    settings = comparable_settings(SECTION)
    with_lrc = _openmm(box, settings)["vdw"]
    without = _openmm(box, replace(settings, vdw_correction=False))["vdw"]
    _check(_pinnff(box, settings, "vdw"), without, e_tol=1e-6, f_tol=1e-5)
    parts = total_energy(torch.tensor(box["pos"]), box["topology"], box["params"], box["cell"],
                         settings=replace(settings, terms=("vdw",)))[1]
    e_lrc = parts["vdw_long_range"].item()  # positions-independent (the volume only)
    assert e_lrc < 0
    assert abs(e_lrc - (with_lrc[0] - without[0])) <= 1e-5 * abs(e_lrc)


def _permanent(box, settings):
    """OpenMM's permanent-multipole part: the same system with zero polarizabilities."""
    params = dict(box["params"], polarizability=torch.zeros_like(box["params"]["polarizability"]))
    return _openmm(box, settings, params)["multipole"]


def test_permanent_multipoles_match_openmm(box):
    settings = comparable_settings(SECTION)
    _check(_pinnff(box, settings, "multipole"), _permanent(box, settings))


@pytest.mark.parametrize("solver, groups", [("mutual", False), ("direct", False), ("extrapolated", False),
                                            ("mutual", True)])
def test_polarization_matches_openmm(box, solver, groups):
    """pinnff's liquid scheme (d field scaled like p: OpenMM groups of 1-2 and 1-3 neighbours) and
    AMOEBA's polarization groups (each atom its own group: unscaled d field between bonded atoms)."""
    settings = comparable_settings(SECTION, solver)
    if groups:
        settings = replace(settings, scales=Scales(use_polar_groups=True))
    e_all, f_all = _openmm(box, settings)["multipole"]
    e_perm, f_perm = _permanent(box, settings)
    _check(_pinnff(box, settings, "polarization"), (e_all - e_perm, f_all - f_perm))


@pytest.mark.parametrize("change", [dict(penetration=True), dict(vdw_taper=0.8),
                                    dict(terms=("multipole", "charge_transfer")),
                                    dict(polarization=PolarizationSettings(direct_damping="aplus"))])
def test_inexpressible_settings_are_refused(change):
    with pytest.raises(InputError, match="OpenMM's AMOEBA cannot express"):
        diglyme_system(1, settings=replace(comparable_settings(), **change), valence=False)


def test_cluster_without_cutoff_matches_openmm():
    """A DEGDME dimer, no cell and no cutoffs (OpenMM NoCutoff): vdW to round-off, multipoles to the
    Coulomb constants (OpenMM's 138.935456 kJ nm/mol/e^2 is 332.063709 kcal A, pinnff's 332.0637: 3e-8)
    and mutual polarization to the solver tolerance."""
    from helpers import degdme_dimer

    pos = degdme_dimer()
    params = random_multipoles(prior_parameters(2), seed=2)
    settings = replace(comparable_settings(SECTION, "mutual"), cutoff=None, ewald=None)
    system = lambda p: diglyme_system(2, None, params=p, settings=settings, valence=False)  # noqa: E731
    ref = energies_forces(system(params), pos)
    perm = energies_forces(system(dict(params, polarizability=torch.zeros_like(params["polarizability"]))),
                           pos)["multipole"]
    box = dict(pos=pos, topology=degdme_topology(2), params=params, cell=None)
    _check(_pinnff(box, settings, "vdw"), ref["vdw"], e_tol=1e-12, f_tol=1e-12)
    _check(_pinnff(box, settings, "multipole"), perm, e_tol=1e-7, f_tol=1e-7)
    _check(_pinnff(box, settings, "polarization"), (ref["multipole"][0] - perm[0], ref["multipole"][1] - perm[1]),
           e_tol=1e-7, f_tol=1e-6)


def test_cutoff_beyond_half_the_cell_is_refused():
    with pytest.raises(InputError, match="within half the cell width"):
        diglyme_system(1, [15.0] * 3, settings=comparable_settings({"vdw_cutoff_A": 9.0}), valence=False)
