"""Tables on disk (``UNO_STORE=rocksdb``, experimental): kept across a clean stop, discarded and
recovered from the changelog after a kill (the local copy may have run ahead of it), nothing lost or
counted twice. Marked ``slow`` (``make faults``) while the option is experimental: CI time goes to
the default store."""

from __future__ import annotations

import signal
import time

import pytest

from streams.kafka import read_all
from streams.worker.run import CLEAN_STOP
from tests.streams.sample import interactions
from tests.streams.test_worker import logs_in_clusters, records
from uno_models import Settings

pytestmark = [pytest.mark.infra, pytest.mark.faults, pytest.mark.slow]

DISCARDED = b"did not stop cleanly: local tables deleted"


def test_tables_on_disk_survive_a_clean_stop_and_a_kill_loses_nothing(worker_factory, tmp_path):
    w = worker_factory("disk", llm=None, store="rocksdb", refresh_min_logs=3, ward_scale=0.25).start()
    tables = tmp_path / "disk" / "faust" / "tables"
    first = interactions("legal", prefix="a", n_legal=6, n_cooking=3)
    w.produce("interactions", records(first))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 9, 120, "the first 9 events")
    assert any(tables.rglob("*.db")) or any(p.is_dir() for p in tables.iterdir())  # RocksDB files on disk

    w.stop()  # clean: flushed, marked
    assert (tables / CLEAN_STOP).exists()
    w.start()
    assert DISCARDED not in w.log_path.read_bytes()
    assert not (tables / CLEAN_STOP).exists()  # from now on, what is on disk may run ahead again
    assert logs_in_clusters(w, "legal") == 9

    second = interactions("legal", prefix="b", n_legal=6)
    w.produce("interactions", records(second))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 15, 120, "the next 6 events")
    w.stop(signal.SIGKILL)
    w.start()
    assert DISCARDED in w.log_path.read_bytes()
    w.produce("interactions", records(second[:2]))  # redelivered: recognised as duplicates
    third = interactions("legal", prefix="c", n_legal=3)
    w.produce("interactions", records(third))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 18, 120, "every event once, after the kill")
    w.wait_for(lambda: w.metric("uno_events_total", kind="interaction", result="duplicate") >= 2, 60, "duplicates")
    assert read_all(w.broker, w.topic("dlq")) == []
    w.wait_for(lambda: w.metric("uno_state_keys") > 0, 30, "RocksDB's estimate of the keys (every 10 s)")
    memtables, cache = (w.metric("uno_rocksdb_memory_bytes", part=part) for part in ("memtables", "cache"))
    assert 0 < memtables <= cache <= Settings().rocksdb_cache_mib * 1024 * 1024  # one budget for all tables


def test_a_full_disk_under_the_tables_blocks_ingest_and_refreshes_until_space_is_back_losing_nothing(
    worker_factory, small_disk, tmp_path
):
    """The tables' disk fills up mid-stream (a real 16 MiB tmpfs): RocksDB refuses every write ("No space
    left on device"). Before, the refresh agent raised on its knowledge write, crashed until its
    supervisor gave up and the worker exited (its requests acknowledged by Faust on the way). Now ingest
    and refreshes wait, visibly, and go on once space is back."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "faust").symlink_to(small_disk.path)  # the worker's tables, on the small disk
    w = worker_factory("full", llm=None, store="rocksdb", refresh_min_logs=3, ward_scale=0.25).start()
    first = interactions("legal", prefix="a", n_legal=6, n_cooking=3)
    w.produce("interactions", records(first))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 9, 120, "the first 9 events")

    small_disk.fill()  # refreshes of the first events may be running: their writes fail too
    second = interactions("legal", prefix="b", n_legal=6)
    w.produce("interactions", records(second))
    w.wait_for(lambda: w.get("/healthz")["ingest_waiting_for"] == ["state"], 60, "ingest waiting for the state")
    time.sleep(15)
    assert logs_in_clusters(w, "legal") == 9  # the second batch waits (its writes are retried, not skipped)
    small_disk.free()
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 15, 180, "the next 6 events, once space is back")
    w.wait_for(
        lambda: w.metric("uno_refreshes_running") == 0 and w.metric("uno_consumer_lag", topic=w.topic("refresh")) == 0,
        120,
        "refreshes done",
    )
    health = w.get("/healthz")
    assert health["agents_crashed_s_ago"] == {} and health["ingest_waiting_for"] == []
    assert read_all(w.broker, w.topic("dlq")) == []
    modules = w.get("/v1/modules?namespace=legal")["modules"]
    assert modules  # refreshes published after the outage
    print(f"tables disk full: {w.metric('uno_refresh_failures_total', reason='state'):.0f} refresh writes retried")
    w.stop()
    w.start()
    assert logs_in_clusters(w, "legal") == 15
