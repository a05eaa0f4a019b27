"""Read any ASE-readable trajectory into a centre-of-mass trajectory.

Frames are streamed (only centres of mass and cells are kept), so long
trajectories fit in memory. Per frame the reader looks at:

- the cell and ``pbc`` (a cell given by the caller replaces the file's);
- ``atoms.arrays['mol_id']`` for molecule membership (else molecules are
  perceived from bonding in the first frame with
  :func:`pinnff.chem.topology.perceive_molecules`; perceived molecules of
  different formulas are refused, since in a neat liquid they mean that
  overlapping molecules were merged into one);
- ``atoms.info['time_fs']`` or ``atoms.info['time_ps']`` for the time of each
  frame (else the caller's frame spacing);
- ``atoms.info['temperature_K']`` (optional) for the mean temperature.

Positions may be wrapped into the cell or not: with a periodic cell, the
first frame's molecules are made whole and every later frame is unwrapped
(:mod:`pinnff.analysis.msd`). Without a cell positions are taken as
unwrapped.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pinnff.analysis.msd import Unwrapper, com_weights, make_whole
from pinnff.errors import InputError

log = logging.getLogger(__name__)

TIME_KEYS = {"time_fs": 1.0, "time_ps": 1000.0}
"""Frame-info keys holding the simulation time, with their factor to fs."""


@dataclass
class ComTrajectory:
    """A centre-of-mass trajectory and what is known about it.

    com: ``(n_frames, n_molecules, 3)`` unwrapped centres of mass, Angstrom.
    dt_fs: frame spacing, fs. time_source: where ``dt_fs`` came from.
    cells: ``(n_frames, 3, 3)`` Angstrom (rows are lattice vectors), or None without a periodic cell.
    molecule_masses: ``(n_molecules,)`` amu. formulas: molecule formula -> count.
    molecules_source: ``"mol_id"`` (from the file) or ``"perceived"`` (from bonding).
    temperature_K: mean of the frames' ``temperature_K`` info, or None.
    max_step_fraction: largest per-frame atomic step over half the smallest cell width (unwrapping safety).
    radius_of_gyration_A: mass-weighted radius of gyration of the molecules, averaged over molecules and
        frames, Angstrom.
    """

    com: np.ndarray
    dt_fs: float
    time_source: str
    cells: np.ndarray | None
    molecule_masses: np.ndarray
    formulas: dict
    molecules_source: str
    temperature_K: float | None
    max_step_fraction: float
    n_atoms: int
    radius_of_gyration_A: float

    @property
    def n_frames(self) -> int:
        return self.com.shape[0]

    @property
    def n_molecules(self) -> int:
        return self.com.shape[1]


def parse_cell(values: list[float] | None, where: str = "--cell-A") -> np.ndarray | None:
    """A ``(3, 3)`` cell (Angstrom) from 3 edge lengths (orthorhombic) or 9 numbers (rows); None passes."""
    if values is None:
        return None
    values = [float(v) for v in values]
    if len(values) == 3:
        cell = np.diag(values)
    elif len(values) == 9:
        cell = np.array(values).reshape(3, 3)
    else:
        raise InputError(f"{where}: give 3 edge lengths or 9 numbers (Angstrom), got {len(values)} values")
    if abs(np.linalg.det(cell)) < 1e-6:
        raise InputError(f"{where}: the cell has no volume")
    return cell


def _frame_time(atoms) -> float | None:
    for key, factor in TIME_KEYS.items():
        if key in atoms.info:
            return float(atoms.info[key]) * factor
    return None


def _frame_spacing(times: list, dt_fs: float | None, path: str) -> tuple[float, str]:
    """Frame spacing in fs from the frames' times, checked against ``dt_fs`` when both are known."""
    known = [t is not None for t in times]
    if any(known) and not all(known):
        raise InputError(f"{path}: only {sum(known)} of {len(times)} frames carry a time ({'/'.join(TIME_KEYS)})")
    if not all(known) or len(times) < 2:
        if dt_fs is None:
            raise InputError(f"{path}: frames carry no time ({' or '.join(TIME_KEYS)} in the frame info); "
                             f"give the frame spacing with --dt-fs")
        if dt_fs <= 0:
            raise InputError(f"{path}: --dt-fs must be positive, got {dt_fs}")
        return float(dt_fs), "--dt-fs"
    steps = np.diff(np.asarray(times, dtype=float))
    spacing = float(np.median(steps))
    if spacing <= 0 or np.abs(steps - spacing).max() > 1e-4 * spacing + 1e-9:
        raise InputError(f"{path}: frame times are not evenly spaced (steps {steps.min():g}..{steps.max():g} fs); "
                         f"the MSD needs a constant frame spacing")
    if dt_fs is not None and abs(dt_fs - spacing) > 1e-4 * spacing:
        raise InputError(f"{path}: --dt-fs {dt_fs:g} disagrees with the frame times in the file ({spacing:g} fs apart)")
    return spacing, "frame times"


