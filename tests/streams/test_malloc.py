"""`bound_malloc`: freed buffers of 128 KiB and more go back to the system, in a real process; `trim_malloc`
and `keep_trimming`: so do the free pages between smaller survivors.

glibc raises its mmap threshold the first time such a block is freed; after that, blocks of a
megabyte (a consumer's fetch responses) come from the heap, which shrinks only from its top, so a
few survivors keep all of it resident. The child below frees 270 of 300 one-megabyte blocks."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

CHILD = """
import sys, psutil
from streams.worker.malloc import bound_malloc
print(bound_malloc() if sys.argv[1] == "bounded" else "default")
rss = lambda: psutil.Process().memory_info().rss >> 20
first = bytearray(1 << 20); del first  # the first free of a large block
base = rss()
blocks = [bytearray(1 << 20) for _ in range(300)]
kept = blocks[::10]
del blocks
print(rss() - base)
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")


def _retained_mib(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    flag, retained = out.split()
    return flag, int(retained)


def test_freed_megabyte_buffers_return_to_the_system_with_bounded_malloc():
    flag, bounded = _retained_mib("bounded")
    assert flag == "True"
    assert bounded < 60  # the 30 blocks kept, not the 270 freed
    _, default = _retained_mib("default")
    assert default > 200  # what the worker did before: the heap keeps what was freed


def test_an_operators_malloc_variables_win(monkeypatch):
    from streams.worker.malloc import bound_malloc

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert bound_malloc() is False


TRIM_CHILD = """
import psutil
from streams.worker.malloc import bound_malloc, trim_malloc
bound_malloc()  # as the worker runs
rss = lambda: psutil.Process().memory_info().rss >> 20
base = rss()
blocks = [bytearray(4096) for _ in range(50_000)]  # ~200 MiB of fetched-record-sized values, from the heap
kept = blocks[::10]  # a few live on, between the freed
del blocks
before = rss() - base
print(trim_malloc(), before, rss() - base)
"""


def test_the_free_pages_inside_the_heap_return_to_the_system_when_trimmed():
    """Records of a few KiB come from the heap whatever the mmap threshold; freeing nine in ten leaves holes
    between the survivors that the heap keeps resident until `trim_malloc` gives their pages back."""
    out = subprocess.run([sys.executable, "-c", TRIM_CHILD], capture_output=True, text=True, check=True).stdout
    trimmed, before, after = out.split()
    assert trimmed == "True"
    assert int(before) > 150  # the freed nine tenths still resident
    assert int(after) < 60  # the survivors' pages (a tenth of 200 MiB, and the pages they share)


KEEP_TRIMMING_CHILD = TRIM_CHILD.replace(
    "print(trim_malloc(), before, rss() - base)",
    """import time
from streams.worker.malloc import keep_trimming
print(keep_trimming(every_s=0.1), before, end=" ")
for _ in range(100):  # until the thread has trimmed (at most 10 s)
    time.sleep(0.1)
    if rss() - base < before / 2:
        break
print(rss() - base)""",
)


def test_a_worker_keeps_trimming_in_a_thread_of_its_own():
    """`keep_trimming`, as a worker starts it: the same holes go back without anyone calling `trim_malloc`."""
    out = subprocess.run([sys.executable, "-c", KEEP_TRIMMING_CHILD], capture_output=True, text=True, check=True)
    started, before, after = out.stdout.split()
    assert started == "True"
    assert int(before) > 150
    assert int(after) < 60
