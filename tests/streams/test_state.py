"""A hard kill at any point of the changelog loses nothing and counts nothing twice (pure logic).

The worker's real kill/restart test (test_worker.py) can only kill at a few moments; here the ingest
side runs over a plain dict whose changes are recorded as the changelog would receive them, and
every prefix of that changelog is "recovered" and the stream processed again from its start (the
worst case: no offset was committed). The end state must equal the run without a kill.
"""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

from processors.embedders.hashing import HashingEmbedder
from processors.ingest import Ingest
from processors.state import State
from streams.worker.ingest import IngestHandler, Source
from streams.worker.metrics import Metrics
from tests.streams.sample import interactions
from uno_models import Settings
from uno_models.stream import RefreshRequest

SETTINGS = Settings(ward_scale=0.4, refresh_min_logs=3, reservoir_size=16)


class Changelog(dict):
    """A dict that records every change in order, as Faust sends them to the changelog topic."""

    def __init__(self, log: list):
        super().__init__()
        self.log = log

    def __setitem__(self, k, v):
        self.log.append(("set", k, v))
        super().__setitem__(k, v)

    def __delitem__(self, k):
        self.log.append(("del", k, None))
        super().__delitem__(k)


def recovered(log: list) -> Changelog:
    table = Changelog([])
    for op, k, v in log:
        if op == "set":
            dict.__setitem__(table, k, v)
        elif op == "del":
            dict.pop(table, k, None)
    return table


def run(table: Changelog, events: list[dict], log: list) -> Ingest:
    async def send(role: str, key: str, value: bytes) -> None:
        log.append(("send", role, value))  # acknowledged before the handler's later table writes

    handler = IngestHandler(SETTINGS, HashingEmbedder(64), table, send, Metrics(), clock=lambda: 1.7e9)

    async def feed() -> None:
        for offset, e in enumerate(events):
            await handler.on_interaction(json.dumps(e).encode(), Source("in", 0, offset, e["namespace"].encode()))

    asyncio.run(feed())
    return handler.core


def outcome(ingest: Ingest) -> dict:
    """What must survive a kill: clusters, their counts, every log's cluster, pending work."""
    meta = ingest.namespaces.get("legal")
    return {
        "meta": msgspec.to_builtins(meta),
        "clusters": {c: (s.logs, s.feedback_logs) for c, s in ingest.clusters.items_with_prefix("legal/")},
        "logs": {k: s.cluster_id for k, s in ingest.logs.items_with_prefix("legal/")},
        "work": {k: w.pending for k, w in ingest.work.items_with_prefix("legal/")},
    }


def batches(log: list) -> set[str]:
    return {msgspec.msgpack.decode(v, type=RefreshRequest).batch_id for op, role, v in log if op == "send"}


EVENTS = interactions("legal", n_legal=8, n_cooking=6)


def test_every_kill_point_recovers_the_uncut_result():
    full_log: list = []
    expected = outcome(run(Changelog(full_log), EVENTS, full_log))
    assert len(expected["clusters"]) > 1 and batches(full_log)
    replayed = 0
    for cut in range(len(full_log) + 1):
        survived = full_log[:cut]
        log = list(survived)
        ingest = run(recovered(survived), EVENTS, log)
        assert outcome(ingest) == expected, f"killed after changelog record {cut}"
        assert batches(full_log) <= batches(log), f"a refresh request lost when killed after record {cut}"
        replayed += ingest.state.replayed
    assert replayed > 0  # some cuts fell inside a record's writes and were completed from its journal


def test_writes_are_buffered_until_the_transaction_ends():
    log: list = []
    state = State(Changelog(log))
    with pytest.raises(RuntimeError):
        state["k"] = b"outside"
    with state.txn("ns"):
        state["ns/a"] = b"1"
        state["ns/b"] = b"2"
        del state["ns/b"]
        assert state["ns/a"] == b"1" and "ns/b" not in state and log == []
    assert [(op, k) for op, k, _ in log] == [("set", "journal:ns"), ("set", "ns/a")]
    with pytest.raises(ValueError), state.txn("ns"):
        state["ns/a"] = b"lost"
        raise ValueError("a failing handler")
    assert state["ns/a"] == b"1"  # its writes are dropped
