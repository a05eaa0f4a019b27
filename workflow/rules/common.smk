# Config validation, paths and input functions shared by all rule files.
import json
import math
import os
import sys
from pathlib import Path

from pinnff.config import validate as validate_config
from pinnff.label.backends import energy_level, level_slug, level_tag

validate_config(config, where="config")

# Shell rules call the `pinnff` installed beside the Python running Snakemake,
# whether or not its environment is activated.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

R = config["results_dir"]
LEVEL = level_tag(config["label"])
SLUG = level_slug(LEVEL)
SHIPPED = Path(workflow.basedir) / "resources" / "labels" / SLUG
# folders whose labels are looked up before computing: this level's, and the uncorrected level's (whose
# cluster and monomer energies a counterpoise-corrected level reuses)
SHIPPED_FOLDERS = sorted({SHIPPED, SHIPPED.parent / level_slug(energy_level(LEVEL))})
LABELS = f"{R}/labels/{SLUG}"
CLUSTER_SETS = ["set_A", "set_B", "short", "long", "trimers", "scans"]
LABELLED_SETS = ["conformers", "monomers"] + CLUSTER_SETS
TRAINING_SETS = {"A": "set_A", "B": "set_B"}
SIGMAS = [f"{s:g}" for s in config["noise"]["sigmas_kcal"]]
# Train only on sets that have labels: shipped ones, or all when missing labels are computed.
TRAINABLE = [t for t, name in TRAINING_SETS.items() if config["label"]["compute_missing"] or (SHIPPED / name).is_dir()]


wildcard_constraints:
    set="|".join(LABELLED_SETS),
    trainset="|".join(TRAINING_SETS),
    sigma=r"[0-9.]+",
    chunk=r"\d+",
    model="|".join(config["train"]["models"]),
    seed=r"\d+",
    optimizer="adam|tabu-adam",
    size=r"\d+",


def settings(section, without=()):
    """One config section as inline JSON for a command's --settings; keys in ``without`` are left out (the
    command fills their defaults), so that editing them does not re-run the rule."""
    return json.dumps({k: v for k, v in config[section].items() if k not in without}, sort_keys=True)


def set_size(name):
    """Upper bound on the samples of a curated set, from the config."""
    d = config["dimers"]
    if name == "conformers":
        return config["conformers"]["max_count"]
    if name == "monomers":
        return config["monomers"]["count"]
    if name in ("set_A", "set_B"):
        return sum(d[name][k] for k in ("n_train", "n_val", "n_test"))
    if name == "scans":
        return d["scans"]["count"] * d["scans"]["n_points"]
    return d[name]["count"]


def label_chunks(wildcards):
    """Labelled chunk files of one set."""
    n = max(1, math.ceil(set_size(wildcards.set) / config["label"]["chunk_size"]))
    return [f"{LABELS}/{wildcards.set}/chunk-{k:03d}.extxyz" for k in range(n)]


def shipped_files():
    """Every shipped labelled file whose energies the configured level uses (looked up before computing)."""
    return sorted(str(p) for folder in SHIPPED_FOLDERS for p in folder.glob("*/*.extxyz"))


def curated(name):
    return f"{R}/curated/{name}.extxyz"


MD_PRIORITY = 10
"""Scheduling priority of the liquid stage's chain (the trainings of the models MD uses, their valence
fits, the MD jobs): its long jobs start as early as their inputs allow, and the other trainings fill the
cores around them instead of leaving the MD jobs alone at the end."""


def md_chain_priority(wildcards):
    """MD_PRIORITY for the training of a model that the liquid stage runs, else 0."""
    md = config["md"]
    used = (wildcards.model in md["models"] and wildcards.trainset == md["trainset"] and float(wildcards.sigma) == 0
            and wildcards.optimizer == config["train"]["optimizer"] and int(wildcards.seed) == md["model_seed"])
    return MD_PRIORITY if used else 0


MODEL_RUN = "{model}/{trainset}/sigma{sigma}/{optimizer}/seed{seed}"
"""One training run: model kind, training set, label noise, optimizer, seed."""


def model_runs():
    """Every (model, training set, sigma, seed) run of the main study with the configured optimizer."""
    return expand(MODEL_RUN, model=config["train"]["models"], trainset=TRAINABLE, sigma=SIGMAS,
                  optimizer=config["train"]["optimizer"], seed=config["train"]["seeds"])


def trained_models():
    """Checkpoints of every run of the main study that has data."""
    return [f"{R}/models/{run}/model.pt" for run in model_runs()]


def validated_models():
    """Held-out predictions of every run of the main study."""
    return [f"{R}/validation/{run}.csv" for run in model_runs()]


def optimizer_study_models():
    """Checkpoints of the optimizer study: both optimizers, its seeds, clean labels."""
    study = config["train"]["optimizer_study"]
    if study["trainset"] not in TRAINABLE:
        return []
    return expand(f"{R}/models/{MODEL_RUN}/model.pt", model=study["model"], trainset=study["trainset"],
                  sigma="0", optimizer=["adam", "tabu-adam"], seed=study["seeds"])


def training_samples(name):
    """Training samples set ``name`` will have: its configured size when missing labels are computed,
    else the shipped labelled ones (counted from the extended-XYZ comment lines)."""
    if config["label"]["compute_missing"]:
        return config["dimers"][name]["n_train"]
    count = 0
    for path in (SHIPPED / name).glob("*.extxyz"):
        count += sum(1 for line in path.open() if " split=train " in f" {line} " and "label_status=ok" in line)
    return count


def learning_curve_predictions():
    """Held-out predictions of the learning-curve runs (clean labels, configured optimizer): the
    configured sizes below the available training samples, plus all of them. A run on all of them
    is the main grid's clean run of the same seed (``--n-train`` keeps every sample in file order,
    so it would train the same model again): its validation is used instead."""
    curve = config["train"]["learning_curve"]
    if curve["trainset"] not in TRAINABLE:
        return []
    available = training_samples(TRAINING_SETS[curve["trainset"]])
    runs = dict(model=config["train"]["models"], trainset=curve["trainset"], sigma="0",
                optimizer=config["train"]["optimizer"], seed=curve["seeds"])
    subsets = sorted(n for n in curve["sizes"] if n < available)
    if max(curve["sizes"]) >= available:
        whole = expand(f"{R}/validation/{MODEL_RUN}.csv", **runs)
    else:
        subsets.append(max(curve["sizes"]))
        whole = []
    return expand(f"{R}/learning/{MODEL_RUN}/n{{size}}.csv", **runs, size=subsets) + whole
