"""The streaming app end to end: real broker, real LLM server, real Qdrant local mode, a real worker process."""

from __future__ import annotations

import json
import signal
import time

import msgspec
import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.streams.conftest import read_topic
from tests.streams.sample import interactions
from uno_models import ModulePublished, decode
from uno_models.stream import DeadLetter

pytestmark = pytest.mark.infra


def records(events: list[dict]) -> list[tuple[bytes, bytes]]:
    return [(e["namespace"].encode(), json.dumps(e).encode()) for e in events]


def published(worker, namespace: str | None = None) -> list[ModulePublished]:
    out = [decode(v, ModulePublished) for _, v in read_topic(worker.broker, worker.topic("modules"))]
    return [r for r in out if namespace is None or r.module.namespace == namespace]


def rewind(worker, roles: list[str]) -> None:
    """Move the stopped worker's committed offsets back to 0. The group still lists the worker as a
    static member (its partitions wait for it), so the broker refuses an admin offset change with
    UNKNOWN_MEMBER_ID; a consumer joining under the same static id takes its place and commits."""
    topics = [worker.topic(r) for r in roles]
    consumer = Consumer(
        {
            "bootstrap.servers": worker.broker,
            "group.id": worker.app_id,
            "group.instance.id": worker.env["UNO_WORKER_ID"],
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    assigned: list[TopicPartition] = []
    consumer.subscribe(topics, on_assign=lambda _c, partitions: assigned.extend(partitions))
    deadline = time.monotonic() + 30
    while not assigned and time.monotonic() < deadline:
        consumer.poll(0.5)
    assert assigned, "the rewinding consumer was not assigned the worker's partitions"
    done = consumer.commit(offsets=[TopicPartition(tp.topic, tp.partition, 0) for tp in assigned], asynchronous=False)
    consumer.close()
    assert all(tp.error is None for tp in done), done


def logs_in_clusters(worker, namespace: str) -> int:
    return sum(c["logs"] for c in worker.get(f"/v1/clusters?namespace={namespace}")["clusters"])


def test_events_in_module_out_in_qdrant_and_on_the_modules_topic(worker_factory):
    w = worker_factory().start()
    w.produce("interactions", records(interactions("legal", n_legal=8)))
    w.wait_for(lambda: w.metric("uno_refreshes_total", outcome="published") >= 1, 240, "a published module")
    modules = w.get("/v1/modules?namespace=legal")["modules"]
    assert modules and modules[0]["namespace"] == "legal" and modules[0]["version"] >= 1
    on_topic = published(w, "legal")
    assert on_topic and on_topic[-1].module.cluster_id == modules[0]["cluster_id"]
    assert len(on_topic[-1].centroid) == 512  # the topic alone can rebuild the store
    assert w.metric("uno_events_total", kind="interaction", result="ok") == 8
    assert logs_in_clusters(w, "legal") == 8
    # the prior is asked by a refresh that finds no other request of the cluster waiting (a first
    # refresh with one behind it leaves its LLM steps to that one)
    w.wait_for(lambda: w.metric("uno_llm_requests_total", purpose="prior") >= 1, 120, "the prior")
    observed = w.metric("uno_event_to_module_seconds_count")  # the freshness histogram has an entry
    assert observed >= 1


def test_bad_records_go_to_the_dlq_with_reasons_and_the_partition_keeps_flowing(worker_factory):
    w = worker_factory().start()
    good = interactions("legal", n_legal=2, feedback=False)
    oversized = {**good[0], "event_id": "big", "response": "x" * 300_000}
    bad = [
        (b"legal", b"{not json"),
        (
            b"legal",
            json.dumps(
                {**good[0], "event_id": "e-rating", "feedback": [{"kind": "rating", "value": 9, "scale": 5}]}
            ).encode(),
        ),
        (b"legal", json.dumps(oversized).encode()),
        (b"other", json.dumps({**good[0], "event_id": "e-wrong-key"}).encode()),
    ]
    w.produce("interactions", bad + records(good))
    w.produce("feedback", [(b"legal", b'{"event_id": "x", "kind": "smile"}')])
    w.wait_for(
        lambda: w.metric("uno_events_total", kind="interaction", result="no_signal") == 2,
        60,
        "the good events after the bad ones",
    )
    w.wait_for(lambda: w.metric("uno_dlq_total") == 5, 30, "five dead letters")
    letters = [msgspec.json.decode(v, type=DeadLetter) for _, v in read_topic(w.broker, w.topic("dlq"))]
    by_reason = {letter.reason: letter for letter in letters}
    assert set(by_reason) == {"malformed", "invalid", "too_large", "key_mismatch"}
    assert by_reason["malformed"].original == b"{not json"  # the original bytes, replayable
    assert by_reason["too_large"].path == "$.response"
    assert [le.path for le in letters if le.reason == "invalid"] == ["$.feedback[0]", "$.kind"]
    assert all(le.topic.startswith(w.prefix) and le.offset >= 0 for le in letters)
    assert w.metric("uno_dlq_total", reason="invalid") == 2
    assert w.metric("uno_events_total", result="invalid") == 5


def test_late_feedback_joins_and_orphans_expire_counted(worker_factory):
    w = worker_factory(feedback_ttl_s=3, quiet_tick_interval_s=1).start()  # TTL purges on a short clock too
    silent = interactions("legal", n_legal=4, feedback=False)
    w.produce("interactions", records(silent))
    w.wait_for(lambda: w.metric("uno_events_total", result="no_signal") == 4, 60, "four logs without feedback")
    assert logs_in_clusters(w, "legal") == 0
    late = [
        {
            "event_id": e["event_id"],
            "namespace": "legal",
            "kind": "text",
            "text": "Cite the article.",
            "feedback_id": f"f-{e['event_id']}",
        }
        for e in silent
    ]
    orphan = {"event_id": "never-seen", "namespace": "legal", "kind": "thumbs", "value": -1}
    w.produce("feedback", [(b"legal", json.dumps(f).encode()) for f in [*late, late[0], orphan]])
    w.wait_for(lambda: w.metric("uno_events_total", kind="feedback", result="joined") == 4, 60, "joined feedback")
    # the redelivered feedback is counted as a duplicate (it may still be in flight when the joins are)
    w.wait_for(lambda: w.metric("uno_events_total", kind="feedback", result="duplicate") == 1, 30, "the duplicate")
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 4, 30, "the late-feedback logs clustered")
    w.wait_for(lambda: w.metric("uno_feedback_expired_total") == 1, 60, "the orphan expired and counted")


def test_namespaces_never_touch_each_other(worker_factory):
    w = worker_factory().start()
    w.produce("interactions", records(interactions("team-b", prefix="b", n_legal=4)))
    w.wait_for(lambda: w.metric("uno_refreshes_total") >= 1, 240, "team-b's refresh")
    before = w.get("/v1/modules?namespace=team-b")["modules"]
    b_records = published(w, "team-b")
    w.produce("interactions", records(interactions("team-a", prefix="a", n_legal=8)))
    w.wait_for(lambda: w.metric("uno_refreshes_total") >= 3, 360, "team-a's refreshes")
    assert w.get("/v1/modules?namespace=team-b")["modules"] == before
    assert published(w, "team-b") == b_records
    assert logs_in_clusters(w, "team-b") == 4 and logs_in_clusters(w, "team-a") == 8
    for m in w.get("/v1/modules?namespace=team-a")["modules"]:  # served: counts, no user ids at all
        assert m["rules"] and all("user_support" not in r and r["users"] >= 1 for r in m["rules"])
    behind = w.client.evidence("team-a")
    # users as pseudonyms of this namespace only: never the raw ids the events carried (u0..u3)
    assert behind and all(u.startswith("p-") for r in behind for u in r["user_support"])
    assert not {"u0", "u1", "u2", "u3"} & {u for r in behind for u in r["user_support"]}


def test_sigkill_mid_stream_then_restart_loses_nothing_and_counts_nothing_twice(worker_factory):
    events = interactions("legal", n_legal=8, n_cooking=8)
    # A finer clustering than the other tests' (one cluster per namespace), so ids have something to prove.
    baseline = worker_factory("base", app_id="base-app", prefix="base.", ward_scale=0.25).start()
    baseline.produce("interactions", records(events))
    baseline.wait_for(lambda: logs_in_clusters(baseline, "legal") == 16, 120, "baseline ingest")
    expected = {c["cluster_id"]: c["logs"] for c in baseline.get("/v1/clusters?namespace=legal")["clusters"]}
    assert len(expected) > 1
    baseline.stop()

    w = worker_factory("killed", ward_scale=0.25).start()
    w.produce("interactions", records(events))
    # Killed mid-stream, inside the commit interval: changelog writes and offsets are cut wherever
    # they are (every cut point is covered in pure logic by test_state.py).
    w.wait_for(lambda: logs_in_clusters(w, "legal") >= 4, 120, "the first events")
    w.stop(signal.SIGKILL)
    w.start()  # same static member id: it takes its partitions back and recovers the tables
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 16, 90, "all 16 logs after the restart")
    got = {c["cluster_id"]: c["logs"] for c in w.get("/v1/clusters?namespace=legal")["clusters"]}
    assert got == expected  # same cluster ids, same counts: nothing lost, nothing twice
    w.wait_for(lambda: w.metric("uno_refreshes_total") >= 1, 240, "a refresh after the restart")
    versions = [r.module.version for r in published(w, "legal") if r.module.cluster_id == 0]
    assert versions == sorted(set(versions))  # no version published twice


