"""`bound_malloc`: freed buffers of 128 KiB and more go back to the system, in a real process.

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
