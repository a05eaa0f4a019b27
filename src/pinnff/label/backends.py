"""Electronic-structure backends behind one interface.

A backend computes the total energy (kcal/mol) and optionally the forces
(kcal/mol/Angstrom) of one neutral closed-shell structure given element
symbols and positions in Angstrom. Two exist:

- :class:`PySCFBackend`: Kohn-Sham DFT with PySCF (the reference level), on
  the CPU or, with ``device: gpu``, the same calculation with gpu4pyscf;
- :class:`XTBBackend`: GFN2-xTB with tblite, for fast smoke tests only; its
  level tag starts with ``xtb/`` and it is never called DFT.

Every backend has a ``level`` tag (written into every label) and an
``engine`` string (software and version).

Symbols ``ghost-X`` (PySCF only) are ghost atoms: they carry element X's
basis functions and integration grid, but no nucleus, no electrons and no
dispersion. They give the monomer energies of counterpoise-corrected
interaction energies (:mod:`pinnff.label.runner`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pinnff.errors import InputError
from pinnff.units import BOHR_TO_ANGSTROM, HARTREE_TO_KCAL

GHOST = "ghost-"
COUNTERPOISE = "/cp"


class LabelFailure(Exception):
    """The calculation did not give a trustworthy result (e.g. SCF not converged)."""


@dataclass
class Label:
    """One computed label: energy (kcal/mol), forces ``(n, 3)`` kcal/mol/A or None, wall time (s)."""

    energy_kcal: float
    forces_kcal_A: np.ndarray | None
    wall_s: float


class PySCFBackend:
    """Kohn-Sham DFT with PySCF; ``settings`` is the ``label.pyscf`` config section."""

    def __init__(self, settings: dict, threads: int = 1):
        import pyscf
        from pyscf import lib

        self.settings = settings
        lib.num_threads(threads)
        self.level = level_tag({"backend": "pyscf", "pyscf": settings})
        self.on_gpu = settings["device"] == "gpu"
        if self.on_gpu:
            import gpu4pyscf

            self.engine = f"gpu4pyscf-{gpu4pyscf.__version__}-pyscf-{pyscf.__version__}-gpu"
        else:
            self.engine = f"pyscf-{pyscf.__version__}-cpu"

    def molecule(self, symbols, positions_A):
        """The closed-shell PySCF molecule of ``symbols`` at ``positions_A`` (n, 3) in the configured basis."""
        from pyscf import gto

        s = self.settings
        return gto.M(atom=list(zip(symbols, positions_A)), basis=s["basis"], unit="Angstrom", charge=0, spin=0,
                     verbose=0, max_memory=s["max_memory_mb"])

    def kohn_sham(self, mol, dispersion: bool):
        """The configured Kohn-Sham method (functional, density fitting, grid) of ``mol``, on the CPU."""
        from pyscf import dft

        s = self.settings
        mf = dft.RKS(mol, xc=s["xc"])
        if s["density_fit"]:
            mf = mf.density_fit()
        if dispersion and s["dispersion"] != "none":
            mf.disp = s["dispersion"]
        mf.grids.level = s["grid_level"]
        return mf

    def _scf(self, symbols, positions_A, stabilize: int, dispersion: bool):
        s = self.settings
        mf = self.kohn_sham(self.molecule(symbols, positions_A), dispersion)
        mf.conv_tol = s["conv_tol"]
        mf.max_cycle = s["max_cycle"]
        if self.on_gpu:
            mf = mf.to_gpu()
        if stabilize == 1:  # damping and level shift, more cycles
            mf.damp, mf.level_shift, mf.max_cycle = 0.5, 0.3, 2 * s["max_cycle"]
        if stabilize == 2:  # second-order (Newton) SCF
            mf = mf.newton()
        mf.kernel()
        return mf

    def converged_scf(self, symbols, positions_A, dispersion: bool):
        """The converged SCF of one structure: plain, then damped with a level shift, then Newton;
        :class:`LabelFailure` when none converges."""
        for stabilize in range(3):
            mf = self._scf(symbols, positions_A, stabilize, dispersion)
            if mf.converged:
                return mf
        raise LabelFailure("SCF did not converge (plain, damped + level shift, Newton)")

    def dispersion_hartree(self, symbols, positions_A) -> float:
        """Dispersion energy (Hartree) of the given atoms alone (it depends on the nuclei only)."""
        from pyscf import dft, gto
        from pyscf.scf.dispersion import get_dispersion

        if self.settings["dispersion"] == "none":
            return 0.0
        mol = gto.M(atom=list(zip(symbols, positions_A)), basis="sto-3g", unit="Angstrom", verbose=0)
        mf = dft.RKS(mol, xc=self.settings["xc"])
        mf.disp = self.settings["dispersion"]
        return float(get_dispersion(mf))

    def compute(self, symbols: list[str], positions_A: np.ndarray, forces: bool) -> Label:
        """Energy (and forces) of one structure; tries up to three SCF strategies.

        With ghost atoms the SCF runs without dispersion and the dispersion of
        the real atoms is added; forces are not defined then.
        """
        real = np.array([not s.startswith(GHOST) for s in symbols])
        if forces and not real.all():
            raise ValueError("forces of a structure with ghost atoms are not defined")
        start = time.perf_counter()
        mf = self.converged_scf(symbols, positions_A, dispersion=bool(real.all()))
        gradient = None
        if forces:
            gradient = mf.nuc_grad_method().kernel()
            gradient = gradient.get() if hasattr(gradient, "get") else gradient
        energy = float(mf.e_tot)
        if not real.all():
            energy += self.dispersion_hartree([s for s, r in zip(symbols, real) if r], np.asarray(positions_A)[real])
        energy *= HARTREE_TO_KCAL
        force = None if gradient is None else -np.asarray(gradient) * HARTREE_TO_KCAL / BOHR_TO_ANGSTROM
        return Label(energy, force, time.perf_counter() - start)


class XTBBackend:
    """GFN-xTB with tblite (smoke tests only); ``settings`` is the ``label.xtb`` section."""

    def __init__(self, settings: dict, threads: int = 1):
        import tblite

        self.settings = settings
        self.level = level_tag({"backend": "xtb", "xtb": settings})
        self.engine = f"tblite-{getattr(tblite, '__version__', 'unknown')}"

    def compute(self, symbols: list[str], positions_A: np.ndarray, forces: bool) -> Label:
        """Energy (and forces) of one structure."""
        from ase.data import atomic_numbers
        from tblite.interface import Calculator

        start = time.perf_counter()
        numbers = np.array([atomic_numbers[s] for s in symbols])
        calc = Calculator(self.settings["method"], numbers, np.asarray(positions_A) / BOHR_TO_ANGSTROM)
        calc.set("accuracy", self.settings["accuracy"])
        calc.set("verbosity", 0)
        try:
            result = calc.singlepoint()
        except RuntimeError as exc:
            raise LabelFailure(f"tblite: {exc}") from None
        energy = float(result.get("energy")) * HARTREE_TO_KCAL
        force = -result.get("gradient") * HARTREE_TO_KCAL / BOHR_TO_ANGSTROM if forces else None
        return Label(energy, force, time.perf_counter() - start)


def make_backend(label_settings: dict):
    """The backend named by the ``label`` config section."""
    name = label_settings["backend"]
    cls = {"pyscf": PySCFBackend, "xtb": XTBBackend}[name]
    return cls(label_settings[name], threads=label_settings["threads"])


def level_tag(label_settings: dict) -> str:
    """Level tag of the ``label`` config section, e.g. ``dft/b3lyp-d3bj/def2-svp/df/grid1`` or ``xtb/gfn2-xtb``;
    ``/cp`` is appended when interaction energies are counterpoise-corrected (``label.counterpoise``)."""
    name = label_settings["backend"]
    s = label_settings[name]
    counterpoise = label_settings.get("counterpoise", False)
    if name == "xtb":
        if counterpoise:
            raise InputError("label.counterpoise needs the pyscf backend: xtb has no ghost atoms")
        return f"xtb/{s['method']}".lower()
    fit = "df" if s["density_fit"] else "nodf"
    tag = f"dft/{s['xc']}-{s['dispersion']}/{s['basis']}/{fit}/grid{s['grid_level']}".lower()
    return tag + COUNTERPOISE if counterpoise else tag


def energy_level(level: str) -> str:
    """The level of every single energy behind the labels of ``level``: counterpoise correction changes
    how cluster and monomer energies combine, not the energies, so both levels share them."""
    return level.removesuffix(COUNTERPOISE)


def ghosted(symbols: list[str], real: np.ndarray) -> list[str]:
    """``symbols`` with every atom outside the boolean mask ``real`` made a ghost atom."""
    return [s if keep else GHOST + s for s, keep in zip(symbols, real)]


def level_slug(level: str) -> str:
    """File-system name of a level tag: ``dft/b3lyp-d3bj/def2-svp/df/grid1`` -> ``dft_b3lyp-d3bj_def2-svp_df_grid1``."""
    return level.replace("/", "_")