def after_first_refresh(worker_factory):
    """A worker that has refreshed one cluster of four events, with its clusters and modules then."""
    w = worker_factory().start()
    w.produce("interactions", records(interactions("legal", n_legal=4)))
    w.wait_for(lambda: w.metric("uno_refreshes_total") >= 1, 240, "the first refresh")
    return w, w.get("/v1/clusters?namespace=legal")["clusters"], w.get("/v1/modules?namespace=legal")["modules"]


def test_replaying_the_same_offsets_changes_nothing(worker_factory):
    w, clusters, modules = after_first_refresh(worker_factory)
    w.produce("interactions", records(interactions("legal", n_legal=4)))  # the same events again
    w.wait_for(lambda: w.metric("uno_events_total", result="duplicate") == 4, 60, "duplicates recognised")
    assert w.get("/v1/clusters?namespace=legal")["clusters"] == clusters
    assert w.get("/v1/modules?namespace=legal")["modules"] == modules
    assert w.metric("uno_refresh_requests_total") == 1


def test_rewinding_the_group_to_replay_the_same_offsets_changes_nothing(worker_factory):
    w, clusters, modules = after_first_refresh(worker_factory)
    w.stop()
    rewind(w, ["interactions", "refresh"])
    w.start()
    # Each of the 4 read again and recognised (the stall guard may read a partition a third time, when
    # Faust dropped its first record: one run in ~6 on a loaded machine lost it for good before)
    w.wait_for(lambda: w.metric("uno_events_total", result="duplicate") >= 4, 90, "the rewound offsets re-read")
    assert w.metric("uno_events_total", kind="interaction", result="ok") == 0
    w.wait_for(lambda: w.metric("uno_refreshes_total", outcome="replayed") >= 1, 60, "the refresh replay skipped")
    assert w.get("/v1/clusters?namespace=legal")["clusters"] == clusters
    assert w.get("/v1/modules?namespace=legal")["modules"] == modules


