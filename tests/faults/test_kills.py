"""``kill -9`` of a real worker at random moments of ingest and refresh: every event ends in the state
once, and the published modules equal those of a run without kills.

The stream goes in chunks; after each chunk the worker is SIGKILLed at a random moment (while it embeds
and applies the chunk, or while the refresh the chunk triggered runs) and restarted with the same
static member id. Then the state and the served modules are compared with an uncut run's. CI kills 2
times; ``make faults`` (marked slow) 20 times. Every changelog cut point of a shorter stream is
checked in pure logic by tests/streams/test_state.py.
"""

from __future__ import annotations

import random
import signal
import time
import uuid

import pytest

from streams.kafka import read_all
from tests.streams.sample import interactions
from tests.streams.test_worker import logs_in_clusters, records

pytestmark = [pytest.mark.infra, pytest.mark.faults]

SETTINGS = {"llm": None, "ward_scale": 0.25, "refresh_min_logs": 3}


def served(w) -> dict:
    """What serving sees: each module's kind and rules (versions differ: a re-run refresh is refused by
    the store and republished under the next version)."""
    modules = w.get("/v1/modules?namespace=legal")["modules"]
    return {m["cluster_id"]: (m["kind"], sorted(r["text"] for r in m["rules"])) for m in modules}


def settled(w, n: int):
    w.wait_for(lambda: logs_in_clusters(w, "legal") == n, 240, f"all {n} logs")

    def lag() -> float:
        return sum(w.metric("uno_consumer_lag", topic=w.topic(role)) for role in ("interactions", "refresh"))

    w.wait_for(lambda: lag() == 0, 120, "the stream and the refresh requests consumed")
    w.wait_for(lambda: w.metric("uno_refreshes_running") == 0, 60, "refreshes done")


@pytest.mark.parametrize(
    ("kills", "store", "wait_s"),
    [
        pytest.param(2, "memory", (0.0, 2.0), id="2"),
        pytest.param(20, "memory", (0.0, 2.0), id="20", marks=[pytest.mark.slow, pytest.mark.timeout(1200)]),
        # Kills 1-4 s after each chunk (more of them land mid-batch and mid-recovery): records Faust
        # fetched and dropped around a recovery were left unconsumed until the consumer fixes of
        # streams/worker/transport.py (docs/streaming.md, "Flow and guarantees", 6).
        pytest.param(10, "memory", (1.0, 4.0), id="10-late", marks=[pytest.mark.slow, pytest.mark.timeout(1200)]),
        # Tables on disk, wiped after each kill and recovered from the changelog (UNO_STORE=rocksdb).
        pytest.param(20, "rocksdb", (0.0, 2.0), id="20-rocksdb", marks=[pytest.mark.slow, pytest.mark.timeout(1200)]),
    ],
)
def test_kill_9_at_random_moments_loses_nothing_and_publishes_what_an_uncut_run_does(
    worker_factory, kills, store, wait_s
):
    events = interactions("legal", n_legal=4 * kills, n_cooking=2 * kills)
    chunks = [events[i::kills] for i in range(kills)]  # each chunk has both topics
    events = [e for chunk in chunks for e in chunk]  # the order both runs see (clustering is online)
    tag = uuid.uuid4().hex[:8]  # a group of its own: noida-db never rebalances a group a member left
    baseline = worker_factory("base", app_id=f"base-{tag}", prefix=f"base{tag}.", **SETTINGS).start()
    baseline.produce("interactions", records(events))
    settled(baseline, len(events))
    time.sleep(12)  # the lag gauge and last refreshes: one more tick
    settled(baseline, len(events))
    expected = {c["cluster_id"]: c["logs"] for c in baseline.get("/v1/clusters?namespace=legal")["clusters"]}
    expected_modules = served(baseline)
    baseline.stop()

    rng = random.Random(kills)
    w = worker_factory("killed", store=store, **SETTINGS).start()
    started = time.monotonic()
    for chunk in chunks:
        w.produce("interactions", records(chunk))
        time.sleep(rng.uniform(*wait_s))  # while it embeds, applies, or refreshes
        w.stop(signal.SIGKILL)
        w.start()
    settled(w, len(events))
    w.wait_for(lambda: served(w) == expected_modules, 120, "the modules of the uncut run")
    recovered_s = time.monotonic() - started
    got = {c["cluster_id"]: c["logs"] for c in w.get("/v1/clusters?namespace=legal")["clusters"]}
    assert sum(got.values()) == len(events)  # nothing lost, nothing twice
    assert got == expected, (got, expected)  # and the same clusters as the uncut run
    assert read_all(w.broker, w.topic("dlq")) == []
    print(
        f"kill -9 x{kills} ({store}): {len(events)} events, 0 lost, 0 double-counted, "
        f"all done {recovered_s:.0f}s after start"
    )
