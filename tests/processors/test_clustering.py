from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import base

from processors.clustering import OnlineClusterer, query_digest, route_threshold
from uno_models import ClustererState, encode
from uno_models.clusters import MAX_RECENT_QUERIES


def topic_stream(n: int, topics: int = 3, dim: int = 24, noise: float = 0.35, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    labels = rng.integers(0, topics, size=n)
    vecs = centres[labels] + noise * rng.normal(size=(n, dim))
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True), labels


def test_is_a_river_clusterer_and_accepts_river_dicts():
    clusterer = OnlineClusterer()
    assert isinstance(clusterer, base.Clusterer)
    vecs, _ = topic_stream(10)
    for v in vecs:
        clusterer.learn_one(dict(enumerate(v)))
    assert clusterer.predict_one(dict(enumerate(vecs[0]))) in clusterer.active_ids


def test_separates_well_separated_topics_with_stable_resolvable_ids():
    vecs, labels = topic_stream(300)
    clusterer = OnlineClusterer(ward_scale=0.3)
    arrival = [clusterer.learn_vector(v).cluster_id for v in vecs]
    final = np.array([clusterer.resolve(c) for c in arrival])
    assert len(clusterer.active_ids) == 3
    for topic in range(3):  # every topic lands on exactly one surviving id
        assert len(set(final[labels == topic])) == 1
    assert set(final) == set(clusterer.active_ids)
    assert all(clusterer.resolve(old) != old for old in clusterer.aliases)  # an alias never points at itself


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80))
def test_replaying_the_same_events_gives_the_same_assignments(seed, n):
    vecs, _ = topic_stream(n, seed=seed)
    runs = []
    for _ in range(2):
        clusterer = OnlineClusterer(ward_scale=0.3)
        runs.append([clusterer.learn_vector(v, timestamp=float(i)) for i, v in enumerate(vecs)])
    assert runs[0] == runs[1]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 59))
def test_resuming_from_serialised_state_continues_exactly(seed, cut):
    vecs, _ = topic_stream(60, seed=seed)
    straight = OnlineClusterer(ward_scale=0.3)
    expected = [straight.learn_vector(v, timestamp=float(i)) for i, v in enumerate(vecs)]

    first = OnlineClusterer(ward_scale=0.3)
    got = [first.learn_vector(v, timestamp=float(i)) for i, v in enumerate(vecs[:cut])]
    state = msgspec.json.decode(encode(first.state()), type=ClustererState)  # through the wire format
    resumed = OnlineClusterer.from_state(state, ward_scale=0.3)
    got += [resumed.learn_vector(v, timestamp=float(i)) for i, v in enumerate(vecs[cut:], start=cut)]
    assert [g.cluster_id for g in got] == [e.cluster_id for e in expected]
    assert resumed.aliases == straight.aliases


def test_counts_follow_merges_and_never_lose_a_log():
    vecs, _ = topic_stream(200, topics=4)
    clusterer = OnlineClusterer(ward_scale=0.3)
    for i, v in enumerate(vecs):
        clusterer.learn_vector(v, timestamp=float(i), feedback=i % 2 == 0, satisfaction=1.0 if i % 4 == 0 else None)
    snaps = [clusterer.snapshot(c) for c in clusterer.active_ids]
    assert sum(s.logs for s in snaps) == 200
    assert sum(s.feedback_logs for s in snaps) == 100
    assert sum(s.satisfaction_sum for s in snaps) == pytest.approx(50.0)


def test_cap_per_namespace_merges_the_closest_pair():
    vecs, _ = topic_stream(100, topics=10, noise=0.05)
    clusterer = OnlineClusterer(ward_scale=0.01, join_floor=0.01, max_clusters=4)
    for v in vecs:
        clusterer.learn_vector(v)
        assert len(clusterer.active_ids) <= 4
    assert clusterer.next_id > 4 and len(clusterer.aliases) == clusterer.next_id - 4


def test_idle_clusters_retire_and_ids_are_never_reused():
    clusterer = OnlineClusterer(ward_scale=0.01, join_floor=0.01, idle_ttl_s=100)
    a, b = np.eye(8)[0], np.eye(8)[1]
    first = clusterer.learn_vector(a, timestamp=0).cluster_id
    second = clusterer.learn_vector(b, timestamp=150).cluster_id
    assert clusterer.retire_idle(now=200) == [first]
    assert clusterer.active_ids == [second]
    assert clusterer.learn_vector(a, timestamp=210).cluster_id not in (first, second)


def test_routing_uses_the_query_space_centroid():
    clusterer = OnlineClusterer(ward_scale=0.3)
    query = np.eye(6)[0]
    feedback = np.eye(6)[1]
    cid = clusterer.learn_vector(clusterer.features(query, feedback), query=query).cluster_id
    routed, similarity = clusterer.route(query)
    assert routed == cid and similarity == pytest.approx(1.0)
    assert clusterer.route(-query)[1] == pytest.approx(-1.0)


def test_a_query_asked_again_does_not_narrow_its_clusters_routing_radius():
    """A repeat already sits in the centre it joins: counted, it would raise the cluster's own route threshold
    until new queries of the topic read as out of range (`bench.rules --rounds 6`: held-out routing 92-94%)."""
    vecs, _ = topic_stream(40, topics=1, noise=0.6, seed=3)
    once, again = OnlineClusterer(ward_scale=0.5), OnlineClusterer(ward_scale=0.5)
    for v in vecs:
        once.learn_vector(v)
    for _ in range(4):
        for v in vecs:
            again.learn_vector(v)
    (cid,), (cid_again,) = once.active_ids, again.active_ids
    assert again.snapshot(cid_again).logs == 4 * once.snapshot(cid).logs
    assert again.snapshot(cid_again).sim_n == once.snapshot(cid).sim_n == len(vecs) - 1
    assert route_threshold(again.snapshot(cid_again)) == route_threshold(once.snapshot(cid))
    # and it stays so across a restart: the digests of the last distinct queries are part of the state
    resumed = OnlineClusterer.from_state(msgspec.json.decode(encode(again.state()), type=ClustererState))
    resumed.learn_vector(vecs[0])
    assert resumed.snapshot(cid_again).sim_n == len(vecs) - 1


def test_the_last_distinct_queries_are_remembered_up_to_a_cap_and_survive_a_merge():
    clusterer = OnlineClusterer(ward_scale=0.5)
    vecs, _ = topic_stream(MAX_RECENT_QUERIES + 10, topics=1, noise=0.6, seed=4)
    for v in vecs:
        clusterer.learn_vector(v)
    (cid,) = clusterer.active_ids
    assert len(clusterer.snapshot(cid).recent_queries) == MAX_RECENT_QUERIES
    apart = OnlineClusterer(ward_scale=0.01, max_clusters=2)
    x, y, z = np.eye(8)[:3]
    assert len({apart.learn_vector(v).cluster_id for v in (x, y)}) == 2
    merged = apart.learn_vector(z)  # a third cluster over the cap: the closest pair merges
    assert merged.merged
    assert {d for cid in apart.active_ids for d in apart.snapshot(cid).recent_queries} == {
        query_digest(v) for v in (x, y, z)
    }
