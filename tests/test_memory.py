"""The allocator settings of pinnff.memory: a large block freed and allocated again keeps its pages."""

import subprocess
import sys

import pytest

BLOCK = 100 * 2**20  # bytes: above glibc's largest default mmap threshold (32 MiB), below pinnff's (256 MiB)
PAGES = BLOCK // 4096

PROBE = f"""
import ctypes, resource, sys
from pinnff.memory import keep_freed_memory
took = keep_freed_memory() if sys.argv[1] == "keep" else None
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc({BLOCK})
    ctypes.memset(block, 1, {BLOCK})  # touch every page
    libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(took, sum(faults[1:]))
"""


def repeated_faults(mode: str) -> tuple[str, int]:
    """Whether the settings took, and the minor page faults of the last three of four allocations."""
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True).stdout.split()
    return out[0], int(out[1])


def test_keep_freed_memory_reuses_a_freed_block_instead_of_faulting_it_in_again():
    took, kept = repeated_faults("keep")
    if took != "True":
        pytest.skip("not glibc: mallopt is absent or ignored")
    _, default = repeated_faults("default")
    assert default > 0.9 * 3 * PAGES  # glibc's defaults: a fresh mmap, every page faulted in again
    assert kept < 0.05 * PAGES  # kept: the heap block is reused