def latest_modules(worker) -> dict[str, tuple]:
    latest: dict[str, ModulePublished] = {}
    for record in published(worker):
        k = f"{record.module.namespace}/{record.module.cluster_id}"
        if k not in latest or record.module.version > latest[k].module.version:
            latest[k] = record
    return {k: (r.module.version, r.module.kind.value, [x.text for x in r.module.rules]) for k, r in latest.items()}


@pytest.mark.timeout(900)
def test_two_workers_then_one_moves_to_another_machine_publish_what_one_worker_publishes(worker_factory):
    events = interactions("legal", n_legal=8) + interactions("kitchen", prefix="k", n_legal=0, n_cooking=8)
    first_half, second_half = events[:4] + events[8:12], events[4:8] + events[12:]
    # Both runs get the events in the same two batches, so their refreshes see the same logs.
    single = worker_factory("single", app_id="single-app", prefix="single.").start()
    single.produce("interactions", records(first_half))
    single.wait_for(lambda: single.metric("uno_refreshes_total") >= 2, 300, "the single worker's first refreshes")
    single.produce("interactions", records(second_half))
    single.wait_for(lambda: single.metric("uno_refreshes_total") >= 4, 300, "the single worker's 4 refreshes")
    expected = latest_modules(single)
    single.stop()

    first, second = worker_factory("w1").start(), worker_factory("w2").start()
    first.produce("interactions", records(first_half))
    first.wait_for(
        lambda: first.metric("uno_refreshes_total") + second.metric("uno_refreshes_total") >= 2,
        300,
        "the first refreshes, split over two workers",
    )
    second.stop()
    # The second worker's member id, on a new machine (empty data dir): it takes over the same
    # partitions and must continue from the changelog topics alone.
    moved = worker_factory("w2-elsewhere", worker_id=second.env["UNO_WORKER_ID"]).start()
    first.produce("interactions", records(second_half))
    first.wait_for(
        lambda: first.metric("uno_refreshes_total") + moved.metric("uno_refreshes_total") >= 2,
        120,
        "the remaining refreshes",
    )
    deadline = time.monotonic() + 120
    while latest_modules(first) != expected and time.monotonic() < deadline:
        time.sleep(1)
    assert latest_modules(first) == expected  # the same modules as one worker


