"""Tabu-Adam: escapes a local minimum that plain Adam keeps at equal cost, rejects tabu starts, is deterministic."""

import math
from dataclasses import replace

import pytest
import torch

from pinnff.errors import InputError
from pinnff.train.tabu_adam import TabuAdam, TabuAdamConfig, adam

# Gaussian wells (x, y, depth) of width 0.6 A on a weak quadratic bowl; the deepest well is the global minimum
WELLS = torch.tensor([[0.0, 0.0, 1.0], [2.5, 0.0, 1.3], [0.0, 2.5, 1.2], [-2.5, -1.0, 1.4], [2.5, 2.7, 2.4]], dtype=torch.float64)
START = (0.4, -0.3)  # inside the shallow well at the origin
BUDGET = 1500
CONFIG = TabuAdamConfig(lr=0.1, n_starts=4, local_steps=40, perturbation=1.5, tabu_radius=0.5, tabu_size=5)


def wells(p: torch.Tensor) -> torch.Tensor:
    d2 = ((p[None, :] - WELLS[:, :2]) ** 2).sum(1)
    return 0.03 * (p**2).sum() - (WELLS[:, 2] * torch.exp(-d2 / (2 * 0.6**2))).sum()


def global_minimum() -> tuple[torch.Tensor, float]:
    """Grid search (0.01 spacing) around the deepest well, then a few Newton steps."""
    grid = torch.stack(torch.meshgrid(torch.arange(1.5, 3.5, 0.01), torch.arange(1.5, 3.5, 0.01), indexing="ij"), -1).reshape(-1, 2).double()
    values = torch.stack([wells(p) for p in grid])
    p = grid[values.argmin()].clone()
    for _ in range(10):
        p = p - torch.linalg.solve(torch.autograd.functional.hessian(wells, p), torch.autograd.functional.jacobian(wells, p))
    return p, float(wells(p))


def problem():
    x = torch.nn.Parameter(torch.tensor(START, dtype=torch.float64))
    return x, (lambda: wells(x)), (lambda: float(wells(x.detach())))


@pytest.fixture(scope="module")
def minimum():
    return global_minimum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tabu_adam_finds_global_minimum_that_adam_misses(seed, minimum):
    where, lowest = minimum
    assert lowest < -1.99 and float(wells(torch.zeros(2, dtype=torch.float64))) > -1.01  # the landscape is as intended

    x, train, val = problem()
    plain = adam([x], train, val, BUDGET, lr=CONFIG.lr, val_every=CONFIG.local_steps)
    assert plain.grad_evals == BUDGET
    assert float(torch.linalg.norm(x.detach())) < 0.1 and plain.best_val_loss > -1.01  # stuck in the starting well

    x, train, val = problem()
    tabu = TabuAdam([x], train, val, replace(CONFIG, seed=seed)).run(BUDGET)
    assert tabu.grad_evals == BUDGET
    assert tabu.val_evals == len(tabu.history) == math.ceil(BUDGET / CONFIG.local_steps)
    assert float(torch.linalg.norm(x.detach() - where)) < 0.15  # best-ever parameters loaded back
    assert tabu.best_val_loss < lowest + 0.02
    assert tabu.best_val_loss == pytest.approx(float(wells(x.detach())), abs=0)
    assert len(tabu.tabu_list) == CONFIG.tabu_size
    # the search accepted at least one move to a worse minimum than its incumbent (it leaves basins)
    moves = [row["train_loss"] for row in tabu.history if row["moved"]]
    assert any(later > earlier + 0.05 for earlier, later in zip(moves, moves[1:]))


