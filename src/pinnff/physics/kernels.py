"""Fused pair kernels: the per-pair arithmetic of the hot terms, compiled by ``torch.compile`` when switched on.

The pair terms are long chains of element-wise products over (k,) rows; run
one operator at a time, each product reads and writes k numbers and the
backward pass doubles that. Compiled (Inductor, ``dynamic=True`` so one
kernel serves every pair count), a chain becomes one loop forward and one
backward, about 3x faster on a CPU for the multipole pair energy. The
kernels: the multipole pair energy (:mod:`pinnff.physics.multipole`), the
permanent-field pairs and the damping factors of polarization, the 14-7 and
charge-transfer pairs, and the PINN's symmetry-function terms
(:mod:`pinnff.model.descriptors`). Gathers and scatters stay outside: fused,
their backward pass (an atomic scatter) was slower than eager. The
switch is process-wide (:func:`compile_kernels`), set by the commands that
run many evaluations of one shape of work (training, MD) from their config;
everything else (tests, one-off evaluations) runs the same functions eagerly.
Compilation needs a C compiler on the CPU; where it fails, the kernels fall
back to eager execution with one warning, and the results are the same to
float rounding.

On the CPU the native C kernels (:mod:`pinnff.physics.native`) take the place of the multipole,
permanent-field, 14-7 and charge-transfer kernels (gathers and scatters included); these compiled
ones then serve the polarization damping factors and the symmetry functions, and everything on CUDA
or where the native library is unavailable.

Compiled kernels are first-order only (no ``create_graph`` through them).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

_state = {"enabled": False, "failed": False}


def compile_kernels(enabled: bool) -> None:
    """Switch the fused kernels of this process on (compiled on first use) or off (eager)."""
    _state["enabled"] = bool(enabled)
    if enabled:
        import torch._functorch.config as functorch_config

        functorch_config.donated_buffer = False  # backward passes may retain the graph (several gradients)


def kernels_compiled() -> bool:
    """Whether the kernels run compiled now (switched on and compilation has not failed)."""
    return _state["enabled"] and not _state["failed"]


def _compiler_errors() -> tuple:
    from torch._dynamo.exc import BackendCompilerFailed

    return (BackendCompilerFailed,)


def fused(fn: Callable) -> Callable:
    """``fn`` (a pure function of tensors and Python scalars) run through ``torch.compile`` when the
    kernels are switched on, eagerly otherwise."""
    compiled = None

    @functools.wraps(fn)
    def run(*args, **kwargs):
        nonlocal compiled
        if not kernels_compiled():
            return fn(*args, **kwargs)
        if compiled is None:
            compiled = torch.compile(fn, dynamic=True)
        try:
            return compiled(*args, **kwargs)
        except _compiler_errors() as error:  # a compiler missing or failing: eager from now on
            _state["failed"] = True
            log.warning("compiling the pair kernels failed (%s); running them eagerly",
                        str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
            return fn(*args, **kwargs)

    return run
