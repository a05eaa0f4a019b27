"""Small systems shared by the physics tests."""

from __future__ import annotations

import functools

import numpy as np
import torch

from pinnff.physics import degdme_topology, prior_parameters


@functools.cache
def _conformers():
    from pinnff.chem.molecule import embed_relaxed_conformers

    confs, _ = embed_relaxed_conformers("COCCOCCOC", 2, seed=0)
    return confs


def degdme_dimer(shift=(0.0, 0.5, 5.5)) -> np.ndarray:
    """Positions (46, 3) A: two DEGDME conformers, the second shifted by ``shift``."""
    a, b = _conformers()
    return np.concatenate([a, b + np.asarray(shift)])


def random_multipoles(params: dict, seed: int = 0, scale: float = 1.0) -> dict:
    """A copy of ``params`` with random local dipoles (e*A) and traceless quadrupoles (e*A^2)."""
    g = torch.Generator().manual_seed(seed)
    n = params["charge"].shape[0]
    dtype = params["charge"].dtype
    out = dict(params)
    out["dipole"] = 0.1 * scale * torch.randn(n, 3, generator=g, dtype=dtype)
    q = 0.1 * scale * torch.randn(n, 3, 3, generator=g, dtype=dtype)
    q = 0.5 * (q + q.transpose(1, 2))
    out["quadrupole"] = q - torch.eye(3, dtype=dtype) * q.diagonal(dim1=1, dim2=2).sum(-1)[:, None, None] / 3
    return out


def dimer_system(seed: int = 0, dtype=torch.float64):
    """(positions tensor, topology, params) of a DEGDME dimer with random multipoles."""
    topo = degdme_topology(2)
    params = random_multipoles(prior_parameters(2), seed)
    params = {k: v.to(dtype) for k, v in params.items()}
    return torch.tensor(degdme_dimer(), dtype=dtype), topo, params
