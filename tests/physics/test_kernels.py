"""The fused pair kernels: compiled, they give the eager energies, forces and parameter gradients;
where compilation fails, one warning and the eager result."""

import logging

import numpy as np
import pytest
import torch

from helpers import degdme_dimer, random_multipoles
from pinnff.physics import PhysicsSettings, PolarizationSettings, Scales, degdme_topology, prior_parameters, total_energy
from pinnff.physics import kernels
from pinnff.physics.ewald import EwaldSettings

PME = EwaldSettings(cutoff=6.0, tolerance=1e-5, method="pme", pme_spacing=0.5)
SETTINGS = {
    "clusters": PhysicsSettings(polarization=PolarizationSettings(solver="extrapolated")),
    "box": PhysicsSettings(cutoff=6.0, ewald=PME, scales=Scales(use_polar_groups=False),
                           polarization=PolarizationSettings(solver="extrapolated")),
}


@pytest.fixture(autouse=True)
def eager_afterwards():
    yield
    kernels.compile_kernels(False)
    kernels._state["failed"] = False


def _system():
    topo = degdme_topology(2)
    params = random_multipoles(prior_parameters(2), seed=4, scale=0.5)
    params = {k: v.to(torch.float32).requires_grad_(v.is_floating_point()) if torch.is_tensor(v) else v
              for k, v in params.items()}
    pos = torch.tensor(degdme_dimer(shift=(0.0, 0.5, 6.0)) + np.array([3.0, 3.0, 0.5]), dtype=torch.float32)
    return pos, topo, params, torch.eye(3) * 13.0


def _evaluate(kind: str):
    """Per-term energies, forces and the gradients of the total w.r.t. every float parameter."""
    pos, topo, params, cell = _system()
    x = pos.clone().requires_grad_(True)
    total, parts = total_energy(x, topo, params, cell if kind == "box" else None, settings=SETTINGS[kind])
    names = [k for k, v in params.items() if torch.is_tensor(v) and v.requires_grad]
    grads = torch.autograd.grad(total, [x] + [params[k] for k in names], allow_unused=True)
    return ({k: float(v) for k, v in parts.items()}, -grads[0],
            {k: g for k, g in zip(names, grads[1:]) if g is not None})


@pytest.mark.parametrize("kind", ["clusters", "box"])
def test_compiled_kernels_give_the_eager_energies_forces_and_parameter_gradients(kind):
    eager = _evaluate(kind)
    kernels.compile_kernels(True)
    compiled = _evaluate(kind)
    assert kernels.kernels_compiled(), "compilation fell back to eager"
    for term, value in eager[0].items():
        assert compiled[0][term] == pytest.approx(value, rel=1e-5, abs=1e-4), term
    scale = float(eager[1].abs().max())
    assert float((compiled[1] - eager[1]).abs().max()) < 1e-5 * scale
    assert eager[2].keys() == compiled[2].keys() and eager[2]
    for name, g in eager[2].items():
        assert torch.allclose(compiled[2][name], g, rtol=1e-4, atol=1e-5 * float(g.abs().max()) + 1e-7), name


def test_a_failing_compiler_warns_once_and_gives_the_eager_result(monkeypatch, caplog):
    from torch._dynamo.exc import BackendCompilerFailed

    def broken(fn, **_):
        def run(*args, **kwargs):
            raise BackendCompilerFailed(lambda *a: None, RuntimeError("no working C compiler"), None)
        return run

    @kernels.fused
    def square(x):
        return x * x

    eager = square(torch.arange(3.0))
    kernels.compile_kernels(True)
    monkeypatch.setattr(torch, "compile", broken)
    with caplog.at_level(logging.WARNING, logger="pinnff.physics.kernels"):
        first, second = square(torch.arange(3.0)), square(torch.arange(3.0))
    assert torch.equal(first, eager) and torch.equal(second, eager)
    assert not kernels.kernels_compiled()
    assert len([r for r in caplog.records if "running them eagerly" in r.getMessage()]) == 1
