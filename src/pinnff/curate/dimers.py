"""All cluster sets in one pass, so that no geometry appears twice anywhere.

Sets (file stem: protocol):
- ``set_A``: neighbouring pairs from liquid-like boxes (train/val/test roles);
- ``set_B``: random orientations over a range of COM distances (train/val/test);
- ``short``: random orientations at short closest contacts (test only);
- ``long``: random orientations at long range (test only);
- ``trimers``: mutually neighbouring triples from the liquid boxes (test only);
- ``scans``: rigid dissociation scans of liquid pairs not used elsewhere (test only).
"""

from __future__ import annotations

import logging

import numpy as np

from pinnff.chem import molecule
from pinnff.curate.filters import drop_duplicates
from pinnff.curate.frames import assign_splits, cluster_frame, pool_positions
from pinnff.curate.liquid import liquid_clusters
from pinnff.curate.placement import dissociation_scan, random_dimer
from pinnff.geometry import min_contact_by_molecule

log = logging.getLogger(__name__)

SET_NAMES = ("set_A", "set_B", "short", "long", "trimers", "scans")


def _stacked(cluster) -> tuple[np.ndarray, np.ndarray]:
    """All positions of a cluster and the molecule index of each atom."""
    positions = np.concatenate(cluster.positions)
    return positions, np.repeat(np.arange(len(cluster.positions)), len(cluster.positions[0]))


def _frames(smiles, clusters, prefix, protocol, roles):
    return [cluster_frame(smiles, positions, f"{prefix}-{i:04d}", protocol, role, ids)
            for i, ((positions, ids), role) in enumerate(zip(clusters, roles))]


def curate_clusters(smiles: str, density_g_cm3: float, pool_frames: list, settings: dict) -> dict[str, list]:
    """Every cluster set from the conformer pool; ``settings`` is the ``dimers`` config section.

    Returns a dict set name -> list of frames. Raises ``RuntimeError`` if the
    liquid boxes yield too few pairs or trimers for the requested counts.
    """
    rng = np.random.default_rng(settings["seed"])
    pool = pool_positions(pool_frames)
    a, b = settings["set_A"], settings["set_B"]
    n_a = a["n_train"] + a["n_val"] + a["n_test"]
    n_scans = settings["scans"]["count"]
    pairs, trimers = liquid_clusters(
        smiles, pool, a["n_boxes"], a["molecules_per_box"], density_g_cm3, a["packmol_tolerance_A"],
        a["neighbour_contact_A"], a["pairs_per_box"], trimers_per_box=2, seed=int(rng.integers(2**31)),
        relax_iterations=a["relax_iterations"])
    pairs = [p for p in pairs if min_contact_by_molecule(*_stacked(p)) >= settings["min_contact_A"]]
    trimers = [t for t in trimers if min_contact_by_molecule(*_stacked(t)) >= settings["min_contact_A"]]
    if len(pairs) < n_a + n_scans or len(trimers) < settings["trimers"]["count"]:
        raise RuntimeError(f"liquid boxes gave {len(pairs)} pairs and {len(trimers)} trimers; "
                           "raise dimers.set_A.n_boxes or pairs_per_box")
    order = rng.permutation(len(pairs))
    chosen = [(pairs[i].positions, pairs[i].conformer_ids) for i in order[: n_a + n_scans]]
    sets = {"set_A": _frames(smiles, chosen[:n_a], "A", "liquid", assign_splits(n_a, a["n_val"], a["n_test"], rng))}

    n_b = b["n_train"] + b["n_val"] + b["n_test"]
    contact_b = (settings["min_contact_A"], b["max_contact_A"])
    set_b = [random_dimer(pool, rng, com_range_A=tuple(b["com_range_A"]), contact_range_A=contact_b) for _ in range(n_b)]
    sets["set_B"] = _frames(smiles, set_b, "B", "random", assign_splits(n_b, b["n_val"], b["n_test"], rng))
    for name in ("short", "long"):
        part = settings[name]
        clusters = [random_dimer(pool, rng, contact_range_A=tuple(part["contact_range_A"])) for _ in range(part["count"])]
        sets[name] = _frames(smiles, clusters, name, name, ["test"] * len(clusters))

    picked = rng.permutation(len(trimers))[: settings["trimers"]["count"]]
    sets["trimers"] = _frames(smiles, [(trimers[i].positions, trimers[i].conformer_ids) for i in picked],
                              "trimer", "trimer", ["test"] * len(picked))

    scan = settings["scans"]
    shifts = np.linspace(*scan["shift_range_A"], scan["n_points"])
    from ase import Atoms

    masses = Atoms(molecule.symbols(smiles)).get_masses()
    sets["scans"] = []
    for scan_id, (positions, ids) in enumerate(chosen[n_a:]):
        for point, (shift, moved) in enumerate(dissociation_scan(*positions, shifts, scan["min_contact_A"], masses)):
            sets["scans"].append(cluster_frame(smiles, moved, f"scan{scan_id}-{point:02d}", "scan", "test", ids,
                                               scan_id=scan_id, scan_shift_A=round(shift, 6)))

    seen: set[bytes] = set()
    for name in SET_NAMES:
        before = len(sets[name])
        sets[name] = drop_duplicates(sets[name], seen)
        if len(sets[name]) < before:
            log.warning("%s: dropped %d duplicate geometries", name, before - len(sets[name]))
    return sets
