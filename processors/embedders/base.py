"""What every embedder provides: an id and a dimension stored with every centroid, and batched embedding."""

from __future__ import annotations

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
