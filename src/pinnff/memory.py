"""Keep freed memory inside the process (glibc's allocator), so that repeated evaluations reuse their pages.

A gradient or force evaluation allocates and frees the same few hundred tensors of 0.1 to 50 MB again
and again. With glibc's defaults, memory freed at the top of the heap goes back to the operating system
once more than the trim threshold is free, and large blocks come from fresh ``mmap`` calls, so each
evaluation faults its pages in anew; on this project's virtual machines a minor page fault is expensive.
Measured side by side (2026-12-03, one thread, CPU time per evaluation): a PINN training evaluation on
the 200 set-A dimers took 36,700 faults and 100 ms of system time (of 455 ms), the physics model's
10,300 faults and 22 ms (of 201 ms), and one rigid-body relaxation of a curated liquid box 1.45
million faults and 2.8 s (of 13.2 s); with the settings below, 800, 0 and 49,000 faults and 7 ms,
0.5 ms and 0.2 s of system time, with bit-identical results.

:func:`keep_freed_memory` is called once at the start of every ``pinnff`` command and benchmark. The
price is resident memory that is not handed back between evaluations (a process keeps its peak).
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter numbers (malloc.h)."""

SETTINGS = ((M_MMAP_THRESHOLD, 256 << 20), (M_TRIM_THRESHOLD, 1 << 30), (M_TOP_PAD, 256 << 20))
"""Blocks up to 256 MiB from the heap, not from ``mmap``; up to 1 GiB freed at the heap's top kept; the
heap grown 256 MiB at a time (bytes)."""


def keep_freed_memory() -> bool:
    """Apply :data:`SETTINGS` to the running process's C allocator. Returns whether every setting took
    (False off glibc, e.g. macOS or musl, where nothing changes)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all([mallopt(parameter, value) == 1 for parameter, value in SETTINGS])  # a list: every one is set
