"""Tabu-Adam (pinnff's definition, SCIENCE.md) and plain Adam, both with counted cost (torch).

Tabu-Adam is a tabu search whose local optimizer is Adam:

1. Descend with Adam from the initial parameters; the end point is the
   incumbent and the first tabu-list entry.
2. Draw perturbed starts ``incumbent + perturbation * N(0, 1)`` (per
   coordinate, a seeded generator). A start within ``tabu_radius`` of any
   tabu-list entry is discarded. After ``max_draws`` draws without enough
   starts the perturbation grows by ``grow`` (at most ``max_growths`` times
   per round), so the search can always leave a crowded region.
3. Run a fresh Adam (moments reset) from each start for ``local_steps``
   gradient evaluations; evaluate the validation loss at each end point.
4. Move to the candidate with the lowest training loss, even if it is worse
   than the incumbent, preferring end points that are not themselves within
   the tabu radius of a listed point (a revisit) unless every candidate is
   one; append it to the tabu list (bounded length ``tabu_size``, oldest
   dropped). When every candidate was a revisit, the next round's
   perturbation is ``grow`` times larger (capped at ``perturbation *
   grow**max_growths``); a fresh move resets it. Runs that diverged
   (non-finite loss or parameters) are never moved to. Repeat from 2 until
   the gradient-evaluation budget is spent.
5. The best-ever parameters by validation loss are written back into the
   parameters at the end.

Distances between parameter vectors are root-mean-square per coordinate,
``|a - b| / sqrt(n_parameters)``, so radii do not depend on the model's
size; they are in the parameters' own units.

Cost: one gradient evaluation is one call of ``train_loss`` followed by its
backward pass; the training loss of a local run is the one from its last
gradient evaluation (no extra forward pass). Validation calls are counted
separately. :func:`adam` spends the same kind of budget, keeping the
best-ever parameters by validation loss every ``val_every`` steps, so the
two are compared at equal cost.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from pinnff.errors import InputError

LossFn = Callable[[], torch.Tensor]
ValFn = Callable[[], float]


@dataclass(frozen=True)
class TabuAdamConfig:
    """Settings (lengths in the parameters' units, RMS per coordinate).

    ``lr``, ``betas``, ``weight_decay``: the local Adam. ``n_starts``:
    perturbed starts per round. ``local_steps``: gradient evaluations per
    local run. ``perturbation``: standard deviation of the start draws.
    ``tabu_radius``: starts closer than this to a tabu entry are discarded.
    ``tabu_size``: tabu-list length. ``max_draws``, ``grow``, ``max_growths``:
    see the module docstring. ``seed``: the draws' generator.
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    n_starts: int = 4
    local_steps: int = 100
    perturbation: float = 0.05
    tabu_radius: float = 0.02
    tabu_size: int = 10
    max_draws: int = 100
    grow: float = 1.5
    max_growths: int = 20
    avoid_tabu_endpoints: bool = True
    seed: int = 0

    def __post_init__(self):
        checks = {
            "lr": self.lr > 0,
            "n_starts": self.n_starts >= 1,
            "local_steps": self.local_steps >= 1,
            "perturbation": self.perturbation > 0,
            "tabu_radius": self.tabu_radius >= 0,
            "tabu_size": self.tabu_size >= 1,
            "max_draws": self.max_draws >= 1,
            "grow": self.grow >= 1.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"Tabu-Adam setting {name} = {getattr(self, name)} is out of range")

    def as_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


@dataclass
class TrainResult:
    """Outcome of an optimizer run.

    ``best_val_loss`` and ``best_parameters`` (flat vector, also written back
    into the parameters); ``grad_evals`` and ``val_evals`` spent; ``wall_s``
    seconds; ``history``: one dict per local run (Tabu-Adam) or validation
    point (Adam) with keys ``grad_evals``, ``train_loss``, ``val_loss``,
    ``best_val_loss`` and, for Tabu-Adam, ``round``, ``start``, ``moved``,
    ``rejected``, ``perturbation``.
    """

    best_val_loss: float
    best_parameters: torch.Tensor
    grad_evals: int
    val_evals: int
    wall_s: float
    history: list[dict] = field(default_factory=list)
    tabu_list: list[torch.Tensor] = field(default_factory=list)


def _parameter_list(params) -> list[torch.Tensor]:
    if isinstance(params, torch.nn.Module):
        params = params.parameters()
    params = [p for p in params if p.requires_grad]
    if not params:
        raise InputError("no trainable parameters to optimize")
    return params


class _Budget:
    """Counts gradient and validation evaluations against a limit on the former."""

    def __init__(self, max_grad_evals: int):
        if max_grad_evals < 1:
            raise InputError(f"max_grad_evals must be >= 1, got {max_grad_evals}")
        self.limit = int(max_grad_evals)
        self.grad_evals = 0
        self.val_evals = 0

    @property
    def spent(self) -> bool:
        return self.grad_evals >= self.limit


def _adam_run(params, train_loss: LossFn, budget: _Budget, steps: int, lr, betas, weight_decay, on_step=None) -> float:
    """At most ``steps`` Adam steps (fresh moments) within the budget; returns the last training loss (inf if it diverged)."""
    optimizer = torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    last = math.inf
    for _ in range(steps):
        if budget.spent:
            break
        optimizer.zero_grad(set_to_none=True)
        loss = train_loss()
        loss.backward()
        budget.grad_evals += 1
        last = float(loss.detach())
        if not math.isfinite(last):
            return math.inf
        optimizer.step()
        if on_step is not None:
            on_step(last)
    return last


def _validate(val_loss: ValFn, budget: _Budget) -> float:
    budget.val_evals += 1
    value = float(val_loss())
    return value if math.isfinite(value) else math.inf


class TabuAdam:
    """Tabu search with Adam local runs over ``params`` (a module or a list of tensors).

    ``train_loss()`` returns the scalar training loss (differentiable w.r.t.
    the parameters; the optimizer calls ``backward``); ``val_loss()``
    returns the validation loss as a float (called without a gradient
    context of its own: wrap it in ``torch.no_grad`` when it needs none).
    """

    def __init__(self, params, train_loss: LossFn, val_loss: ValFn, config: TabuAdamConfig | None = None):
        self.params = _parameter_list(params)
        self.train_loss = train_loss
        self.val_loss = val_loss
        self.config = config or TabuAdamConfig()
        self.generator = torch.Generator().manual_seed(int(self.config.seed))
        self.tabu: deque[torch.Tensor] = deque(maxlen=self.config.tabu_size)
        self.n_parameters = sum(p.numel() for p in self.params)

    def vector(self) -> torch.Tensor:
        """Current parameters as one detached flat vector."""
        return parameters_to_vector(self.params).detach().clone()

    def load(self, vector: torch.Tensor) -> None:
        """Write a flat vector into the parameters."""
        with torch.no_grad():
            vector_to_parameters(vector.to(self.params[0].dtype), self.params)

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> float:
        """RMS per-coordinate distance between two flat parameter vectors."""
        return float(torch.linalg.norm((a - b).double()) / math.sqrt(self.n_parameters))

    def is_tabu(self, vector: torch.Tensor) -> bool:
        """Whether ``vector`` lies within ``tabu_radius`` of a tabu-list entry."""
        return any(self.distance(vector, entry) < self.config.tabu_radius for entry in self.tabu)

    def draw_starts(self, incumbent: torch.Tensor, perturbation: float | None = None) -> tuple[list[torch.Tensor], int, float]:
        """Perturbed starts around ``incumbent`` that are not tabu: ``(starts, n_rejected, final_perturbation)``.

        ``perturbation`` (default ``config.perturbation``) is the initial
        standard deviation of the draws; it grows as the module docstring says.
        """
        cfg = self.config
        starts: list[torch.Tensor] = []
        rejected = 0
        sigma = cfg.perturbation if perturbation is None else perturbation
        for growth in range(cfg.max_growths + 1):
            for _ in range(cfg.max_draws):
                noise = torch.randn(self.n_parameters, generator=self.generator, dtype=torch.float64)
                start = incumbent + (sigma * noise).to(incumbent.dtype).to(incumbent.device)
                if self.is_tabu(start):
                    rejected += 1
                    continue
                starts.append(start)
                if len(starts) == cfg.n_starts:
                    return starts, rejected, sigma
            if starts or cfg.grow == 1.0 or growth == cfg.max_growths:
                break
            sigma *= cfg.grow
        return starts, rejected, sigma

    def run(self, max_grad_evals: int, progress: Callable[[dict], None] | None = None) -> TrainResult:
        """Search until ``max_grad_evals`` gradient evaluations are spent; load and return the best-ever parameters."""
        cfg = self.config
        budget = _Budget(max_grad_evals)
        began = time.perf_counter()
        history: list[dict] = []

        def local(start: torch.Tensor) -> tuple[torch.Tensor, float, float]:
            self.load(start)
            train = _adam_run(self.params, self.train_loss, budget, cfg.local_steps, cfg.lr, cfg.betas, cfg.weight_decay)
            end = self.vector()
            return end, train, _validate(self.val_loss, budget)

        def record(round_: int, index: int, train: float, val: float, moved: bool, rejected: int, sigma: float) -> None:
            row = dict(round=round_, start=index, grad_evals=budget.grad_evals, train_loss=train, val_loss=val, best_val_loss=best[0], moved=moved, rejected=rejected, perturbation=sigma)
            history.append(row)
            if progress is not None:
                progress(row)

        initial = self.vector()
        incumbent, train, val = local(initial)
        best = (val, incumbent.clone()) if val < math.inf else (math.inf, initial)
        self.tabu.append(incumbent.clone())
        record(0, 0, train, val, True, 0, 0.0)
        round_ = 0
        sigma = cfg.perturbation
        while not budget.spent:
            round_ += 1
            starts, rejected, sigma = self.draw_starts(incumbent, sigma)
            if not starts:
                break  # everything within reach is tabu even after growing the perturbation
            candidates = []
            for index, start in enumerate(starts):
                if budget.spent:
                    break
                end, train, val = local(start)
                if val < best[0]:
                    best = (val, end.clone())
                candidates.append((train, index, end, val))
            if not candidates:
                break
            # diverged runs (non-finite loss or parameters) are never moved to
            pool = [c for c in candidates if math.isfinite(c[0]) and bool(torch.isfinite(c[2]).all())]
            fresh = [c for c in pool if not self.is_tabu(c[2])]
            if cfg.avoid_tabu_endpoints and fresh:
                pool = fresh
            # every run fell back into a listed minimum: reach further next round; a fresh move resets
            limit = cfg.perturbation * cfg.grow**cfg.max_growths
            sigma = cfg.perturbation if fresh or not cfg.avoid_tabu_endpoints else min(sigma * cfg.grow, limit)
            chosen_index = -1
            if pool:
                chosen = min(pool, key=lambda c: (c[0], c[1]))
                chosen_index = chosen[1]
                incumbent = chosen[2].clone()
                self.tabu.append(incumbent.clone())
            for train, index, _, val in candidates:
                record(round_, index + 1, train, val, index == chosen_index, rejected, sigma)
        self.load(best[1])
        return TrainResult(best[0], best[1], budget.grad_evals, budget.val_evals, time.perf_counter() - began, history, list(self.tabu))


def adam(
    params,
    train_loss: LossFn,
    val_loss: ValFn,
    max_grad_evals: int,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    weight_decay: float = 0.0,
    val_every: int = 100,
    progress: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Plain Adam for ``max_grad_evals`` gradient evaluations, validating every ``val_every`` of them.

    Keeps and finally loads the best-ever parameters by validation loss, as
    :class:`TabuAdam` does, so the two compare at equal cost.
    """
    params = _parameter_list(params)
    budget = _Budget(max_grad_evals)
    began = time.perf_counter()
    history: list[dict] = []
    best = (math.inf, parameters_to_vector(params).detach().clone())
    optimizer = torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    train = math.inf
    while not budget.spent:
        optimizer.zero_grad(set_to_none=True)
        loss = train_loss()
        loss.backward()
        budget.grad_evals += 1
        train = float(loss.detach())
        if not math.isfinite(train):
            break
        optimizer.step()
        if budget.grad_evals % val_every == 0 or budget.spent:
            val = _validate(val_loss, budget)
            if val < best[0]:
                best = (val, parameters_to_vector(params).detach().clone())
            row = dict(grad_evals=budget.grad_evals, train_loss=train, val_loss=val, best_val_loss=best[0])
            history.append(row)
            if progress is not None:
                progress(row)
    with torch.no_grad():
        vector_to_parameters(best[1], params)
    return TrainResult(best[0], best[1], budget.grad_evals, budget.val_evals, time.perf_counter() - began, history)
