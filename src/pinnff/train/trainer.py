"""Fitting a model to interaction energies with Adam or Tabu-Adam at a fixed gradient budget.

A model offers ``prepare(clusters) -> data``, ``fit_normalization(data)`` and
``interaction_energies(data) -> (n,)`` kcal/mol, and optionally
``training_terms(data) -> (energies, penalty)``: the same energies and a regularizer in
kcal^2/mol^2 from one evaluation. The training loss is the mean squared error
on the (possibly noisy) training labels plus that penalty; model
selection ("early stopping") keeps the parameters with the lowest RMSE on the
clean validation labels, kcal/mol, checked along the way by both optimizers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch

from pinnff.errors import InputError
from pinnff.train.tabu_adam import TabuAdam, TabuAdamConfig, TrainResult, adam

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    """``optimizer``: adam | tabu-adam; ``max_grad_evals``: the budget; ``lr``: Adam step;
    ``val_every``: Adam's validation interval; ``tabu``: extra :class:`TabuAdamConfig` fields;
    ``contact_steps``/``contact_lr``: Adam steps and step size of the second stage that refits a
    PINN's contact correction alone (0: none; see ``PhysicsPotential.refit_contact``). The first
    three have no defaults here: the ``train`` section of the validated config is their one source."""

    optimizer: str
    max_grad_evals: int
    lr: float
    val_every: int = 50
    seed: int = 0
    tabu: dict = field(default_factory=dict)
    contact_steps: int = 0
    contact_lr: float = 3e-3

    def __post_init__(self):
        if self.optimizer not in ("adam", "tabu-adam"):
            raise InputError(f"optimizer '{self.optimizer}' is not adam or tabu-adam")


def rmse(predicted: torch.Tensor, reference: torch.Tensor) -> float:
    """Root-mean-square error (same unit as the inputs)."""
    return float(torch.sqrt(torch.mean((predicted.detach() - reference) ** 2)))


def train(model, train_clusters: list, val_clusters: list, settings: TrainSettings, progress=None) -> TrainResult:
    """Fit ``model`` in place; returns the optimizer's :class:`TrainResult` (best-by-validation loaded)."""
    if not train_clusters or not val_clusters:
        raise InputError(f"need training and validation samples, got {len(train_clusters)} and {len(val_clusters)}")
    torch.manual_seed(settings.seed)
    model.to(dtype=train_clusters[0].positions.dtype)
    train_data, val_data = model.prepare(train_clusters), model.prepare(val_clusters)
    model.fit_normalization(train_data)
    dtype = train_clusters[0].positions.dtype
    targets = torch.tensor([c.e_int_kcal for c in train_clusters], dtype=dtype)
    val_targets = torch.tensor([c.e_int_clean_kcal for c in val_clusters], dtype=dtype)

    terms = getattr(model, "training_terms", None)

    def train_loss() -> torch.Tensor:
        if terms is None:
            return torch.mean((model.interaction_energies(train_data) - targets) ** 2)
        energies, penalty = terms(train_data)
        return torch.mean((energies - targets) ** 2) + penalty

    def val_loss() -> float:
        with torch.no_grad():
            return rmse(model.interaction_energies(val_data), val_targets)

    log.info("training %s on %d samples (%d validation) with %s, %d gradient evaluations",
             type(model).__name__, len(train_clusters), len(val_clusters), settings.optimizer, settings.max_grad_evals)
    if settings.optimizer == "adam":
        result = adam(model, train_loss, val_loss, settings.max_grad_evals, lr=settings.lr,
                      val_every=settings.val_every, progress=progress)
    else:
        config = TabuAdamConfig(lr=settings.lr, seed=settings.seed, **settings.tabu)
        result = TabuAdam(model, train_loss, val_loss, config).run(settings.max_grad_evals, progress=progress)
    if settings.contact_steps and getattr(model, "contact", None) is not None:
        result.best_val_loss = model.refit_contact(train_data, targets, val_data, val_targets, settings.contact_steps,
                                                   settings.contact_lr, settings.val_every)
        log.info("contact correction refitted alone (%d steps): validation RMSE %.4g kcal/mol",
                 settings.contact_steps, result.best_val_loss)
    return result
