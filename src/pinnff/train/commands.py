"""``pinnff train``: fit one model to one training file, validated on clean labels."""

from __future__ import annotations

import logging

from pinnff.config import add_settings_argument, section

log = logging.getLogger(__name__)


def build_model(kind: str, settings: dict):
    """A fresh model of ``kind`` (pinn | physics | ml) from the ``train`` config section."""
    from pinnff.errors import InputError
    from pinnff.model.contact import ContactConfig
    from pinnff.model.descriptors import DescriptorConfig
    from pinnff.model.environment import EnvironmentConfig
    from pinnff.model.heads import HeadConfig
    from pinnff.model.ml_potential import MLPotential
    from pinnff.model.physics_potential import PhysicsPotential
    from pinnff.model.store import KINDS, PHYSICS_KINDS

    if kind == "ml":
        ml = settings["ml"]
        descriptors = DescriptorConfig(radial_cutoff=ml["radial_cutoff_A"], angular_cutoff=ml["angular_cutoff_A"])
        return MLPotential(descriptors, hidden=tuple(ml["hidden"]))
    if kind in PHYSICS_KINDS:
        pinn = settings["pinn"]
        descriptors = DescriptorConfig(radial_cutoff=pinn["radial_cutoff_A"], angular_cutoff=pinn["angular_cutoff_A"])
        c = pinn.get("contact", {"enabled": False})
        contact = ContactConfig(cutoff=c["cutoff_A"], hidden=tuple(c["hidden"]), bound=c["bound_kcal"]) \
            if kind == "pinn" and c["enabled"] else None
        e = pinn.get("environment", {"enabled": False})
        environment = EnvironmentConfig(cutoff=e["cutoff_A"], hidden=tuple(e["hidden"]), weight=e["weight"]) \
            if kind == "pinn" and e["enabled"] else None
        return PhysicsPotential(kind, descriptors=descriptors, heads=HeadConfig(hidden=tuple(pinn["hidden"])),
                                physics=settings["amoeba"], prior_weight=pinn["prior_weight"],
                                network_weight=pinn["network_weight"], distortion_A=pinn["distortion_A"],
                                contact=contact, environment=environment)
    raise InputError(f"model kind '{kind}' is not one of {list(KINDS)}")


def _train(args) -> None:
    import pandas as pd
    import torch

    from pinnff.errors import InputError
    from pinnff.io.atomic import write_text
    from pinnff.io.digest import file_sha256
    from pinnff.model.clusters import load_clusters
    from pinnff.model.store import save_checkpoint
    from pinnff.physics.kernels import compile_kernels
    from pinnff.train.trainer import TrainSettings, train

    s = section(args.settings, "train")
    if args.optimizer:
        s["optimizer"] = args.optimizer
    compile_kernels(s["compile_kernels"])
    torch.manual_seed(args.seed)
    model = build_model(args.model, s)
    settings = TrainSettings(optimizer=s["optimizer"], max_grad_evals=s["max_grad_evals"], lr=s["lr"],
                             val_every=s["val_every"], seed=args.seed, tabu=s["tabu"],
                             contact_steps=s["pinn"]["contact"]["refit_steps"], contact_lr=s["pinn"]["contact"]["refit_lr"])
    dtype = getattr(torch, s["dtype"])
    train_set, val_set = load_clusters(args.train, dtype), load_clusters(args.val, dtype)
    if args.n_train is not None:
        if args.n_train < 1:
            raise InputError(f"--n-train must be >= 1, got {args.n_train}")
        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(args.seed)).tolist()
        train_set = [train_set[k] for k in sorted(order[:args.n_train])]
    result = train(model, train_set, val_set, settings,
                   progress=lambda row: log.info("grad evals %d: train MSE %.4g, val RMSE %.4g kcal/mol",
                                                 row["grad_evals"], row["train_loss"], row["val_loss"]))
    metadata = {"model": args.model, "seed": args.seed, "train_file": str(args.train), "val_file": str(args.val),
                "train_sha256": file_sha256(args.train), "val_sha256": file_sha256(args.val), "settings": s,
                "n_train": len(train_set), "n_val": len(val_set), "best_val_rmse_kcal": result.best_val_loss,
                "grad_evals": result.grad_evals, "wall_s": result.wall_s}
    save_checkpoint(args.out, model, metadata)
    write_text(args.curve, pd.DataFrame(result.history).to_csv(index=False))
    log.info("best validation RMSE %.3f kcal/mol after %d gradient evaluations (%.0f s)", result.best_val_loss,
             result.grad_evals, result.wall_s)


def add_parser(subparsers) -> None:
    """Register ``pinnff train``."""
    p = subparsers.add_parser("train", help="train one model (interaction energies)")
    p.add_argument("--model", required=True, help="model kind: pinn | physics | ml")
    p.add_argument("--train", required=True, help="training file (possibly with label noise)")
    p.add_argument("--val", required=True, help="validation file (clean labels)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, help="train on this many samples of the training file (a seeded draw; "
                   "all when the file has fewer): learning curves")
    p.add_argument("--optimizer", choices=["adam", "tabu-adam"], help="override the config's optimizer (the optimizer study)")
    add_settings_argument(p, "train")
    p.add_argument("--out", required=True, help="checkpoint (.pt)")
    p.add_argument("--curve", required=True, help="training curve (CSV)")
    p.set_defaults(func=_train)
