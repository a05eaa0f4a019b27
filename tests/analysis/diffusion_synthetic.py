"""Synthetic trajectories with a known self-diffusion coefficient.

Centres of mass follow a discretised Langevin (Ornstein-Uhlenbeck velocity)
process: ``v <- a v + sqrt(1 - a^2) sigma xi``, ``x <- x + v dt`` with
``a = exp(-dt / tau)``. Its long-time diffusion coefficient is exactly
``D = sigma^2 dt (1 + a) / (2 (1 - a))`` (Angstrom^2/fs), ballistic below
``tau`` and diffusive above. Molecules are rigid water-shaped blobs (O, H, H)
turned at random every frame about their centre of mass.

This is a helper module, not a conftest: ``tests/conftest.py`` is imported by
other tests as ``conftest``, and a second conftest here would shadow it. Test
modules import the ``liquid_like`` fixture from here.
"""

from __future__ import annotations

import numpy as np
import pytest

from pinnff.geometry import random_rotation

WATER = np.array([[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [-0.23999, 0.92663, 0.0]])  # O, H, H in Angstrom
WATER_SYMBOLS = ["O", "H", "H"]


def langevin_com(n_molecules, n_frames, stride, dt_fs, tau_fs, sigma, seed, start=None):
    """COM trajectory ``(n_frames, n_molecules, 3)`` (Angstrom) and its exact D in 1e-9 m^2/s.

    ``stride`` integration steps of ``dt_fs`` between stored frames; ``sigma``
    is the velocity standard deviation per component (Angstrom/fs).
    """
    rng = np.random.default_rng(seed)
    a = np.exp(-dt_fs / tau_fs)
    v = rng.normal(size=(n_molecules, 3)) * sigma
    x = np.zeros((n_molecules, 3)) if start is None else np.array(start, dtype=float)
    noise = np.sqrt(1 - a * a) * sigma
    out = np.empty((n_frames, n_molecules, 3))
    for frame in range(n_frames):
        out[frame] = x
        for _ in range(stride):
            v = a * v + noise * rng.normal(size=v.shape)
            x = x + v * dt_fs
    d_A2_per_fs = sigma**2 * dt_fs * (1 + a) / (2 * (1 - a))
    return out, d_A2_per_fs * 1e4


def caged_com(n_molecules, n_frames, dt_fs, d_A2_per_fs, cage_A, tau_cage_fs, seed):
    """COM trajectory ``(n_frames, n_molecules, 3)`` of molecules rattling in cages that diffuse.

    Position = cage centre + rattle: the centre is a Brownian walk with
    diffusion coefficient ``d_A2_per_fs`` (Angstrom^2/fs), sampled exactly at
    the frames; the rattle an Ornstein-Uhlenbeck position process with RMS
    ``cage_A`` per component and correlation time ``tau_cage_fs``. The exact
    MSD is ``6 D t + 6 cage^2 (1 - exp(-t / tau))``: a fast rise, a caging
    shoulder where the log-log slope drops below 1, then diffusion, which
    reaches a log-log slope of 1 only once ``6 D t`` dwarfs the cage plateau.
    Returns the trajectory and D in 1e-9 m^2/s.
    """
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n_frames, n_molecules, 3)) * np.sqrt(2 * d_A2_per_fs * dt_fs)
    steps[0] = 0.0
    centre = np.cumsum(steps, axis=0)
    a = np.exp(-dt_fs / tau_cage_fs)
    kicks = rng.normal(size=(n_frames, n_molecules, 3)) * cage_A * np.sqrt(1 - a * a)
    rattle = np.empty_like(centre)
    rattle[0] = rng.normal(size=(n_molecules, 3)) * cage_A
    for k in range(1, n_frames):
        rattle[k] = a * rattle[k - 1] + kicks[k]
    return centre + rattle, d_A2_per_fs * 1e4


def caged_msd(t_fs, d_A2_per_fs, cage_A, tau_cage_fs):
    """Exact MSD (Angstrom^2) of :func:`caged_com` at lags ``t_fs``."""
    return 6 * d_A2_per_fs * t_fs + 6 * cage_A**2 * (1 - np.exp(-np.asarray(t_fs) / tau_cage_fs))


def blob_frames(com, box_A, seed, wrap=True, with_mol_id=True, frame_dt_fs=None, size=1.0):
    """ASE frames of rigid water blobs centred on ``com`` in a cubic box of edge ``box_A``.

    ``wrap`` folds every atom into the box (molecules get split across faces);
    ``frame_dt_fs`` writes ``time_fs`` into each frame's info; ``size``
    scales the blob (its radius of gyration is ``size`` x 0.31 Angstrom).
    """
    from ase import Atoms

    rng = np.random.default_rng(seed)
    masses = np.array([15.999, 1.008, 1.008])
    template = size * (WATER - masses @ WATER / masses.sum())
    n_molecules = com.shape[1]
    frames = []
    for k, centres in enumerate(com):
        positions = np.concatenate([template @ random_rotation(rng).T + c for c in centres])
        atoms = Atoms(WATER_SYMBOLS * n_molecules, positions=positions, cell=[box_A] * 3, pbc=True)
        atoms.set_masses(np.tile(masses, n_molecules))
        if wrap:
            atoms.wrap()
        if with_mol_id:
            atoms.arrays["mol_id"] = np.repeat(np.arange(n_molecules), 3)
        if frame_dt_fs is not None:
            atoms.info["time_fs"] = k * frame_dt_fs
        frames.append(atoms)
    return frames


def lattice_sites(n_per_side, spacing_A):
    """Points of a simple cubic lattice, ``(n_per_side**3, 3)``, offset by half a spacing."""
    grid = (np.arange(n_per_side) + 0.5) * spacing_A
    return np.array(np.meshgrid(grid, grid, grid, indexing="ij")).reshape(3, -1).T



@pytest.fixture(scope="session")
def liquid_like():
    """64 molecules, 4000 frames 10 fs apart, tau = 50 fs: (com, D_true in 1e-9 m^2/s, dt_fs)."""
    com, d_true = langevin_com(64, 4000, 10, 1.0, 50.0, 0.005, seed=11)
    return com, d_true, 10.0
