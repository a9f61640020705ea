"""Retrieval for the serving tier: a query's module within its namespace, or none when out of range.

The reference method forces every query onto its nearest cluster. Here a query whose best cosine
similarity to any module's query centroid is below ``min_similarity`` gets no module, with the
reason, so an unrelated request is answered by the plain model instead of someone else's rules.
"""

from __future__ import annotations

from typing import NamedTuple

from processors.embedders import Embedder
from processors.store import ModuleStore
from uno_models import ExperienceModule


class Retrieval(NamedTuple):
    """The answer to a retrieval: the module (or None), its similarity, the reason, the candidates."""

    module: ExperienceModule | None
    similarity: float | None
    reason: str  # "hit", "out_of_range" or "no_modules"
    candidates: list[tuple[ExperienceModule, float]]  # the k nearest, in range or not, best first


class Retriever:
    """A query's module within its namespace, or none when the query is out of range.

    >>> from processors.embedders.hashing import HashingEmbedder
    >>> embedder = HashingEmbedder(64)
    >>> store = ModuleStore(embedder.id, embedder.dim)
    >>> Retriever(embedder, store).retrieve("legal", "Is a verbal contract binding?").reason
    'no_modules'
    """

    def __init__(self, embedder: Embedder, store: ModuleStore, min_similarity: float = 0.6):
        if embedder.id != store.embedder_id:
            raise ValueError(f"embedder {embedder.id!r} does not match the store's {store.embedder_id!r}")
        self.embedder = embedder
        self.store = store
        self.min_similarity = min_similarity

    def retrieve(self, namespace: str, query: str, k: int = 1) -> Retrieval:
        vector = self.embedder.embed([query])[0]
        candidates = self.store.search(namespace, vector, k=max(1, k))
        if not candidates:
            return Retrieval(None, None, "no_modules", [])
        module, similarity = candidates[0]
        if similarity < self.min_similarity:
            return Retrieval(None, similarity, "out_of_range", candidates)
        return Retrieval(module, similarity, "hit", [c for c in candidates if c[1] >= self.min_similarity])
