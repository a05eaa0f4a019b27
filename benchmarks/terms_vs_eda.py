"""Which AMOEBA+ terms carry a model's error: each term group against its DFT energy component, by contact band.

Reads DFT energy-decomposition rows (``pinnff.label.eda``: e_frz, e_polct, e_disp per sample, kcal/mol),
the labelled clusters they belong to, and trained pinn/physics models, and prints (and writes as JSON)
the RMSE and mean signed error (model - DFT, kcal/mol) of

- electrostatics + repulsion (permanent multipoles with penetration + the repulsive part of the 14-7,
  eps tau^7 1.12/(rho^7 + 0.12)) against E_frz,
- polarization + charge transfer against E_pol+ct,
- the attractive part of the 14-7 (-2 eps tau^7) against D3(BJ),
- the contact correction, when the model has one (shown beside the others: it has no DFT counterpart),
- the total against E_int,

over all samples and per band of the closest intermolecular contact (A).

    PYTHONPATH=src python benchmarks/terms_vs_eda.py --eda CACHE_DIR... --labels CHUNK... \
        --model NAME=CHECKPOINT... [--json out.json]

Checkpoints: ``{"config": model.config_dict(), "state": state_dict}`` (torch.save) or a ``pinnff train``
checkpoint.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

BANDS = ((0.0, 2.5), (2.5, 3.0), (3.0, 99.0))


def load_model(path: str):
    from pinnff.model.physics_potential import PhysicsPotential

    blob = torch.load(path, weights_only=True)
    if "config" in blob:
        model = PhysicsPotential.from_config_dict(blob["config"])
        model.load_state_dict(blob["state"])
        return model.double().eval()
    from pinnff.model.store import PHYSICS_KINDS, load_model

    return load_model(path, PHYSICS_KINDS).double()


def vdw_parts(model, data) -> tuple[torch.Tensor, torch.Tensor]:
    """Repulsive and attractive parts (n_samples,) kcal/mol of the intermolecular 14-7 energy."""
    from pinnff.physics.vdw import combine, vdw_sites

    positions = data["positions"][:data["n_cluster_atoms"]]
    features = model.cluster_rows(data, data["features"]) if "features" in data else None
    params = model.atom_parameters(positions, data["n_molecules"], features, tiled=data["tiled"])
    n = data["n_cluster_atoms"]
    topology = data["topology"]
    sites = vdw_sites(data["positions"], topology, data["reduction"])[:n]
    pairs = data["inter_pairs"]
    rmin, eps = combine(params, pairs.i, pairs.j, model.physics["epsilon_rule"])
    r = torch.linalg.norm(sites[pairs.j] - sites[pairs.i], dim=-1)
    rho = r / rmin
    tau7 = (1.07 / (rho + 0.07)) ** 7
    sample = data["contact_sample"].index_select(0, pairs.i)
    rep = torch.zeros(data["n_samples"], dtype=r.dtype).index_add(0, sample, eps * tau7 * 1.12 / (rho ** 7 + 0.12))
    att = torch.zeros(data["n_samples"], dtype=r.dtype).index_add(0, sample, -2.0 * eps * tau7)
    return rep, att


def model_terms(model, clusters) -> dict[str, np.ndarray]:
    """Term groups (n_samples,) kcal/mol of ``model`` on ``clusters``."""
    data = model.prepare(clusters)
    data["contact_sample"] = torch.arange(len(clusters)).repeat_interleave(torch.tensor([len(c.numbers) for c in clusters]))
    with torch.no_grad():
        terms = model.interaction_decomposition(data)
        rep, att = vdw_parts(model, data)
    vdw = terms["vdw"]
    if float((rep + att - vdw).abs().max()) > 1e-6:
        raise RuntimeError("the 14-7 split does not add up to the model's vdW term")
    out = {"elst+rep": terms["multipole"] + rep, "pol+ct": terms["polarization"] + terms["charge_transfer"],
           "disp": att, "total": sum(terms.values())}
    if "contact" in terms:
        out["contact"] = terms["contact"]
    return {k: v.numpy() for k, v in out.items()}


def main() -> None:
    from pinnff.io.structures import read_structures
    from pinnff.model.clusters import Cluster

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eda", nargs="+", required=True, help="folders of per-sample decomposition JSON")
    ap.add_argument("--labels", nargs="+", required=True, help="labelled chunk files holding those samples")
    ap.add_argument("--model", nargs="+", required=True, help="NAME=CHECKPOINT")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = {r["sample_id"]: r for folder in args.eda for r in map(json.loads, map(Path.read_text, Path(folder).glob("*.json")))}
    frames = {a.info["sample_id"]: a for path in args.labels for a in read_structures(path) if a.info["sample_id"] in rows}
    ids = sorted(frames)
    clusters = [Cluster(i, torch.tensor(frames[i].positions), torch.tensor(frames[i].numbers),
                        torch.tensor(frames[i].arrays["mol_id"]), rows[i]["e_int_kcal"], rows[i]["e_int_kcal"]) for i in ids]
    dft = {"elst+rep": np.array([rows[i]["e_frz_kcal"] for i in ids]), "pol+ct": np.array([rows[i]["e_polct_kcal"] for i in ids]),
           "disp": np.array([rows[i]["e_disp_kcal"] for i in ids]), "total": np.array([rows[i]["e_int_kcal"] for i in ids])}
    contact = np.array([rows[i]["min_contact_A"] for i in ids])
    report = {"n": len(ids), "dft_mean": {k: float(v.mean()) for k, v in dft.items()}, "models": {}}
    print(f"{len(ids)} samples; DFT component means (kcal/mol): " + ", ".join(f"{k} {v.mean():.2f}" for k, v in dft.items()))
    for spec in args.model:
        name, path = spec.split("=", 1)
        terms = model_terms(load_model(path), clusters)
        report["models"][name] = {}
        for term, values in terms.items():
            for lo, hi in BANDS + ((0.0, 99.0),):
                band = (contact >= lo) & (contact < hi)
                if not band.any():
                    continue
                entry = {"n": int(band.sum())}
                if term in dft:
                    error = values[band] - dft[term][band]
                    entry.update(rmse=float(np.sqrt(np.mean(error ** 2))), mse=float(error.mean()))
                else:
                    entry.update(mean=float(values[band].mean()))
                report["models"][name].setdefault(term, {})[f"{lo}-{hi}"] = entry
        for term, bands in report["models"][name].items():
            print(f"{name:10s} {term:9s} " + "  ".join(
                f"[{b}] n={e['n']} " + (f"rmse {e['rmse']:.2f} mse {e['mse']:+.2f}" if "rmse" in e else f"mean {e['mean']:+.2f}")
                for b, e in bands.items()))
    if args.json:
        from pinnff.io.atomic import write_json

        write_json(args.json, report)


if __name__ == "__main__":
    main()
