"""Shared fixtures: a small conformer pool made once per test session."""

import numpy as np
import pytest

SMILES = "COCCOCCOC"


@pytest.fixture(scope="session")
def pool_frames():
    """Six distinct DEGDME conformers (RDKit + MMFF94), COM at the origin."""
    from pinnff.curate.conformers import conformer_pool

    return conformer_pool(SMILES, n_embed=30, seed=3, rmsd_threshold_A=0.5, energy_window_kcal=15.0, max_count=6)


@pytest.fixture(scope="session")
def pool(pool_frames):
    """Positions ``(23, 3)`` of each pool conformer."""
    from pinnff.curate.frames import pool_positions

    return pool_positions(pool_frames)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
