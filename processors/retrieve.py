"""Retrieval for the serving tier: a query's module within its namespace, or none when out of range.

The reference method forces every query onto its nearest cluster. Here each module carries its own
threshold, derived from how similar its cluster's members are to their centre (a tight cluster
asks more of a query than a broad one, `processors.clustering.route_threshold`); a young module
with too few members uses the global ``min_similarity``. A query that reaches no module's threshold
gets no module, with the reason, so an unrelated request is answered by the plain model instead of
someone else's rules.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from processors.embedders import Embedder
from processors.store import ModuleStore
from uno_models import ExperienceModule


class Retrieval(NamedTuple):
    """The answer to a retrieval: the module (or None), its similarity, the reason, the candidates."""

    module: ExperienceModule | None
    similarity: float | None
    reason: str  # "hit", "out_of_range", "no_modules" or "unavailable" (the embedder or store failed)
    candidates: list[tuple[ExperienceModule, float]]  # the k nearest, in range or not, best first


class Retriever:
    """A query's module within its namespace, or none when the query is out of range.

    >>> from processors.embedders.hashing import HashingEmbedder
    >>> embedder = HashingEmbedder(64)
    >>> store = ModuleStore(embedder.id, embedder.dim)
    >>> Retriever(embedder, store).retrieve("legal", "Is a verbal contract binding?").reason
    'no_modules'
    """

    def __init__(
        self, embedder: Embedder, store: ModuleStore, min_similarity: float = 0.6, scan: int = 4, cache: int = 4_096
    ):
        if embedder.id != store.embedder_id:
            raise ValueError(f"embedder {embedder.id!r} does not match the store's {store.embedder_id!r}")
        self.embedder = embedder
        self.store = store
        self.min_similarity = min_similarity
        self.scan = scan
        # Repeated queries (retries, the same question from many users) are embedded once.
        self.embed_query = functools.lru_cache(maxsize=cache)(lambda query: self.embedder.embed([query])[0])

    def retrieve(self, namespace: str, query: str, k: int = 1) -> Retrieval:
        """The best module whose own threshold (`ExperienceModule.route_threshold`, from its members'
        spread; ``min_similarity`` while it has too few) the query reaches, and up to ``k`` such."""
        vector = self.embed_query(query)
        candidates = self.store.search(namespace, vector, k=max(self.scan, k))
        if not candidates:
            return Retrieval(None, None, "no_modules", [])
        in_range = [(m, s) for m, s in candidates if s >= self.threshold(m)]
        if not in_range:
            return Retrieval(None, candidates[0][1], "out_of_range", candidates[: max(1, k)])
        module, similarity = in_range[0]
        return Retrieval(module, similarity, "hit", in_range[: max(1, k)])

    def threshold(self, module: ExperienceModule) -> float:
        return self.min_similarity if module.route_threshold is None else module.route_threshold
