"""Tables on disk (``UNO_STORE=rocksdb``, experimental): kept across a clean stop, discarded and
recovered from the changelog after a kill (the local copy may have run ahead of it), nothing lost or
counted twice. Marked ``slow`` (``make faults``) while the option is experimental: CI time goes to
the default store."""

from __future__ import annotations

import signal

import pytest

from streams.kafka import read_all
from streams.worker.run import CLEAN_STOP
from tests.streams.sample import interactions
from tests.streams.test_worker import logs_in_clusters, records

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
