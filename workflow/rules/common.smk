# Config validation, paths and input functions shared by all rule files.
import json
import math
import os
import sys
from pathlib import Path

from pinnff.config import validate as validate_config
from pinnff.label.backends import level_slug, level_tag

validate_config(config, where="config")

# Shell rules call the `pinnff` installed beside the Python running Snakemake,
# whether or not its environment is activated.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

R = config["results_dir"]
LEVEL = level_tag(config["label"])
SLUG = level_slug(LEVEL)
SHIPPED = Path(workflow.basedir) / "resources" / "labels" / SLUG
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


def settings(section):
    """One config section as inline JSON for a command's --settings."""
    return json.dumps(config[section], sort_keys=True)


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
    """Every shipped labelled file at the configured level (looked up before computing)."""
    return sorted(str(p) for p in SHIPPED.glob("*/*.extxyz"))


def curated(name):
    return f"{R}/curated/{name}.extxyz"


def trained_models():
    """Checkpoints of every (training set, sigma, model, seed) combination that has data."""
    return expand(f"{R}/models/{{model}}/{{trainset}}/sigma{{sigma}}/seed{{seed}}/model.pt",
                  model=config["train"]["models"], trainset=TRAINABLE, sigma=SIGMAS, seed=config["train"]["seeds"])
