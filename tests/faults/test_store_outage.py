"""The module store's disk fills up mid-stream: ingest goes on, refreshes wait and retry, nothing is
dead-lettered, and once space is back the served modules are those of a run without the fault.

Qdrant local mode runs inside the worker, so it cannot be stopped apart from it; what can fail is its
storage. Here the store lives on a real 16 MiB filesystem (a tmpfs) that the test fills while the
worker refreshes: every write of Qdrant's SQLite files fails with "database or disk is full" (before
the fix, the refresher took that for a bug and dead-lettered the refresh). Serving keeps answering
from the in-memory index meanwhile.
"""

from __future__ import annotations

import time
import uuid

import pytest

from streams.kafka import read_all
from tests.faults.test_kills import SETTINGS, served, settled
from tests.streams.sample import interactions
from tests.streams.test_worker import logs_in_clusters, records

pytestmark = [pytest.mark.infra, pytest.mark.faults]


@pytest.mark.parametrize("outage_s", [pytest.param(10, id="10s"), pytest.param(60, id="60s", marks=pytest.mark.slow)])
def test_a_full_store_disk_mid_stream_loses_nothing_and_publishes_what_a_run_without_it_does(
    worker_factory, small_disk, tmp_path, outage_s
):
    events = interactions("legal", n_legal=16, n_cooking=8)
    first, second = events[::2], events[1::2]
    tag = uuid.uuid4().hex[:8]
    baseline = worker_factory("base", app_id=f"base-{tag}", prefix=f"base{tag}.", **SETTINGS).start()
    baseline.produce("interactions", records(first + second))
    settled(baseline, len(events))
    time.sleep(12)  # the lag gauge and the last refreshes: one more tick
    settled(baseline, len(events))
    expected = served(baseline)
    baseline.stop()

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "qdrant").symlink_to(small_disk.path)  # the worker's store, on the small disk
    w = worker_factory("full", **SETTINGS).start()
    w.produce("interactions", records(first))
    w.wait_for(lambda: w.metric("uno_modules_published_total") >= 1, 180, "modules before the fault")
    settled(w, len(first))

    small_disk.fill()
    w.produce("interactions", records(second))
    w.wait_for(
        lambda: w.metric("uno_refresh_failures_total", reason="store") >= 1, 120, "a refresh failing on the store"
    )
    w.wait_for(lambda: logs_in_clusters(w, "legal") == len(events), 120, "ingest going on meanwhile")
    # the module published before the fault is served from memory (a query of its cluster: published from 4
    # distinct questions asked twice, it still routes by the global threshold, a new question can miss it)
    assert w.client.retrieve(first[0]["query"], namespace="legal").reason == "hit"
    time.sleep(outage_s)
    failures = w.metric("uno_refresh_failures_total", reason="store")
    assert failures >= 2  # still retrying, not given up

    small_disk.free()
    freed = time.monotonic()
    w.wait_for(lambda: served(w) == expected, 180, "the modules of the run without the fault")
    recovered_s = time.monotonic() - freed
    settled(w, len(events))
    assert read_all(w.broker, w.topic("dlq")) == []  # no refresh dead-lettered: the store was at fault
    got = {c["cluster_id"]: c["logs"] for c in w.get("/v1/clusters?namespace=legal")["clusters"]}
    assert sum(got.values()) == len(events)  # nothing lost, nothing twice
    w.stop()
    w.start()  # what the store wrote after the fault is on disk
    assert served(w) == expected
    print(
        f"store disk full {outage_s}s: {len(events)} events, 0 lost, 0 double-counted, {failures:.0f} store "
        f"failures retried, modules as without the fault {recovered_s:.1f}s after space came back"
    )


def test_a_worker_whose_qdrant_server_is_down_starts_ingests_and_serves_without_modules(worker_factory):
    """A Qdrant server down when a worker (re)starts: the store is a dependency of refreshes and serving,
    not of ingest, so the worker starts, ingests every event, retries its refreshes (counted, nothing
    dead-lettered) and answers retrievals as ``unavailable``. (No Qdrant server runs here, so its return
    cannot be shown; the store's first use, where the collections are made, is retried like any call.)"""
    from streams.devstack.launcher import free_port

    events = interactions("legal", n_legal=8, n_cooking=4)
    w = worker_factory("noqdrant", qdrant_url=f"http://127.0.0.1:{free_port()}", **SETTINGS).start()
    w.produce("interactions", records(events))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == len(events), 120, "every event ingested")
    w.wait_for(lambda: w.metric("uno_refresh_failures_total", reason="store") >= 2, 120, "refreshes retrying")
    assert w.metric("uno_refreshes_running") >= 1  # waiting for the store, not given up
    assert w.client.retrieve("Can my landlord evict me without notice?", namespace="legal").reason == "unavailable"
    assert w.get("/healthz")["status"] == "ok"
    assert read_all(w.broker, w.topic("dlq")) == []
