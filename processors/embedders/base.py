"""What every embedder provides: an id and a dimension stored with every centroid, and batched embedding."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dim)``.

    ``id`` names the vector space (model and dimension). It is stored with every centroid and
    module; vectors of different ids are never compared.
    """

    id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class EmbedderUnavailableError(RuntimeError):
    """The embedder failed (its process died, its endpoint is down): a dependency's failure, not the
    input's fault. Raised by `Guarded`, so that a caller can retry it and dead-letter the rest."""


class Guarded:
    """``embedder`` with whatever its backend raises (an `EmbedderProcessError`, the `openai` client's
    errors, an OS error) turned into `EmbedderUnavailableError`. The refresher retries that and
    dead-letters anything else (a bug, a poison request); ingest treats every embedder failure as a
    dependency's already (`processors.ingest.DependencyError`)."""

    def __init__(self, embedder: Embedder):
        self.inner = embedder
        self.id, self.dim = embedder.id, embedder.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            return self.inner.embed(texts)
        except Exception as err:
            raise EmbedderUnavailableError(f"embedder {self.id}: {type(err).__name__}: {err}"[:500]) from err


class Remembering:
    """``embedder`` with the vectors of the last ``size`` texts it embedded kept (all of them when ``size`` is
    None): a refresh embeds the statements of every theme it touches again, and feedback repeats itself.
    Safe to call from several threads (refreshes run concurrently); only the texts not kept are embedded,
    each once per call."""

    def __init__(self, embedder: Embedder, size: int | None = 4_096):
        self.inner, self.size = embedder, size
        self.id, self.dim = embedder.id, embedder.dim
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            found = {t: v for t in dict.fromkeys(texts) if (v := self._kept.get(t)) is not None}
            for t in found:
                self._kept.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:  # outside the lock: another thread's texts need not wait for these
            found.update(zip(missing, self.inner.embed(missing), strict=True))
            with self._lock:
                self._kept.update((t, found[t]) for t in missing)
                while self.size is not None and len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return np.stack([found[t] for t in texts])
