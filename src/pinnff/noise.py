"""``pinnff noise`` and ``pinnff noise-stats``: Gaussian label noise on training labels.

Noise is zero-mean Gaussian with standard deviation ``sigma`` (kcal/mol) on
the interaction energy of each training sample (``e_int_kcal``; the total
``energy_kcal`` gets the same draw so the two stay consistent). The clean
value is kept under ``e_int_clean_kcal``. Validation and test files are never
touched. The draw is seeded by (seed, sigma, set name), so each file is
reproducible and independent of the others.
"""

from __future__ import annotations

import logging
import zlib

import numpy as np

log = logging.getLogger(__name__)


def noise_rng(seed: int, sigma_kcal: float, set_name: str) -> np.random.Generator:
    """Generator for one (seed, sigma, set) combination."""
    return np.random.default_rng([seed, int(round(sigma_kcal * 1e6)), zlib.crc32(set_name.encode())])


def add_noise(frames: list, sigma_kcal: float, rng: np.random.Generator) -> list:
    """Copies of labelled cluster ``frames`` with noisy ``e_int_kcal``; clean values kept."""
    noisy = []
    for atoms in frames:
        if "e_int_kcal" not in atoms.info:
            raise ValueError(f"{atoms.info['sample_id']}: no e_int_kcal label to perturb")
        out = atoms.copy()
        delta = float(rng.normal(0.0, sigma_kcal)) if sigma_kcal > 0 else 0.0
        out.info.update(
            e_int_clean_kcal=atoms.info["e_int_kcal"], e_int_kcal=atoms.info["e_int_kcal"] + delta,
            energy_clean_kcal=atoms.info["energy_kcal"], energy_kcal=atoms.info["energy_kcal"] + delta,
            noise_sigma_kcal=float(sigma_kcal))
        noisy.append(out)
    return noisy


def noise_statistics(frames: list) -> dict:
    """Realized noise of a noisy file: count, mean, std (kcal/mol) and the standard error of the mean."""
    delta = np.array([a.info["e_int_kcal"] - a.info["e_int_clean_kcal"] for a in frames])
    sigma = frames[0].info["noise_sigma_kcal"] if frames else float("nan")
    n = len(delta)
    std = float(delta.std(ddof=1)) if n > 1 else float("nan")
    return {"sigma_kcal": sigma, "n": n, "mean_kcal": float(delta.mean()) if n else float("nan"),
            "std_kcal": std, "sem_kcal": sigma / np.sqrt(n) if n else float("nan")}


def _noise(args) -> None:
    from pinnff.io.structures import read_structures, write_structures

    frames = read_structures(args.train)
    noisy = add_noise(frames, args.sigma_kcal, noise_rng(args.seed, args.sigma_kcal, args.set_name))
    write_structures(args.out, noisy)
    log.info("sigma %.3g kcal/mol on %d training samples of %s -> %s", args.sigma_kcal, len(noisy), args.set_name, args.out)


def _stats(args) -> None:
    import pandas as pd

    from pinnff.io.atomic import write_text
    from pinnff.io.structures import read_structures

    rows = []
    for item in args.files:
        name, _, path = item.partition("=")
        rows.append({"set": name, **noise_statistics(read_structures(path))})
    table = pd.DataFrame(rows)
    write_text(args.out, table.to_csv(index=False))
    log.info("realized noise:\n%s", table.to_string(index=False))


def add_parser(subparsers) -> None:
    """Register ``pinnff noise`` and ``pinnff noise-stats``."""
    p = subparsers.add_parser("noise", help="add seeded Gaussian noise to training labels")
    p.add_argument("--train", required=True, help="clean training file")
    p.add_argument("--sigma-kcal", type=float, required=True, help="noise std, kcal/mol")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--set-name", required=True, help="training set name (part of the seed)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_noise)

    p = subparsers.add_parser("noise-stats", help="table of realized noise statistics")
    p.add_argument("files", nargs="+", metavar="NAME=FILE")
    p.add_argument("--out", required=True, help="CSV")
    p.set_defaults(func=_stats)
