"""``pinnff fit-intramolecular``: refit the MMFF94 valence terms to the DFT monomers under an MD potential.

The potential is a trained pinn/physics checkpoint or the classical prior;
its AMOEBA+ intramolecular non-bonded part stays fixed while the valence
terms are fitted (:mod:`pinnff.md.valence_fit`). Writes the fitted
parameters (a ``weights_only`` loadable ``.pt`` that ``pinnff md --valence``
reads) and a JSON report of energy and force RMSEs before and after.
"""

from __future__ import annotations

import logging

from pinnff.config import add_settings_argument, section

log = logging.getLogger(__name__)


def _fit_intramolecular(args) -> None:
    import torch

    from pinnff.io.atomic import atomic_open, write_json
    from pinnff.io.structures import read_structures
    from pinnff.md.potential import PRIOR
    from pinnff.md.valence_fit import NONBONDED, IntramolecularSettings, evaluate_valence, fit_valence, monomer_batch
    from pinnff.model.physics_potential import physics_settings
    from pinnff.model.store import PHYSICS_KINDS, load_model
    from pinnff.physics.intramolecular import MMFFIntramolecular

    train = section(args.settings, "train")
    if args.model == PRIOR:
        model, options, smiles = None, train["amoeba"], args.smiles
    else:
        model = load_model(args.model, PHYSICS_KINDS).double()
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
    """Register ``pinnff fit-intramolecular``."""
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