def read_com_trajectory(path: str | os.PathLike, dt_fs: float | None = None, cell: np.ndarray | None = None,
                        file_format: str | None = None, bond_scale: float = 1.2) -> ComTrajectory:
    """Centre-of-mass trajectory of the whole molecules in the trajectory file ``path``.

    ``dt_fs``: frame spacing in fs, needed when the frames carry no time;
    ``cell``: ``(3, 3)`` cell in Angstrom for files without one (it replaces
    the file's cell, and makes every direction periodic); ``file_format``: ASE
    format name when the extension does not tell. Raises
    :class:`~pinnff.errors.InputError` naming the file for anything malformed.
    """
    import ase.io

    from pinnff.chem.topology import perceive_molecules

    path = str(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    unwrapper = weights = mol_id = numbers = None
    coms, cells, times, temperatures, gyration = [], [], [], [], []
    periodic = False
    try:
        frames = ase.io.iread(path, index=":", format=file_format)
        for k, atoms in enumerate(frames):
            if cell is not None:
                if k == 0 and atoms.cell.rank == 3 and not np.allclose(atoms.cell.array, cell):
                    log.warning("%s: the given cell replaces the file's cell %s", path, atoms.cell.cellpar().round(3))
                atoms.set_cell(cell)
                atoms.pbc = True
            if k == 0:
                if len(atoms) == 0:
                    raise InputError(f"{path}: the first frame has no atoms")
                numbers = atoms.numbers.copy()
                periodic = bool(atoms.pbc.any()) and atoms.cell.rank == 3
                if atoms.pbc.any() and atoms.cell.rank < 3:
                    raise InputError(f"{path}: frames are periodic but the cell has rank {atoms.cell.rank}; "
                                     f"give a cell with --cell-A")
                if "mol_id" in atoms.arrays:
                    mol_id, source = np.asarray(atoms.arrays["mol_id"], dtype=int), "mol_id"
                else:
                    mol_id, source = perceive_molecules(atoms, scale=bond_scale), "perceived"
                weights, labels = com_weights(mol_id, atoms.get_masses())
                masses = np.array([atoms.get_masses()[mol_id == m].sum() for m in labels])
                formulas = Counter(atoms[mol_id == m].get_chemical_formula() for m in labels)
                if source == "perceived" and len(formulas) > 1:
                    raise InputError(
                        f"{path}: bond perception of the first frame finds molecules of different formulas "
                        f"({', '.join(f'{n} x {f}' for f, n in formulas.most_common())}): in a neat liquid this "
                        f"means overlapping molecules were merged into one; refusing to diffuse merged clusters. "
                        f"Write per-atom mol_id into the trajectory (pinnff md does) to name the molecules")
                unwrapper = Unwrapper(atoms.pbc if periodic else (False, False, False))
                start = make_whole(atoms, mol_id, scale=bond_scale) if periodic else None
                positions = unwrapper.push(atoms.positions, atoms.cell.array, start=start)
            else:
                if len(atoms) != len(numbers) or np.any(atoms.numbers != numbers):
                    raise InputError(f"{path}: frame {k} has different atoms from frame 0 "
                                     f"({len(atoms)} vs {len(numbers)} atoms)")
                if "mol_id" in atoms.arrays and np.any(np.asarray(atoms.arrays["mol_id"]) != mol_id):
                    raise InputError(f"{path}: frame {k} changes mol_id")
                if periodic and atoms.cell.rank < 3:
                    raise InputError(f"{path}: frame {k} has no cell")
                positions = unwrapper.push(atoms.positions, atoms.cell.array)
            if not np.all(np.isfinite(atoms.positions)):
                raise InputError(f"{path}: frame {k} has non-finite positions")
            com = weights @ positions
            coms.append(com)
            gyration.append(np.sqrt(np.clip(weights @ (positions**2).sum(axis=1) - (com**2).sum(axis=1), 0, None)))
            cells.append(atoms.cell.array.copy())
            times.append(_frame_time(atoms))
            temperatures.append(atoms.info.get("temperature_K"))
    except InputError:
        raise
    except Exception as exc:  # ASE raises many types for malformed files
        raise InputError(f"{path}: cannot read as a trajectory ({type(exc).__name__}: {exc})") from exc
    if len(coms) < 2:
        raise InputError(f"{path}: {len(coms)} frame(s); an MSD needs many frames")
    spacing, time_source = _frame_spacing(times, dt_fs, path)
    if unwrapper.max_step_fraction > 0.5:
        log.warning("%s: atoms move up to %.0f%% of half a box width between frames; unwrapping may be wrong "
                    "(write frames more often)", path, 100 * unwrapper.max_step_fraction)
    temperature = (float(np.mean(temperatures))
                   if all(t is not None for t in temperatures) else None)
    return ComTrajectory(
        com=np.asarray(coms),
        dt_fs=spacing,
        time_source=time_source,
        cells=np.asarray(cells) if periodic else None,
        molecule_masses=masses,
        formulas=dict(formulas),
        molecules_source=source,
        temperature_K=temperature,
        max_step_fraction=unwrapper.max_step_fraction,
        n_atoms=len(numbers),
        radius_of_gyration_A=float(np.mean(gyration)),
    )
