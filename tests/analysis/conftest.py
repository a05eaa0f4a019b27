"""Fixtures of the analysis tests; the generators live in ``diffusion_synthetic.py``."""

import pytest
from diffusion_synthetic import langevin_com


@pytest.fixture(scope="session")
def liquid_like():
    """64 molecules, 2000 frames 10 fs apart, tau = 50 fs: (com, D_true in 1e-9 m^2/s, dt_fs)."""
    com, d_true = langevin_com(64, 2000, 10, 1.0, 50.0, 0.005, seed=11)
    return com, d_true, 10.0
