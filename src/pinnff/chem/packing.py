"""Liquid-like boxes: rigid molecules packed at a target density with packmol.

Packmol (PyPI ``packmol``, which ships the binary) places rigid copies of the
given conformations in a periodic cubic box so that no two atoms of different
molecules are closer than ``tolerance_A``. The result is a non-overlapping,
liquid-like arrangement at the requested density.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinnff.errors import InputError
from pinnff.geometry import kabsch_rmsd, kabsch_transform
from pinnff.units import AVOGADRO


@dataclass
class PackedBox:
    """A packed periodic box. Positions ``(N, 3)`` Angstrom, molecules whole."""

    positions: np.ndarray
    mol_id: np.ndarray  # (N,) molecule index of each atom
    conformer_ids: np.ndarray  # (n_molecules,) pool index of each molecule
    box_A: float  # cubic box edge


def box_edge_A(n_molecules: int, molar_mass_g_mol: float, density_g_cm3: float) -> float:
    """Edge (Angstrom) of the cube holding ``n_molecules`` at ``density_g_cm3``."""
    volume_cm3 = n_molecules * molar_mass_g_mol / AVOGADRO / density_g_cm3
    return float((volume_cm3 * 1e24) ** (1.0 / 3.0))


def _xyz_block(symbols: list[str], positions: np.ndarray) -> str:
    lines = [str(len(symbols)), "conformer"]
    lines += [f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in zip(symbols, positions)]
    return "\n".join(lines) + "\n"


def _packmol_executable() -> str:
    """The packmol binary shipped by the PyPI package, else one on PATH."""
    try:
        import packmol

        shipped = Path(packmol.__file__).parent / "binaries" / "packmol"
        if shipped.is_file():
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("packmol")
    if found is None:
        raise InputError("packmol executable not found (pip install packmol)")
    return found


def pack_box(symbols: list[str], pool: list[np.ndarray], conformer_ids: np.ndarray, box_A: float,
             tolerance_A: float, seed: int) -> PackedBox:
    """Pack one rigid copy of ``pool[c]`` for each ``c`` in ``conformer_ids`` into a periodic cube.

    ``pool`` holds conformer positions ``(n, 3)`` in Angstrom; packmol's seed
    makes the result deterministic.
    """
    executable = _packmol_executable()
    counts = np.bincount(conformer_ids, minlength=len(pool))
    with tempfile.TemporaryDirectory(prefix="pinnff-packmol-") as tmp:
        tmp = Path(tmp)
        lines = [f"tolerance {tolerance_A}", "filetype xyz", "output packed.xyz", f"seed {seed}",
                 f"pbc 0. 0. 0. {box_A:.4f} {box_A:.4f} {box_A:.4f}"]
        order = []
        for conformer, count in enumerate(counts):
            if count == 0:
                continue
            (tmp / f"c{conformer}.xyz").write_text(_xyz_block(symbols, pool[conformer]))
            lines += [f"structure c{conformer}.xyz", f"  number {count}", "end structure"]
            order += [conformer] * int(count)
        (tmp / "input.inp").write_text("\n".join(lines) + "\n")
        with open(tmp / "input.inp") as stdin:
            run = subprocess.run([executable], stdin=stdin, cwd=tmp, capture_output=True, text=True)
        if run.returncode != 0 or "Success" not in run.stdout:
            tail = run.stdout.strip().splitlines()[-3:]
            raise RuntimeError(f"packmol failed (exit {run.returncode}): {' | '.join(tail)}")
        raw = np.loadtxt(tmp / "packed.xyz", skiprows=2, usecols=(1, 2, 3))
    n_atoms = len(symbols)
    mol_id = np.repeat(np.arange(len(order)), n_atoms)
    return PackedBox(positions=raw, mol_id=mol_id, conformer_ids=np.array(order), box_A=box_A)


def exact_copies(box: PackedBox, pool: list[np.ndarray]) -> list[np.ndarray]:
    """Each packed molecule replaced by the exact rigid image of its pool conformer.

    Packmol writes 6 decimals; superposing the pool conformer restores exact
    internal geometry (so monomer energies can be reused).
    """
    molecules = []
    for index, conformer in enumerate(box.conformer_ids):
        packed = box.positions[box.mol_id == index]
        rotation, shift = kabsch_transform(pool[conformer], packed)
        placed = pool[conformer] @ rotation + shift
        if kabsch_rmsd(placed, packed) > 1e-3:
            raise RuntimeError("packmol returned a distorted molecule")
        molecules.append(placed)
    return molecules


def relaxed_liquid(smiles: str, pool: list[np.ndarray], conformer_ids: np.ndarray, box_A: float, tolerance_A: float,
                   seed: int, relax_iterations: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Rigid pool conformers packed in a periodic cube, then relaxed as rigid bodies with MMFF94.

    Returns the positions ``(n, 3)`` of each molecule, whole (not wrapped), and
    the pool index of each molecule (packmol's order, grouped by conformer).
    """
    from pinnff.chem import molecule
    from pinnff.chem.rigid_relax import relax_rigid

    box = pack_box(molecule.symbols(smiles), pool, conformer_ids, box_A, tolerance_A, seed)
    molecules = exact_copies(box, pool)
    if relax_iterations:
        molecules, _, _ = relax_rigid(molecules, smiles, box_A, max_iter=relax_iterations)
    return molecules, box.conformer_ids
