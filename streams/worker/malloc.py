"""glibc's allocator told to give freed memory back: freed buffers (`bound_malloc`, called once at a worker's
start) and the free pages inside its heap (`keep_trimming`, every few seconds)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading
import time

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
TRIM_EVERY_S = 5.0

log = logging.getLogger(__name__)


@functools.cache
def _libc_function(name: str):
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # no libc by that name, or one without it (macOS)
        return None


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
    if (mallopt := _libc_function("mallopt")) is None:
        return False
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1 and mallopt(M_TRIM_THRESHOLD, threshold) == 1


def trim_malloc() -> bool:
    """glibc only: give the free pages *inside* the heap back to the system (``malloc_trim(0)``), not only
    those at its top. Freed records (a fetched value of a few KiB, decoded, handled, freed) leave holes
    between the few that live on; the heap keeps them resident. False where there is no ``malloc_trim``."""
    if (trim := _libc_function("malloc_trim")) is None:
        return False
    trim(0)  # its result says whether anything was given back: either is fine
    return True


def keep_trimming(every_s: float = TRIM_EVERY_S) -> bool:
    """`trim_malloc` every ``every_s`` seconds in a daemon thread, for as long as the process runs: one trim
    took 7 ms at the median and 29 ms at most in a worker at ~300 events/s, with the GIL released (a
    ctypes call). Measured (RocksDB store, 30k events, two runs against three): mean RSS from 20k to 30k
    events 394-395 MiB against 421-442 without (docs/benchmarks.md, "Worker memory"). False where there is no
    ``malloc_trim``."""
    if _libc_function("malloc_trim") is None:
        return False

    def loop() -> None:
        while True:
            time.sleep(every_s)
            try:
                trim_malloc()
            except Exception:  # never expected; memory stays as it is, the worker goes on
                log.exception("malloc_trim failed; no longer trimming")
                return

    threading.Thread(target=loop, name="uno-malloc-trim", daemon=True).start()
    return True
