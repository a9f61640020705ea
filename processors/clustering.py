"""Online query-and-feedback clustering with stable ids: incremental Ward with a growing threshold.

The idea in plain words. Every log becomes a point (its query embedding, plus its feedback-text
embedding with a smaller weight). A point joins the cluster whose centre it is most similar to
(cosine), unless joining would cost more than the current threshold, in Ward's sense: the
increase in within-cluster spread, ``sqrt(2 n_a n_b / (n_a + n_b)) * |m_a - m_b|``; then it opens a
new cluster. After each update, the updated cluster is merged with its Ward-nearest neighbour while
their Ward distance is under the threshold. Merges never renumber: the absorbed id becomes an alias
of the survivor (`OnlineClusterer.resolve`), so every id ever handed out stays valid.

Why the threshold grows. Ward distances between two real topics grow like the square root of how
many logs they hold, so a fixed threshold splits topics more and more finely as data arrives, and a
threshold tuned for the end merges topics early, irreversibly. The threshold here is
``ward_scale * sqrt(seen)`` (``seen``: logs so far): it keeps the same granularity at every volume,
is cautious (small) early when centres are noisy, and lets fragments of one topic merge as the
evidence accumulates. Past ``max_weight`` logs all weights are halved together, so the threshold
stops growing and new small topics can still form in a long-running stream.

Routing, as in the reference method, uses the cluster's centre in query-embedding space
(`OnlineClusterer.route`); clustering uses the combined features.

Parameters
----------
namespace, embedder_id
    Recorded in the state; the embedder id guards against mixing vector spaces.
ward_scale
    Threshold per square root of logs seen. 0.125 reproduces the batch reference's threshold
    (2.62) at the size of the replay benchmark set (443 logs).
join_floor
    Smallest Ward cost at which a point may still join a cluster, so the first logs of a stream
    are not all singletons.
feedback_weight
    Weight of the feedback-text embedding next to the query embedding (1.0).
max_clusters
    Cap per namespace; past it the two closest clusters are merged.
idle_ttl_s
    Clusters not seen for this long are retired by `retire_idle` (None: never).
max_weight
    Total weight past which all weights are halved (bounded threshold, adaptivity).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> topics = rng.normal(size=(2, 16))
>>> clusterer = OnlineClusterer(ward_scale=0.5, join_floor=0.8)
>>> ids = []
>>> for i in range(40):
...     v = topics[i % 2] + 0.3 * rng.normal(size=16)
...     ids.append(clusterer.learn_vector(v / np.linalg.norm(v)).cluster_id)
>>> len(clusterer.active_ids), len({clusterer.resolve(i) for i in ids})
(2, 2)
>>> restored = OnlineClusterer.from_state(clusterer.state())
>>> restored.predict_one(dict(enumerate(topics[0]))) == clusterer.predict_one(dict(enumerate(topics[0])))
True
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, NamedTuple

import numpy as np
from river import base

from uno_models import ClustererState, ClusterSnapshot
from uno_models.clusters import MAX_RECENT_QUERIES


class Assignment(NamedTuple):
    """Where one log went: its cluster, whether it opened it, which ids were merged away."""

    cluster_id: int  # the (surviving) cluster the log belongs to after this update
    opened: bool  # the log opened a new cluster
    merged: tuple[int, ...]  # ids absorbed by this update (into `cluster_id`, or by the cap)
    rescaled: bool = False  # every cluster's weight changed (past `max_weight`)


class OnlineClusterer(base.Clusterer):
    """Incremental Ward clustering with stable ids and River's `base.Clusterer` protocol; see the module
    docstring for the idea, the parameters and an example."""

    def __init__(
        self,
        namespace: str = "default",
        embedder_id: str = "unknown",
        ward_scale: float = 0.125,
        join_floor: float = 1.0,
        feedback_weight: float = 0.5,
        max_clusters: int = 256,
        idle_ttl_s: float | None = None,
        max_weight: float = 10_000.0,
    ):
        self.namespace = namespace
        self.embedder_id = embedder_id
        self.ward_scale = ward_scale
        self.join_floor = join_floor
        self.feedback_weight = feedback_weight
        self.max_clusters = max_clusters
        self.idle_ttl_s = idle_ttl_s
        self.max_weight = max_weight
        self.next_id = 0
        self.seen = 0.0
        self.aliases: dict[int, int] = {}
        # Active clusters, row i of each array belongs to ids[i].
        self._ids: list[int] = []
        self._sums: np.ndarray | None = None  # feature sums, (k, d)
        self._qsums: np.ndarray | None = None  # query-embedding sums, (k, d)
        self._weights = np.zeros(0)
        self._meta: dict[int, dict[str, float]] = {}

    # ------------------------------------------------------------------ River's protocol

    def learn_one(self, x: dict[Any, float] | np.ndarray) -> None:
        self.learn_vector(_as_vector(x))

    def predict_one(self, x: dict[Any, float] | np.ndarray) -> int:
        """The cluster whose feature centre is most similar to ``x`` (-1 when there is none)."""
        if not self._ids:
            return -1
        sims = _normalise_rows(self._sums) @ _unit(_as_vector(x))
        return self._ids[int(np.argmax(sims))]

    # ------------------------------------------------------------------ the UNO API

    @property
    def active_ids(self) -> list[int]:
        return list(self._ids)

    @property
    def threshold(self) -> float:
        return self.ward_scale * float(np.sqrt(max(self.seen, 1.0)))

    def features(self, query: np.ndarray, feedback: np.ndarray | None = None) -> np.ndarray:
        """Query embedding, plus the feedback-text embedding with `feedback_weight`, normalised."""
        if feedback is None:
            return _unit(query)
        return _unit(_unit(query) + self.feedback_weight * _unit(feedback))

    def learn_vector(
        self,
        features: np.ndarray,
        query: np.ndarray | None = None,
        timestamp: float | None = None,
        feedback: bool = False,
        satisfaction: float | None = None,
    ) -> Assignment:
        """Assign one log (its feature vector and query embedding) and update the clusters."""
        x = _unit(np.asarray(features, dtype=np.float64))
        q = x if query is None else _unit(np.asarray(query, dtype=np.float64))
        now = time.time() if timestamp is None else timestamp
        self.seen += 1.0
        row = self._nearest_joinable(x)
        opened = row is None
        if opened:
            row = self._open(x.shape[0], now)
        stats, digest = self._meta[self._ids[row]], query_digest(q)
        if digest not in stats["recent"]:  # a query asked again is in the centre already: not a sample of the spread
            if not opened:  # how similar members are to the centre they join: the cluster's own routing radius
                similarity = float(_unit(self._qsums[row]) @ q)
                stats["sim_n"] += 1.0
                stats["sim_sum"] += similarity
                stats["sim_sq"] += similarity * similarity
            stats["recent"] = [*stats["recent"], digest][-MAX_RECENT_QUERIES:]
        self._sums[row] += x
        self._qsums[row] += q
        self._weights[row] += 1.0
        meta = self._meta[self._ids[row]]
        meta["logs"] += 1
        meta["last_seen"] = max(meta["last_seen"], now)
        if feedback:
            meta["feedback_logs"] += 1
        if satisfaction is not None:
            meta["satisfaction_sum"] += satisfaction
        cluster_id, merged = self._merge_around(self._ids[row])
        if len(self._ids) > self.max_clusters:
            merged += self._merge_closest_pair()
            cluster_id = self.resolve(cluster_id)
        rescaled = self.seen > self.max_weight
        if rescaled:  # halve rather than clip: a full rewrite of the state every max_weight/2 logs, not every log
            self._scale_down(0.5)
        return Assignment(cluster_id, opened, tuple(merged), rescaled)

    def route(self, query: np.ndarray) -> tuple[int, float]:
        """The cluster whose query centre is most similar to ``query``, and that cosine similarity."""
        if not self._ids:
            return -1, 0.0
        sims = _normalise_rows(self._qsums) @ _unit(np.asarray(query, dtype=np.float64))
        best = int(np.argmax(sims))
        return self._ids[best], float(sims[best])

    def resolve(self, cluster_id: int) -> int:
        """The active id a (possibly merged) id now lives on."""
        return resolve_alias(self.aliases, cluster_id)

    def snapshot(self, cluster_id: int) -> ClusterSnapshot:
        row = self._ids.index(self.resolve(cluster_id))
        w = self._weights[row]
        meta = self._meta[self._ids[row]]
        return ClusterSnapshot(
            namespace=self.namespace,
            cluster_id=self._ids[row],
            embedder_id=self.embedder_id,
            centroid=(self._sums[row] / w).tolist(),
            query_centroid=(self._qsums[row] / w).tolist(),
            weight=float(w),
            logs=int(meta["logs"]),
            feedback_logs=int(meta["feedback_logs"]),
            satisfaction_sum=meta["satisfaction_sum"],
            created_at=meta["created_at"],
            last_seen=meta["last_seen"],
            sim_n=meta["sim_n"],
            sim_sum=meta["sim_sum"],
            sim_sq=meta["sim_sq"],
            recent_queries=list(meta["recent"]),
        )

    def retire_idle(self, now: float) -> list[int]:
        """Drop clusters idle longer than `idle_ttl_s`; their ids are never reused."""
        if self.idle_ttl_s is None:
            return []
        idle = [cid for cid in self._ids if now - self._meta[cid]["last_seen"] > self.idle_ttl_s]
        for cid in idle:
            self._remove(self._ids.index(cid))
        return idle

    # ------------------------------------------------------------------ state

    def state(self) -> ClustererState:
        return ClustererState(
            namespace=self.namespace,
            embedder_id=self.embedder_id,
            next_id=self.next_id,
            seen=self.seen,
            clusters=[self.snapshot(cid) for cid in self._ids],
            aliases=dict(self.aliases),
        )

    @classmethod
    def from_state(cls, state: ClustererState, **params: Any) -> OnlineClusterer:
        clusterer = cls(namespace=state.namespace, embedder_id=state.embedder_id, **params)
        clusterer.next_id = state.next_id
        clusterer.seen = state.seen
        clusterer.aliases = dict(state.aliases)
        if state.clusters:
            w = np.array([c.weight for c in state.clusters])
            clusterer._ids = [c.cluster_id for c in state.clusters]
            clusterer._sums = np.array([c.centroid for c in state.clusters]) * w[:, None]
            clusterer._qsums = np.array([c.query_centroid for c in state.clusters]) * w[:, None]
            clusterer._weights = w
            for c in state.clusters:
                clusterer._meta[c.cluster_id] = {
                    "logs": c.logs,
                    "feedback_logs": c.feedback_logs,
                    "satisfaction_sum": c.satisfaction_sum,
                    "created_at": c.created_at,
                    "last_seen": c.last_seen,
                    "sim_n": c.sim_n,
                    "sim_sum": c.sim_sum,
                    "sim_sq": c.sim_sq,
                    "recent": list(c.recent_queries),
                }
        return clusterer

    # ------------------------------------------------------------------ internals

    def _nearest_joinable(self, x: np.ndarray) -> int | None:
        if not self._ids:
            return None
        best = int(np.argmax(_normalise_rows(self._sums) @ x))
        n = self._weights[best]
        cost = _ward(self._sums[best] / n, n, x, 1.0)
        return best if cost <= max(self.threshold, self.join_floor) else None

    def _open(self, dim: int, now: float) -> int:
        cid = self.next_id
        self.next_id += 1
        if self._sums is None:
            self._sums, self._qsums = np.zeros((0, dim)), np.zeros((0, dim))
        self._ids.append(cid)
        self._sums = np.vstack([self._sums, np.zeros(dim)])
        self._qsums = np.vstack([self._qsums, np.zeros(dim)])
        self._weights = np.append(self._weights, 0.0)
        self._meta[cid] = {"logs": 0, "feedback_logs": 0, "satisfaction_sum": 0.0, "created_at": now, "last_seen": now}
        self._meta[cid].update(sim_n=0.0, sim_sum=0.0, sim_sq=0.0, recent=[])
        return len(self._ids) - 1

    def _merge_around(self, cid: int) -> tuple[int, list[int]]:
        merged: list[int] = []
        while len(self._ids) > 1:
            row = self._ids.index(cid)
            means = self._sums / self._weights[:, None]
            costs = _ward(means, self._weights, means[row], self._weights[row])
            costs[row] = np.inf
            other = int(np.argmin(costs))
            if costs[other] > self.threshold:
                break
            cid, absorbed = self._merge(row, other)
            merged.append(absorbed)
        return cid, merged

    def _merge_closest_pair(self) -> list[int]:
        means = self._sums / self._weights[:, None]
        best = (np.inf, 0, 0)
        for row in range(len(self._ids)):
            costs = _ward(means, self._weights, means[row], self._weights[row])
            costs[: row + 1] = np.inf
            other = int(np.argmin(costs))
            if costs[other] < best[0]:
                best = (costs[other], row, other)
        return [self._merge(best[1], best[2])[1]]

    def _merge(self, a: int, b: int) -> tuple[int, int]:
        """Fold the lighter of rows a, b into the heavier; return (survivor id, absorbed id)."""
        keep, drop = (a, b) if self._weights[a] >= self._weights[b] else (b, a)
        keep_id, drop_id = self._ids[keep], self._ids[drop]
        self._sums[keep] += self._sums[drop]
        self._qsums[keep] += self._qsums[drop]
        self._weights[keep] += self._weights[drop]
        km, dm = self._meta[keep_id], self._meta[drop_id]
        for key in ("logs", "feedback_logs", "satisfaction_sum", "sim_n", "sim_sum", "sim_sq"):
            km[key] += dm[key]
        km["created_at"] = min(km["created_at"], dm["created_at"])
        km["last_seen"] = max(km["last_seen"], dm["last_seen"])
        km["recent"] = list(dict.fromkeys(km["recent"] + dm["recent"]))[-MAX_RECENT_QUERIES:]
        self.aliases[drop_id] = keep_id
        self._remove(drop)
        return keep_id, drop_id

    def _remove(self, row: int) -> None:
        cid = self._ids.pop(row)
        self._sums = np.delete(self._sums, row, axis=0)
        self._qsums = np.delete(self._qsums, row, axis=0)
        self._weights = np.delete(self._weights, row)
        del self._meta[cid]

    def _scale_down(self, factor: float) -> None:
        self._sums *= factor
        self._qsums *= factor
        self._weights *= factor
        self.seen *= factor


def route_threshold(
    snapshot: ClusterSnapshot, z: float = 2.0, floor: float = 0.3, ceiling: float = 0.9, min_members: int = 5
) -> float | None:
    """The cosine a query needs to be routed to this cluster, from its own members: the mean of their
    similarity to the centre they joined, less ``z`` standard deviations, within [floor, ceiling].
    None while fewer than ``min_members`` joined (the global threshold applies).

    >>> from uno_models import ClusterSnapshot
    >>> tight = ClusterSnapshot(namespace="n", cluster_id=0, embedder_id="e", centroid=[1.0], query_centroid=[1.0],
    ...                         sim_n=10, sim_sum=8.0, sim_sq=6.5)
    >>> round(route_threshold(tight), 3), route_threshold(tight, min_members=20) is None
    (0.6, True)
    """
    if snapshot.sim_n < min_members:
        return None
    mean = snapshot.sim_sum / snapshot.sim_n
    std = max(0.0, snapshot.sim_sq / snapshot.sim_n - mean * mean) ** 0.5
    return round(min(ceiling, max(floor, mean - z * std)), 4)


def resolve_alias(aliases: dict[int, int], cluster_id: int) -> int:
    """Follow merge aliases (absorbed id -> survivor) to the id a cluster lives on now.

    >>> resolve_alias({1: 3, 3: 7}, 1), resolve_alias({1: 3}, 5)
    (7, 5)
    """
    while cluster_id in aliases and aliases[cluster_id] != cluster_id:
        cluster_id = aliases[cluster_id]
    return cluster_id


def _ward(means: np.ndarray, weights: np.ndarray | float, mean: np.ndarray, weight: float) -> np.ndarray:
    """Ward distance (as scikit-learn reports it) between clusters given by means and weights."""
    diff = np.atleast_2d(means) - mean
    w = np.asarray(weights, dtype=np.float64)
    out = np.sqrt(2.0 * w * weight / (w + weight) * np.einsum("ij,ij->i", diff, diff))
    return out if np.ndim(means) == 2 else out[0]


def query_digest(query: np.ndarray) -> int:
    """8 bytes of BLAKE2b over a unit query embedding in float32: the same text (or head) gives the same digest."""
    return int.from_bytes(hashlib.blake2b(np.asarray(query, np.float32).tobytes(), digest_size=8).digest(), "big")


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _normalise_rows(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(n > 0, n, 1.0)


def _as_vector(x: dict[Any, float] | np.ndarray) -> np.ndarray:
    if isinstance(x, dict):
        return np.array([x[k] for k in sorted(x)], dtype=np.float64)
    return np.asarray(x, dtype=np.float64)
