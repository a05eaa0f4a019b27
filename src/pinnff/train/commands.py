"""``pinnff train``: fit one model to one training file, validated on clean labels;
``pinnff fit-intramolecular``: refit the MMFF94 valence terms to the DFT monomers under an MD potential."""

from __future__ import annotations

import logging

from pinnff.config import add_settings_argument, section

log = logging.getLogger(__name__)


MODEL_KINDS = ("pinn", "physics", "ml")


def build_model(kind: str, settings: dict):
    """A fresh model of ``kind`` (pinn | physics | ml) from the ``train`` config section."""
    from pinnff.errors import InputError
    from pinnff.model.contact import ContactConfig
    from pinnff.model.descriptors import DescriptorConfig
    from pinnff.model.heads import HeadConfig
    from pinnff.model.ml_potential import MLPotential
    from pinnff.model.physics_potential import PhysicsPotential

    if kind == "ml":
        ml = settings["ml"]
        descriptors = DescriptorConfig(radial_cutoff=ml["radial_cutoff_A"], angular_cutoff=ml["angular_cutoff_A"])
        return MLPotential(descriptors, hidden=tuple(ml["hidden"]))
    if kind in ("pinn", "physics"):
        pinn = settings["pinn"]
        descriptors = DescriptorConfig(radial_cutoff=pinn["radial_cutoff_A"], angular_cutoff=pinn["angular_cutoff_A"])
        c = pinn.get("contact", {"enabled": False})
        contact = ContactConfig(cutoff=c["cutoff_A"], hidden=tuple(c["hidden"]), bound=c["bound_kcal"]) \
            if kind == "pinn" and c["enabled"] else None
        return PhysicsPotential(kind, descriptors=descriptors, heads=HeadConfig(hidden=tuple(pinn["hidden"])),
                                physics=settings["amoeba"], prior_weight=pinn["prior_weight"],
                                network_weight=pinn["network_weight"], distortion_A=pinn["distortion_A"],
                                contact=contact)
    raise InputError(f"model kind '{kind}' is not one of {list(MODEL_KINDS)}")


def _train(args) -> None:
    import pandas as pd
    import torch

    from pinnff.errors import InputError
    from pinnff.io.atomic import write_text
    from pinnff.train.checkpoint import save_checkpoint
    from pinnff.train.data import file_sha256, load_clusters
    from pinnff.train.trainer import TrainSettings, train

    s = section(args.settings, "train")
    if args.optimizer:
        s["optimizer"] = args.optimizer
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


def _fit_intramolecular(args) -> None:
    import torch

    from pinnff.io.atomic import atomic_open, write_json
    from pinnff.io.structures import read_structures
    from pinnff.md.potential import PRIOR, load_trained_model
    from pinnff.model.physics_potential import physics_settings
    from pinnff.physics.intramolecular import MMFFIntramolecular
    from pinnff.train.intramolecular import (NONBONDED, IntramolecularSettings, evaluate_valence, fit_valence,
                                             monomer_batch)

    train = section(args.settings, "train")
    if args.model == PRIOR:
        model, options, smiles = None, train["amoeba"], args.smiles
    else:
        model = load_trained_model(args.model).double()
        options, smiles = model.physics, model.smiles
    physics = physics_settings(options, NONBONDED)
    frames = {name: read_structures(path) for name, path in (("train", args.train), ("val", args.val),
                                                              ("test", args.test))}
    valence, report = fit_valence(smiles, frames["train"], frames["val"], model, physics,
                                  IntramolecularSettings(**train["intramolecular"]))
    offset = report["after"]["train"]["offset_kcal"]
    test = monomer_batch(frames["test"], model, physics)
    report["test"] = {"before": evaluate_valence(MMFFIntramolecular(smiles, nonbonded=False), test, offset=None),
                      "after": evaluate_valence(valence, test, offset)}
    report.update(model=args.model, smiles=smiles)
    with atomic_open(args.out, "wb") as handle:
        torch.save({"smiles": smiles, "valence": valence.state_dict()}, handle)
    write_json(args.report, report)
    log.info("valence refit under %s: test force RMSE %.3f -> %.3f kcal/mol/A, energy RMSE %.3f -> %.3f kcal/mol",
             args.model, report["test"]["before"]["force_rmse_kcal_A"], report["test"]["after"]["force_rmse_kcal_A"],
             report["test"]["before"]["energy_rmse_kcal"], report["test"]["after"]["energy_rmse_kcal"])


def add_parser(subparsers) -> None:
    """Register ``pinnff train``."""
    p = subparsers.add_parser("train", help="train one model (interaction energies)")
    p.add_argument("--model", required=True, help="model kind: " + " | ".join(MODEL_KINDS))
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

    p = subparsers.add_parser("fit-intramolecular", help="refit the MMFF94 valence terms to DFT monomer energies "
                              "and forces under an MD potential's non-bonded part")
    p.add_argument("--model", required=True, help="trained pinn/physics checkpoint, or 'prior'")
    p.add_argument("--smiles", default="COCCOCCOC", help="molecule (for the prior)")
    p.add_argument("--train", required=True, help="labelled monomers with energies and forces")
    p.add_argument("--val", required=True)
    p.add_argument("--test", required=True)
    add_settings_argument(p, "train")
    p.add_argument("--out", required=True, help="fitted valence parameters (.pt, weights_only loadable)")
    p.add_argument("--report", required=True, help="energy/force RMSEs before and after (JSON)")
    p.set_defaults(func=_fit_intramolecular)
