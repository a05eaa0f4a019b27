"""Force check shared by the model tests: autograd gradient against central differences."""

import pytest
import torch


def assert_gradient_matches_central_differences(energy, x: torch.Tensor, atom: int, h: float = 1e-4,
                                                rel: float = 1e-5, abs: float = 1e-5) -> None:
    """d energy / d x[atom] (autograd) equals the central difference with step ``h`` (A) on each axis;
    ``energy`` maps positions (n, 3) to a scalar tensor."""
    y = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(y), y)
    for axis in range(3):
        plus, minus = x.clone(), x.clone()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        with torch.no_grad():
            fd = (float(energy(plus)) - float(energy(minus))) / (2 * h)
        assert float(grad[atom, axis]) == pytest.approx(fd, rel=rel, abs=abs)
