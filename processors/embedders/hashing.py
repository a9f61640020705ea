"""A feature-hashing embedder: word and character-trigram counts hashed into ``dim`` buckets.

Nearly free (no model), deterministic, and lexical rather than semantic: it measures the framework's
own overhead in benchmarks ("null embedder") and serves tests that need a cheap, real function.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from processors.embedders.base import normalise


class HashingEmbedder:
    """Word and character-trigram counts hashed into ``dim`` signed buckets, L2-normalised.

    >>> e = HashingEmbedder(64)
    >>> v = e.embed(["Cite the article.", "Cite the article!", "Bake bread."])
    >>> v.shape, bool(v[0] @ v[1] > v[0] @ v[2])
    ((3, 64), True)
    """

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.id = f"hashing-crc32-{dim}"  # the hash is part of the vector space

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            grams = lowered.split() + [lowered[i : i + 3] for i in range(max(0, len(lowered) - 2))]
            h = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint32, count=len(grams))
            out[row] = np.bincount(h % self.dim, weights=np.where(h >> 31, 1.0, -1.0), minlength=self.dim)
        return normalise(out)
