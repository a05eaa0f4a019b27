"""Training speed: one training of the default settings per model kind (pinn, physics, ml) on one core.

Data: the shipped set-A labels (``resources/labels/<level>/set_A/*.extxyz``),
split by each sample's ``split`` key (train: the training set, val: the
validation set; clean labels, sigma 0). Settings: the ``train`` config
section's defaults (Tabu-Adam, ``train.dtype``), except that each kind is
timed over ``--grad-evals`` gradient evaluations (at least 100) and the time
is scaled to the default budget ``train.max_grad_evals``:

    scaled_s = compile_s + prepare_s + optimizer_s / grad_evals * max_grad_evals

where ``compile_s`` is the one-off compilation of the fused pair kernels
(``train.compile_kernels``; ``--eager`` switches them off), ``prepare_s`` the
data set's one-off preparation (descriptors, pair lists, frozen geometry) and
``optimizer_s`` the optimizer's run (gradient evaluations plus its validation
checks). Prints the figures and writes them
as JSON (``--json``): ``pinn_s``, ``physics_s``, ``ml_s`` (scaled seconds),
``<kind>_per_grad_eval_s``, ``<kind>_prepare_s``, ``<kind>_compile_s``, ``<kind>_cpu_s`` (the scaled time as this
process's CPU time: on shared cores it shows what the wall clock loses to other jobs),
``<kind>_best_val_rmse_kcal`` (best validation RMSE after the timed evaluations),
``n_train``, ``n_val``, ``grad_evals``, ``max_grad_evals``, ``threads``,
``torch``, ``load_average``.

Before the training caches (commit 683acc4, 1 thread, 2026-12-02 04:16 UTC,
load average 0.7 on 2 cores, 100 timed gradient evaluations): pinn 269 s,
physics 225 s, ml 31 s; after them, and side-by-side CPU times: config/README.md
("train", speed).

    python benchmarks/bench_train.py [--kinds pinn physics ml] [--grad-evals 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "resources" / "labels" / "dft_b3lyp-d3bj_def2-svp_df_grid2" / "set_A"


def set_a_roles(labels: Path = LABELS, dtype=torch.float32, roles=("train", "val", "test")) -> dict:
    """Clusters of the shipped set-A chunks by their ``split`` key, for each of ``roles``."""
    from pinnff.io.structures import read_structures
    from pinnff.model.clusters import load_clusters

    out = {role: [] for role in roles}
    for chunk in sorted(labels.glob("chunk-*.extxyz")):
        split = {a.info["sample_id"]: a.info.get("split") for a in read_structures(chunk)}
        for cluster in load_clusters(chunk, dtype):
            if split[cluster.sample_id] in out:
                out[split[cluster.sample_id]].append(cluster)
    return out


def set_a_splits(labels: Path = LABELS, dtype=torch.float32) -> tuple[list, list]:
    """(training, validation) clusters of the shipped set-A chunks, split by their ``split`` key."""
    roles = set_a_roles(labels, dtype, ("train", "val"))
    return roles["train"], roles["val"]


def compile_seconds(kind: str, settings: dict, clusters: list) -> float:
    """Seconds to compile the fused pair kernels (``train.compile_kernels``; 0 when off or ``ml``): a
    throwaway model's first evaluation with and without gradients on a few clusters. A one-off cost of
    a training process, counted once, not scaled with the budget."""
    from pinnff.physics.kernels import kernels_compiled
    from pinnff.train.commands import build_model

    if not kernels_compiled() or kind == "ml":
        return 0.0
    began = time.perf_counter()
    model = build_model(kind, settings).to(dtype=clusters[0].positions.dtype)
    data = model.prepare(clusters[:4])
    model.fit_normalization(data)
    model.interaction_energies(data).sum().backward()
    with torch.no_grad():
        model.interaction_energies(data)
    return time.perf_counter() - began


def time_training(kind: str, settings: dict, train_set: list, val_set: list, grad_evals: int) -> dict:
    """One seeded training of ``kind`` for ``grad_evals`` gradient evaluations: timings and best validation RMSE."""
    from pinnff.train.commands import build_model
    from pinnff.train.trainer import TrainSettings, train

    compile_s = compile_seconds(kind, settings, train_set)
    torch.manual_seed(0)
    model = build_model(kind, settings)
    run = TrainSettings(optimizer=settings["optimizer"], max_grad_evals=grad_evals, lr=settings["lr"],
                        val_every=settings["val_every"], seed=0, tabu=settings["tabu"])
    began, began_cpu = time.perf_counter(), time.process_time()
    result = train(model, train_set, val_set, run)
    total, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    per_eval = result.wall_s / result.grad_evals
    prepare = total - result.wall_s
    scaled = compile_s + prepare + per_eval * settings["max_grad_evals"]
    return {"scaled_s": scaled, "per_grad_eval_s": per_eval, "prepare_s": prepare, "compile_s": compile_s,
            "cpu_s": cpu / total * scaled, "best_val_rmse_kcal": result.best_val_loss}


def main(argv=None) -> dict:
    from pinnff.config import section
    from pinnff.memory import keep_freed_memory
    from pinnff.physics import native
    from pinnff.physics.kernels import compile_kernels

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["pinn", "physics", "ml"], choices=["pinn", "physics", "ml"])
    parser.add_argument("--grad-evals", type=int, default=100, help="gradient evaluations timed (>= 100)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eager", action="store_true", help="pair kernels eager (train.compile_kernels off)")
    parser.add_argument("--no-native", action="store_true", help="torch formulas instead of the native C pair kernels")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    if args.grad_evals < 100:
        parser.error("--grad-evals must be at least 100")
    keep_freed_memory()  # as every pinnff command does
    torch.set_num_threads(args.threads)
    settings = section(None, "train")
    settings["compile_kernels"] = settings["compile_kernels"] and not args.eager
    compile_kernels(settings["compile_kernels"])
    native.use(not args.no_native)
    train_set, val_set = set_a_splits(dtype=getattr(torch, settings["dtype"]))
    out = {"n_train": len(train_set), "n_val": len(val_set), "grad_evals": args.grad_evals,
           "max_grad_evals": settings["max_grad_evals"], "dtype": settings["dtype"],
           "compile_kernels": settings["compile_kernels"], "native_kernels": native.available(torch.zeros(1)),
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(f"{len(train_set)} training / {len(val_set)} validation dimers, {settings['dtype']}, "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")
    for kind in args.kinds:
        figures = time_training(kind, settings, train_set, val_set, args.grad_evals)
        out[f"{kind}_s"] = figures.pop("scaled_s")
        out.update({f"{kind}_{key}": value for key, value in figures.items()})
        print(f"{kind:8s} {out[f'{kind}_s']:8.1f} s for {settings['max_grad_evals']} gradient evaluations "
              f"(CPU {out[f'{kind}_cpu_s']:.1f} s; compile {out[f'{kind}_compile_s']:.1f} s, "
              f"prepare {out[f'{kind}_prepare_s']:.1f} s, "
              f"{1e3 * out[f'{kind}_per_grad_eval_s']:.1f} ms per "
              f"evaluation; best validation RMSE after {args.grad_evals}: "
              f"{out[f'{kind}_best_val_rmse_kcal']:.4f} kcal/mol)", flush=True)
    out["load_average"] = list(os.getloadavg())
    print("load average " + " ".join(f"{x:.2f}" for x in out["load_average"]))
    if args.json:
        from pinnff.io.atomic import write_json

        write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
