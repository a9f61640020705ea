"""Serialisable state of one online cluster, as the streaming app stores it in tables."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from uno_models.limits import MAX_VECTOR, Count, Name, Namespace, Timestamp

Vector = Annotated[list[float], Meta(max_length=MAX_VECTOR)]
MAX_RECENT_QUERIES = 64


class ClusterSnapshot(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A cluster's centroids and counters. Ids are stable: a merge records an alias, never renumbers.

    ``centroid`` is the (unnormalised) mean of the feature vectors the clusterer assigns on (query
    plus weighted feedback text); ``query_centroid`` the mean of the query embeddings, which is what
    serving routes on. ``weight`` is the (possibly down-scaled) count the means are taken over, so
    ``centroid * weight`` restores the running sum exactly.
    """

    namespace: Namespace
    cluster_id: Count
    embedder_id: Name
    centroid: Vector
    query_centroid: Vector
    weight: float = 0.0  # (down-scaled) number of logs behind the means
    logs: Count = 0  # logs ever assigned
    feedback_logs: Count = 0
    satisfaction_sum: float = 0.0
    created_at: Timestamp = 0.0
    last_seen: Timestamp = 0.0
    # Members' cosine to the query centre they joined (count, sum, sum of squares): the cluster's spread,
    # from which its own routing threshold is derived.
    sim_n: float = 0.0
    sim_sum: float = 0.0
    sim_sq: float = 0.0
    # 8-byte digests of the last distinct query embeddings that joined: a query asked again (or a templated
    # prompt whose embedded head is the same) sits in the centre already and says nothing of the spread
    recent_queries: Annotated[list[int], Meta(max_length=MAX_RECENT_QUERIES)] = []


class ClustererState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Everything an online clusterer of one namespace needs to resume exactly where it stopped."""

    namespace: Namespace
    embedder_id: Name
    next_id: Count = 0
    seen: float = 0.0  # total (down-scaled) weight: sets the merge threshold
    clusters: list[ClusterSnapshot] = []
    aliases: dict[int, int] = {}  # merged id -> the id it was merged into
