"""Qdrant local mode: upsert and search, scoped by a tenant-indexed namespace field, persisted."""

from __future__ import annotations

import numpy as np
from qdrant_client import QdrantClient, models


def test_local_upsert_search_with_namespace_filter_persists(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection("m", vectors_config=models.VectorParams(size=16, distance=models.Distance.COSINE))
    # (a payload index is a no-op in local mode; the store creates it on a server only)
    client.upsert(
        "m",
        points=[
            models.PointStruct(id=i, vector=vectors[i].tolist(), payload={"namespace": "a" if i < 3 else "b"})
            for i in range(6)
        ],
    )
    only_b = models.Filter(must=[models.FieldCondition(key="namespace", match=models.MatchValue(value="b"))])
    hits = client.query_points("m", query=vectors[0].tolist(), query_filter=only_b, limit=6).points
    assert {h.id for h in hits} == {3, 4, 5}  # the nearest point (0) is in namespace a: never seen
    client.close()

    reopened = QdrantClient(path=str(tmp_path / "q"))
    assert reopened.count("m", count_filter=only_b).count == 3
    hit = reopened.query_points("m", query=vectors[0].tolist(), limit=1).points[0]
    assert hit.id == 0 and abs(hit.score - 1.0) < 1e-5
    reopened.close()
