"""Rigid placement of one molecule relative to another (set B and extrapolation sets).

Molecules are pool conformers centred at their centre of mass. Molecule 1 is
rotated uniformly at random and translated along a random direction, either
to a given centre-of-mass distance or to the point where its closest contact
with molecule 0 equals a target.
"""

from __future__ import annotations

import numpy as np

from pinnff.geometry import min_contact, random_rotation, random_unit_vector


def distance_for_contact(first: np.ndarray, second: np.ndarray, direction: np.ndarray, contact_A: float,
                         start_A: float = 40.0, step_A: float = 0.1, tolerance_A: float = 1e-4) -> float | None:
    """Distance ``t`` along ``direction`` at which ``second + t*direction`` first touches ``first`` at ``contact_A``.

    Walks in from ``start_A`` and bisects the first crossing; ``None`` when the
    molecules never come that close (only for contacts beyond the molecule size).
    """
    outer = start_A
    if min_contact(first, second + outer * direction) < contact_A:
        return None
    inner = outer
    while inner > 0.0:
        inner = max(inner - step_A, 0.0)
        if min_contact(first, second + inner * direction) < contact_A:
            break
    else:
        return None
    while outer - inner > tolerance_A:
        middle = 0.5 * (inner + outer)
        if min_contact(first, second + middle * direction) < contact_A:
            inner = middle
        else:
            outer = middle
    return outer


def random_dimer(pool: list[np.ndarray], rng: np.random.Generator, *, com_range_A: tuple[float, float] | None = None,
                 contact_range_A: tuple[float, float] | None = None, max_tries: int = 10_000):
    """One random dimer ``([pos0, pos1], [conf0, conf1])`` from the pool.

    With ``com_range_A`` the COM distance is uniform in that range and the
    dimer is accepted only if its closest contact lies in ``contact_range_A``;
    without it, molecule 1 is placed so that the closest contact is uniform in
    ``contact_range_A``.
    """
    for _ in range(max_tries):
        ids = [int(i) for i in rng.integers(0, len(pool), 2)]
        first = pool[ids[0]] @ random_rotation(rng).T
        second = pool[ids[1]] @ random_rotation(rng).T
        direction = random_unit_vector(rng)
        if com_range_A is not None:
            second = second + rng.uniform(*com_range_A) * direction
            contact = min_contact(first, second)
            if contact_range_A is None or contact_range_A[0] <= contact <= contact_range_A[1]:
                return [first, second], ids
            continue
        distance = distance_for_contact(first, second, direction, rng.uniform(*contact_range_A))
        if distance is not None:
            return [first, second + distance * direction], ids
    raise RuntimeError(f"no dimer accepted in {max_tries} tries: widen the distance ranges")


def dissociation_scan(first: np.ndarray, second: np.ndarray, shifts_A: np.ndarray, min_contact_A: float,
                      masses: np.ndarray) -> list[tuple[float, list[np.ndarray]]]:
    """Rigid scan: molecule 1 moved by each shift along the COM-COM axis.

    Points whose closest contact is below ``min_contact_A`` are dropped.
    Returns ``[(shift, [pos0, pos1]), ...]``.
    """
    from pinnff.geometry import center_of_mass

    axis = center_of_mass(second, masses) - center_of_mass(first, masses)
    axis /= np.linalg.norm(axis)
    points = []
    for shift in shifts_A:
        moved = second + shift * axis
        if min_contact(first, moved) >= min_contact_A:
            points.append((float(shift), [first, moved]))
    return points
