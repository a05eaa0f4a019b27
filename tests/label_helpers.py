"""Helpers shared by the labelling tests."""

import numpy as np

PYSCF_SETTINGS = {"xc": "b3lyp", "basis": "def2-svp", "dispersion": "d3bj", "density_fit": True, "grid_level": 3,
                  "conv_tol": 1e-11, "max_cycle": 100, "max_memory_mb": 2000, "device": "cpu"}
"""Small but real DFT: B3LYP-D3(BJ)/def2-SVP with density fitting, PySCF's default grid."""

WATER_DIMER_SYMBOLS = ["O", "H", "H", "O", "H", "H"]
WATER_DIMER_A = np.array([[-1.551, -0.115, 0.0], [-1.934, 0.763, 0.0], [-0.600, 0.041, 0.0],
                          [1.351, 0.111, 0.0], [1.680, -0.374, -0.759], [1.680, -0.374, 0.759]])
"""A hydrogen-bonded water dimer (donor first), positions in Angstrom."""


class CountingBackend:
    """Wraps a labelling backend and counts its calls."""

    def __init__(self, inner):
        self.inner, self.calls, self.engine, self.level = inner, 0, inner.engine, inner.level

    def compute(self, *args):
        self.calls += 1
        return self.inner.compute(*args)