def test_tabu_list_rejects_starts_near_listed_points():
    x, train, val = problem()
    radius = 0.5
    centre = torch.tensor([1.0, -2.0], dtype=torch.float64)
    search = TabuAdam([x], train, val, TabuAdamConfig(perturbation=0.1, tabu_radius=radius, grow=1.0, max_draws=50, n_starts=3, seed=7))
    # distance is RMS per coordinate: |d| / sqrt(2)
    search.tabu.append(centre)
    assert search.is_tabu(centre + torch.tensor([0.0, 0.49 * math.sqrt(2)], dtype=torch.float64))
    assert not search.is_tabu(centre + torch.tensor([0.51 * math.sqrt(2), 0.0], dtype=torch.float64))
    # every draw around a listed point with a small perturbation is a revisit: all rejected
    starts, rejected, sigma = search.draw_starts(centre)
    assert starts == [] and rejected == 50 and sigma == 0.1

    # larger perturbation: exactly the draws inside the radius of either entry are rejected
    other = torch.tensor([1.6, -1.5], dtype=torch.float64)
    search = TabuAdam([x], train, val, TabuAdamConfig(perturbation=0.6, tabu_radius=radius, n_starts=6, seed=11))
    search.tabu.extend([centre, other])
    starts, rejected, _ = search.draw_starts(centre)
    replay = torch.Generator().manual_seed(11)
    expected_starts, expected_rejected = [], 0
    while len(expected_starts) < 6:
        candidate = centre + 0.6 * torch.randn(2, generator=replay, dtype=torch.float64)
        near = min(float(torch.linalg.norm(candidate - entry)) / math.sqrt(2) for entry in (centre, other)) < radius
        if near:
            expected_rejected += 1
        else:
            expected_starts.append(candidate)
    assert rejected == expected_rejected > 0
    assert all(torch.equal(a, b) for a, b in zip(starts, expected_starts)) and len(starts) == 6
    assert all(float(torch.linalg.norm(s - e)) / math.sqrt(2) >= radius for s in starts for e in (centre, other))


def test_perturbation_grows_when_everything_nearby_is_tabu():
    x, train, val = problem()
    search = TabuAdam([x], train, val, TabuAdamConfig(perturbation=0.05, tabu_radius=0.5, grow=2.0, max_draws=20, n_starts=2, seed=3))
    search.tabu.append(torch.zeros(2, dtype=torch.float64))
    starts, rejected, sigma = search.draw_starts(torch.zeros(2, dtype=torch.float64))
    assert len(starts) == 2 and rejected >= 20 * 3  # 0.05, 0.1, 0.2 cannot leave a 0.5 radius in 20 draws each
    assert sigma in {0.05 * 2**k for k in range(3, 8)}


def test_deterministic_with_seed():
    runs = []
    for seed in (5, 5, 6):
        x, train, val = problem()
        result = TabuAdam([x], train, val, replace(CONFIG, seed=seed)).run(400)
        runs.append(result)
    assert runs[0].history == runs[1].history
    assert torch.equal(runs[0].best_parameters, runs[1].best_parameters)
    assert runs[0].history != runs[2].history


def test_module_training_keeps_best_validation_parameters():
    """On a torch module: the best-ever parameters by validation loss are loaded at the end, for both optimizers."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 3, generator=generator)
    targets = inputs @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    val_inputs = torch.randn(32, 3, generator=generator)
    val_targets = val_inputs @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    for optimizer in ("tabu", "adam"):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)

        def train():
            return ((model(inputs).squeeze(1) - targets) ** 2).mean()

        @torch.no_grad()
        def val():
            return float(((model(val_inputs).squeeze(1) - val_targets) ** 2).mean())

        initial = val()
        if optimizer == "tabu":
            result = TabuAdam(model, train, val, TabuAdamConfig(lr=0.05, local_steps=50, n_starts=2, perturbation=0.3, tabu_radius=0.05)).run(600)
        else:
            result = adam(model, train, val, 600, lr=0.05, val_every=50)
        assert result.grad_evals == 600
        assert result.best_val_loss == min(row["val_loss"] for row in result.history)
        assert val() == pytest.approx(result.best_val_loss, rel=1e-6)
        assert result.best_val_loss < 1e-3 * initial


def test_diverged_runs_are_never_moved_to_or_kept():
    x = torch.nn.Parameter(torch.tensor([0.0], dtype=torch.float64))

    def loss():  # a parabola with its minimum at 1; NaN beyond 2 (a model that blew up)
        return torch.where(x > 2.0, torch.full_like(x, math.nan), (x - 1.0) ** 2).sum()

    config = TabuAdamConfig(lr=0.05, local_steps=30, n_starts=3, perturbation=2.0, tabu_radius=0.1, seed=2)
    result = TabuAdam([x], loss, lambda: float(loss().detach()), config).run(600)
    diverged = [row for row in result.history if not math.isfinite(row["train_loss"])]
    assert diverged and not any(row["moved"] for row in diverged)
    assert bool(torch.isfinite(x).all()) and abs(float(x.detach()) - 1.0) < 0.05
    assert all(bool(torch.isfinite(entry).all()) for entry in result.tabu_list)


def test_bad_settings_are_rejected():
    with pytest.raises(InputError, match="n_starts = 0"):
        TabuAdamConfig(n_starts=0)
    x, train, val = problem()
    with pytest.raises(InputError, match="max_grad_evals"):
        TabuAdam([x], train, val).run(0)