def test_end_to_end_on_the_tansu_broker_too(worker_factory, tansu_broker):
    w = worker_factory("tansu", broker_url=tansu_broker).start()
    w.produce("interactions", records(interactions("legal", n_legal=4)))
    w.wait_for(lambda: w.metric("uno_refreshes_total", outcome="published") >= 1, 240, "a module via tansu")
    assert published(w, "legal")[-1].module.namespace == "legal"


def test_with_no_llm_a_real_worker_publishes_the_users_own_words(worker_factory):
    """The extractive path end to end: no LLM configured, default noise filter, rules from evidence."""
    w = worker_factory(
        llm=None,
        min_support=3,
        min_users=2,
        max_user_share=0.5,
        min_reliable_users=1.2,
        independent_quorum=5,
        refresh_min_logs=12,
    ).start()
    health = w.get("/healthz")
    assert health["rules"] == "extractive" and health["live"] and health["agents_crashed_s_ago"] == {}
    assert w.get("/readyz")["status"] == "ready"
    wanted = [
        "Please cite the specific statute article.",
        "Cite the article number of the law.",
        "请引用具体的法条。",
        "Which article of the law is this? Cite it.",
    ]
    events = []
    for i in range(12):  # each user: a thumbs on one answer, the same request (in their words) on two others
        user = f"u{i % 4}"
        feedback = [{"kind": "thumbs", "value": 1}] if i < 4 else [{"kind": "text", "text": wanted[i % 4]}]
        events.append(
            {
                "event_id": f"x{i}",
                "namespace": "legal",
                "timestamp": 1.7e9 + i,
                "user_id": user,
                "query": interactions("legal", n_legal=8)[i % 8]["query"],
                "response": "It depends.",
                "feedback": [dict(f, user_id=user) for f in feedback],
            }
        )
    events.append(
        {
            **events[0],
            "event_id": "lol",
            "user_id": "u9",
            "feedback": [{"kind": "text", "text": "lol", "user_id": "u9"}],
        }
    )
    w.produce("interactions", records(events))
    w.wait_for(lambda: w.metric("uno_refreshes_total", outcome="published") >= 1, 240, "a published module")
    (module,) = w.get("/v1/modules?namespace=legal")["modules"]
    (rule,) = module["rules"]
    assert rule["text"] in set(wanted) and module["kind"] == "primary"
    assert rule["support"] >= 4 and rule["users"] >= 3 and rule["evidence"]
    assert w.metric("uno_llm_requests_total") == 0
