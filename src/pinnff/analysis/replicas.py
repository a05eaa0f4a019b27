"""Independent replicas of one MD protocol: one D with its error from their spread, and their pooled MSD.

Replicas are runs with their own initial velocities (and optionally their own
packed box), so their D values are independent samples; the standard error of
their mean is an honest error bar, unlike blocks of one trajectory, whose
molecules share collective motion. D in 1e-9 m^2/s, MSD in Angstrom^2.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from pinnff.errors import InputError


def aggregate_replicas(values: Sequence[float], errors: Sequence[float] | None = None) -> dict:
    """Mean and error of one quantity measured in independent replicas.

    ``values``: ``(n,)``, one per replica; ``errors``: their own error bars
    ``(n,)`` (used only for a single replica). Returns ``mean``, ``error``
    (sample standard deviation / sqrt(n) for n >= 2; the replica's own error
    for n = 1), ``std`` (ddof 1, None for n = 1), ``n`` and ``error_method``.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise InputError(f"replica values must be a non-empty list of finite numbers, got {values.tolist()}")
    if values.size == 1:
        if errors is None or len(errors) != 1:
            raise InputError("a single replica needs its own error bar")
        return {"mean": float(values[0]), "error": float(errors[0]), "std": None, "n": 1,
                "error_method": "blocks of the single replica (no spread across replicas)"}
    std = float(values.std(ddof=1))
    return {"mean": float(values.mean()), "error": std / math.sqrt(values.size), "std": std, "n": int(values.size),
            "error_method": f"standard error of the mean over {values.size} independent replicas"}


def pooled_msd(msds: Sequence[np.ndarray]) -> np.ndarray:
    """Average of replica MSD curves ``[(n_lags_r,), ...]`` over their common lags, ``(min n_lags_r,)``."""
    if not msds:
        raise InputError("no MSD curves to pool")
    n = min(len(m) for m in msds)
    return np.mean([np.asarray(m, dtype=float)[:n] for m in msds], axis=0)
