"""glibc's allocator told to give freed buffers back (`bound_malloc`), called once at a worker's start."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def bound_malloc(threshold: int = 128 * 1024) -> bool:
    """glibc only: allocations of ``threshold`` bytes or more get mappings of their own, unmapped when
    freed, and free memory at the heap's top above ``threshold`` is given back.

    These are glibc's defaults, but it raises both thresholds (up to 32 MiB) each time such a block is
    freed, so the consumer's fetch buffers (responses of up to a megabyte, freed as records are
    handled) are soon carved out of the heap, and a heap only shrinks from its top: RSS keeps the
    high-water mark of whatever was ever buffered. Measured with a worker (RocksDB store, 40k events,
    two pairs of runs): mean RSS from 30k to 40k events 458-472 MiB against 556-559 by default, peaks
    80-110 MiB lower, ingest at most ~4% slower (docs/benchmarks.md, "Worker memory"). Operators'
    ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` win. False where nothing was set (another
    libc, or those variables)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # no libc by that name, or one without mallopt (macOS)
        return False
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1 and mallopt(M_TRIM_THRESHOLD, threshold) == 1
