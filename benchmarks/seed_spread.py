"""Seed-to-seed spread of each model kind on clean set A: train, validation and test RMSE of E_int.

Each kind is trained with the ``train`` config section's defaults (optimizer, budget, step,
Tabu-Adam settings, ``train.dtype``) on the shipped set-A training dimers, selected on the
validation dimers, once per seed, and scored against the clean DFT labels of every split
(kcal/mol). Prints one line per (kind, seed) and the mean and sample standard deviation over the
seeds; ``--json`` writes them. One thread, one training after another (about 3 min per
``pinn``/``physics`` training on 2026-12-02 hardware, 40 s per ``ml``).

    python benchmarks/seed_spread.py [--kinds pinn physics ml] [--seeds 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))


def rmse_by_split(model, sets: dict) -> dict:
    """RMSE (kcal/mol) of the model's E_int against the clean labels of each split."""
    out = {}
    for name, clusters in sets.items():
        with torch.no_grad():
            predicted = model.interaction_energies(model.prepare(clusters))
        reference = torch.tensor([c.e_int_clean_kcal for c in clusters], dtype=predicted.dtype)
        out[name] = float(torch.sqrt(torch.mean((predicted - reference) ** 2)))
    return out


def main(argv=None) -> dict:
    from bench_train import set_a_roles

    from pinnff.config import section
    from pinnff.train.commands import build_model
    from pinnff.train.trainer import TrainSettings, train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["pinn", "physics", "ml"], choices=["pinn", "physics", "ml"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("a spread needs at least two seeds")
    torch.set_num_threads(1)
    settings = section(None, "train")
    sets = set_a_roles(dtype=getattr(torch, settings["dtype"]))
    out = {"n": {name: len(clusters) for name, clusters in sets.items()}, "seeds": args.seeds, "runs": {}}
    for kind in args.kinds:
        runs = []
        for seed in args.seeds:
            torch.manual_seed(seed)
            model = build_model(kind, settings)
            train(model, sets["train"], sets["val"],
                  TrainSettings(optimizer=settings["optimizer"], max_grad_evals=settings["max_grad_evals"],
                                lr=settings["lr"], val_every=settings["val_every"], seed=seed, tabu=settings["tabu"]))
            runs.append(rmse_by_split(model, sets))
            print(kind, f"seed {seed}", " ".join(f"{k} {v:.3f}" for k, v in runs[-1].items()), flush=True)
        summary = {name: {"values": [r[name] for r in runs], "mean": statistics.mean(r[name] for r in runs),
                          "sd": statistics.stdev(r[name] for r in runs)} for name in sets}
        out["runs"][kind] = summary
        print(kind, " ".join(f"{k} {v['mean']:.3f} +- {v['sd']:.3f}" for k, v in summary.items()), flush=True)
    if args.json:
        from pinnff.io.atomic import write_json

        write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
