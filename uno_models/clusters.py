"""Serialisable state of one online cluster, as the streaming app stores it in tables."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from uno_models.limits import MAX_VECTOR, Count, Name, Namespace, Timestamp

Vector = Annotated[list[float], Meta(max_length=MAX_VECTOR)]


class ClusterStatus(enum.Enum):
    ACTIVE = "active"
    MERGED = "merged"  # folded into `merged_into`; its id stays routable through the alias
    RETIRED = "retired"  # idle longer than the TTL


class ClusterSnapshot(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A cluster's centroid and counters. Ids are stable: a merge records an alias, never renumbers.

    ``centroid`` is in the feature space the clusterer assigns in (query + feedback features);
    ``query_centroid`` is in query-embedding space, which is what serving routes on.
    """

    namespace: Namespace
    cluster_id: Count
    embedder_id: Name
    centroid: Vector
    query_centroid: Vector
    count: float = 0.0  # (decayed) number of logs
    logs: Count = 0  # logs ever assigned
    feedback_logs: Count = 0
    satisfaction_sum: float = 0.0
    created_at: Timestamp = 0.0
    last_seen: Timestamp = 0.0
    status: ClusterStatus = ClusterStatus.ACTIVE
    merged_into: Count | None = None
