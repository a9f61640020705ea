"""A feature-hashing embedder: word and character-trigram counts hashed into ``dim`` buckets.

Nearly free (no model), deterministic, and lexical rather than semantic: it measures the framework's
own overhead in benchmarks ("null embedder") and serves tests that need a cheap, real function. The
trigrams of a text are hashed in numpy, from its code points (a 64-bit multiply-xorshift mix), not
one ``crc32`` call per trigram: ~70 us for a 1,500-character text instead of ~340 us, and the hashing
no longer holds the interpreter's lock for the time the event loop needs it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from processors.embedders.base import normalise

# Odd 64-bit constants (splitmix64's and murmur3's): position weights of a trigram's code points, and
# the finaliser's multiplier. Arithmetic wraps modulo 2**64, as numpy's unsigned integers do.
_WEIGHTS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT, _HIGH = np.uint64(33), np.uint64(32)


def _trigram_hashes(text: str) -> np.ndarray:
    """A 32-bit hash of each run of three characters of ``text``."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    if len(points) < 3:
        return np.zeros(0, dtype=np.uint32)
    x = points[:-2] * _WEIGHTS[0] + points[1:-1] * _WEIGHTS[1] + points[2:] * _WEIGHTS[2]
    x ^= x >> _SHIFT
    x *= _MIX
    x ^= x >> _SHIFT
    return (x >> _HIGH).astype(np.uint32)


class HashingEmbedder:
    """Word and character-trigram counts hashed into ``dim`` signed buckets, L2-normalised.

    >>> e = HashingEmbedder(64)
    >>> v = e.embed(["Cite the article.", "Cite the article!", "Bake bread."])
    >>> v.shape, bool(v[0] @ v[1] > v[0] @ v[2])
    ((3, 64), True)
    """

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.id = f"hashing-mix64-{dim}"  # the hash is part of the vector space

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            words = (zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in lowered.split())
            h = np.concatenate([np.fromiter(words, dtype=np.uint32), _trigram_hashes(lowered)])
            out[row] = np.bincount(h % self.dim, weights=np.where(h >> 31, 1.0, -1.0), minlength=self.dim)
        return normalise(out)
