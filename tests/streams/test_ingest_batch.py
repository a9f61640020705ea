"""Batched ingest: the same state as one record at a time, one embedding call per batch, and nothing lost
when the embedder or the broker fails or a record cannot be handled (pure logic over a dict; the
real worker's fault tests are in tests/faults)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time

import msgspec

from processors.embedders.hashing import HashingEmbedder
from streams.worker.ingest import IngestHandler, Record, Source
from streams.worker.metrics import Metrics
from tests.streams.sample import interactions
from tests.streams.test_state import SETTINGS, outcome
from uno_models import decode_interaction
from uno_models.stream import DeadLetter, RefreshRequest

EVENTS = interactions("legal", n_legal=8, n_cooking=6)


class FlakyEmbedder(HashingEmbedder):
    """Raises like an embeddings endpoint that answers 503, ``failures`` times, then works."""

    def __init__(self, failures: int = 0):
        super().__init__(64)
        self.failures = failures
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("503 Service Unavailable")
        return super().embed(texts)


def handler_for(embedder, sent: list, fail_sends: int = 0, table: dict | None = None) -> IngestHandler:
    failing = [fail_sends]

    async def send(role: str, key: str, value: bytes) -> None:
        if failing[0] > 0:
            failing[0] -= 1
            raise TimeoutError("broker did not acknowledge")
        sent.append((role, key, value))

    return IngestHandler(
        SETTINGS, embedder, {} if table is None else table, send, Metrics(), clock=lambda: 1.7e9, backoff=(0.001, 0.002)
    )


def records(events: list[dict], start: int = 0) -> list[Record]:
    return [
        Record("interactions", json.dumps(e).encode(), Source("in", 0, start + i, e["namespace"].encode()))
        for i, e in enumerate(events)
    ]


def refreshes(sent: list) -> list[str]:
    return [msgspec.msgpack.decode(v, type=RefreshRequest).batch_id for role, _, v in sent if role == "refresh"]


def request(sent_record: tuple) -> RefreshRequest | None:
    role, _, value = sent_record
    return msgspec.msgpack.decode(value, type=RefreshRequest) if role == "refresh" else None


def one_at_a_time() -> tuple[dict, list]:
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent)

    async def feed():
        for record in records(EVENTS):
            await handler.on_batch([record])

    asyncio.run(feed())
    return outcome(handler.core), sent


class TimedEmbedder(HashingEmbedder):
    """Notes when each call ran and on which thread; takes ``seconds`` per call."""

    def __init__(self, seconds: float):
        super().__init__(64)
        self.seconds = seconds
        self.calls: list[tuple[float, float, str]] = []

    def embed(self, texts):
        start = time.perf_counter()
        time.sleep(self.seconds)
        out = super().embed(texts)
        self.calls.append((start, time.perf_counter(), threading.current_thread().name))
        return out


def test_a_batch_gives_the_state_of_one_record_at_a_time_embedded_off_the_loop_in_chunks():
    expected, expected_sent = one_at_a_time()
    sent: list = []
    embedder = TimedEmbedder(0.0)
    handler = handler_for(embedder, sent)
    texts = {t for r in records(EVENTS) for t in handler.core.texts(decode_interaction(r.raw))}
    asyncio.run(handler.on_batch(records(EVENTS)))
    assert outcome(handler.core) == expected
    assert refreshes(sent) == refreshes(expected_sent) and refreshes(sent)
    assert len(embedder.calls) == math.ceil(
        len(texts) / SETTINGS.ingest_embed_chunk
    )  # each distinct text once, by chunks
    assert all(thread != threading.main_thread().name for _, _, thread in embedder.calls)  # never on the loop


def test_the_loop_applies_the_first_records_while_the_rest_of_the_batch_embeds():
    sent: list = []
    embedder = TimedEmbedder(0.05)
    handler = handler_for(embedder, sent)
    applied: list[float] = []
    interaction = handler.core.interaction

    def timed(*args):
        applied.append(time.perf_counter())
        return interaction(*args)

    handler.core.interaction = timed
    asyncio.run(handler.on_batch(records(EVENTS)))
    assert len(embedder.calls) >= 2 and len(applied) == len(EVENTS)
    last_call_started = max(start for start, _, _ in embedder.calls)
    assert applied[0] < last_call_started  # overlap: a record was applied before the last chunk embedded


def test_an_embedder_outage_blocks_the_batch_and_loses_nothing():
    expected, _ = one_at_a_time()
    sent: list = []
    embedder = FlakyEmbedder(failures=5)
    handler = handler_for(embedder, sent)
    asyncio.run(handler.on_batch(records(EVENTS)))
    assert outcome(handler.core) == expected  # all 14 records in the state, after the outage
    assert handler.metrics.ingest_retries.labels("embedder")._value.get() == 5
    assert handler.metrics.ingest_blocked.labels("embedder")._value.get() == 0  # no longer blocked
    assert not [s for s in sent if s[0] == "dlq"]


def test_an_embedder_failing_after_part_of_the_batch_was_applied_loses_and_double_counts_nothing():
    expected, expected_sent = one_at_a_time()
    sent: list = []
    embedder = FlakyEmbedder()
    embed = embedder.embed

    def second_call_fails(texts):  # the first chunk embeds and its records are applied, then the embedder fails
        if embedder.calls == 1:
            embedder.calls += 1
            time.sleep(0.3)  # the records of the first chunk are applied meanwhile
            raise ConnectionError("503 Service Unavailable")
        return embed(texts)

    embedder.embed = second_call_fails
    handler = handler_for(embedder, sent)
    asyncio.run(handler.on_batch(records(EVENTS)))
    assert outcome(handler.core) == expected
    assert sorted(refreshes(sent)) == sorted(refreshes(expected_sent))  # each request once
    assert handler.metrics.ingest_retries.labels("embedder")._value.get() == 1
    # the records applied before the failure were undone and applied again: counted once, as the state
    metrics = handler.metrics
    assert metrics.events.labels("interaction", "ok")._value.get() == len(EVENTS)
    assert sum(c._value.get() for c in metrics.refresh_requests._metrics.values()) == len(refreshes(expected_sent))


def test_an_embedder_answering_with_too_few_vectors_is_retried_not_waited_for_forever():
    expected, _ = one_at_a_time()
    sent: list = []
    embedder = FlakyEmbedder()
    embed = embedder.embed

    def short_once(texts):  # an embeddings endpoint that dropped an item once
        out = embed(texts)
        return out[:-1] if embedder.calls == 1 else out

    embedder.embed = short_once
    handler = handler_for(embedder, sent)
    asyncio.run(asyncio.wait_for(handler.on_batch(records(EVENTS)), 30))
    assert outcome(handler.core) == expected
    assert handler.metrics.ingest_retries.labels("embedder")._value.get() == 1


def test_a_broker_that_refuses_refresh_requests_is_retried_without_double_counting():
    expected, expected_sent = one_at_a_time()
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent, fail_sends=3)
    asyncio.run(handler.on_batch(records(EVENTS)))
    assert outcome(handler.core) == expected
    assert sorted(set(refreshes(sent))) == sorted(set(refreshes(expected_sent)))
    assert handler.metrics.ingest_retries.labels("broker")._value.get() == 3
    assert handler.metrics.events.labels("interaction", "ok")._value.get() == len(EVENTS)  # the retries counted once


def test_a_record_that_fails_is_dead_lettered_and_the_rest_of_its_batch_applied():
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent)
    poisoned = interactions("legal", prefix="p", n_legal=1)[0]
    batch = records([*EVENTS[:4], poisoned, *EVENTS[4:]])
    real = handler.core.interaction

    def interaction(event, source):
        if event.event_id == poisoned["event_id"]:
            real(event, source)  # its writes happen, then it fails: they must be undone
            raise ValueError("a bug met by this record only")
        real(event, source)

    handler.core.interaction = interaction
    asyncio.run(handler.on_batch(batch))
    letters = [msgspec.json.decode(v, type=DeadLetter) for role, _, v in sent if role == "dlq"]
    assert [(d.reason, d.offset) for d in letters] == [("processing_error", 4)]
    assert "ValueError: a bug met by this record only" in letters[0].error
    expected, _ = one_at_a_time()
    assert outcome(handler.core) == expected  # as if the poisoned record never came


def test_a_namespace_of_another_embedder_is_refused_into_the_dead_letter_topic():
    sent: list = []
    table: dict = {}
    asyncio.run(handler_for(HashingEmbedder(64), sent, table=table).on_batch(records(EVENTS[:2])))
    other = handler_for(HashingEmbedder(32), sent, table=table)
    asyncio.run(other.on_batch(records(EVENTS[2:3], start=2)))
    letters = [msgspec.json.decode(v, type=DeadLetter) for role, _, v in sent if role == "dlq"]
    assert [d.reason for d in letters] == ["embedder_mismatch"]
    assert "rebuild the namespace" in letters[0].error


def test_bad_records_in_a_batch_go_to_the_dead_letter_topic_with_the_reason():
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent)
    good = records(EVENTS[:2])
    bad = [
        Record("interactions", b"{not json", Source("in", 0, 10, b"legal")),
        Record("interactions", json.dumps(EVENTS[2]).encode(), Source("in", 0, 11, b"cooking")),
        Record("ticks", b"\xff\xfe", Source("ticks", 0, 12, b"legal")),
    ]
    asyncio.run(handler.on_batch([good[0], *bad, good[1]]))
    letters = [msgspec.json.decode(v, type=DeadLetter) for role, _, v in sent if role == "dlq"]
    assert [(d.offset, d.reason) for d in letters] == [(10, "malformed"), (11, "key_mismatch"), (12, "malformed")]
    assert len(list(handler.core.logs.items_with_prefix("legal/"))) == 2


def test_user_ids_are_stored_as_pseudonyms_and_orphan_feedback_is_never_stored_raw():
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent)
    event = dict(EVENTS[0], event_id="late-1", user_id="jane@example.com")
    orphan = {
        "event_id": "late-1",
        "namespace": "legal",
        "kind": "text",
        "text": "Call me on +1 (415) 555-0100, and cite the article.",
        "user_id": "jane@example.com",
    }
    feedback = Record("feedback", json.dumps(orphan).encode(), Source("fb", 0, 0, b"legal"))
    asyncio.run(handler.on_batch([feedback]))  # the feedback first: it waits as an orphan
    raw_state = b"".join(v for v in handler.core.state.table.values() if isinstance(v, bytes))
    assert b"jane@example.com" not in raw_state and b"555-0100" not in raw_state
    asyncio.run(handler.on_batch(records([event])))
    stored = handler.core.logs.get("legal/late-1").log
    pseudonym = handler.core.pseudonym("legal", "jane@example.com")
    assert stored.user_id == pseudonym and pseudonym.startswith("p-")
    assert [fb.user_id for fb in stored.feedback][-1] == pseudonym  # the joined orphan, pseudonymised once
    assert "[PHONE]" in stored.feedback[-1].text
    raw_state = b"".join(v for v in handler.core.state.table.values() if isinstance(v, bytes))
    assert b"jane@example.com" not in raw_state


def test_feedback_waiting_as_an_orphan_is_embedded_with_its_batch_not_on_the_loop():
    embedder = FlakyEmbedder()
    handler = handler_for(embedder, [])
    orphan = {"event_id": "late-2", "namespace": "legal", "kind": "text", "text": "Cite the article number."}
    asyncio.run(handler.on_batch([Record("feedback", json.dumps(orphan).encode(), Source("fb", 0, 0, b"legal"))]))
    event = dict(EVENTS[0], event_id="late-2", feedback=[])
    asyncio.run(handler.on_batch(records([event])))
    assert handler.core.logs.get("legal/late-2").cluster_id >= 0  # clustered with the joined feedback
    assert embedder.calls == 1  # one batched call (in a thread); no second call for the orphan's text


def test_late_feedback_on_a_refreshed_log_sends_only_the_new_feedback_marked_late():
    """A log already refreshed comes back with late feedback: the refresh gets the new feedback only, so
    nothing in it (support, a correction's pair, the user's log count, the gap) is counted twice, however
    many other logs came in between (the themes' de-duplication window is finite)."""
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent)
    asyncio.run(handler.on_batch(records(EVENTS)))
    first = [r for r in map(request, sent) if r and r.logs]
    refreshed = [log.event_id for log in first[0].logs]
    assert len(refreshed) >= 3 and not any(log.late for r in first for log in r.logs)
    late = [
        {"event_id": e, "namespace": "legal", "kind": "text", "text": "Shorter, please.", "feedback_id": f"f{i}"}
        for i, e in enumerate(refreshed)
    ]
    feedback = [Record("feedback", json.dumps(f).encode(), Source("fb", 0, i, b"legal")) for i, f in enumerate(late)]
    sent.clear()
    asyncio.run(handler.on_batch(feedback))
    again = [r for r in map(request, sent) if r and r.logs]
    logs = [log for r in again for log in r.logs]
    back = [log for log in logs if log.event_id in refreshed]
    assert back and all(log.late and [f.text for f in log.feedback] == ["Shorter, please."] for log in back)
    assert not any(log.late for log in logs if log.event_id not in refreshed)  # pending, never refreshed: whole


def test_nothing_ingest_produces_passes_a_brokers_record_limit():
    """Found by the fuzzer: a 900 kB record's dead letter (base64 in JSON) passed the broker's 1 MB limit,
    the broker refused it, and the partition waited for ever. Letters keep the head of such a record,
    and a refresh request of long logs is cut in several."""
    sent: list = []

    async def send(role: str, key: str, value: bytes) -> None:
        sent.append((role, key, value))

    one_cluster = msgspec.structs.replace(SETTINGS, ward_scale=100.0, refresh_min_logs=8)
    handler = IngestHandler(one_cluster, HashingEmbedder(64), {}, send, Metrics(), clock=lambda: 1.7e9)
    huge = {"event_id": "big", "namespace": "legal", "timestamp": 1, "query": "q" * 900_000}
    long_feedback = [{"kind": "text", "text": f"{i} " + "Cite the article. " * 110} for i in range(60)]
    wordy = [dict(e, feedback=long_feedback) for e in interactions("legal", prefix="w", n_legal=8)]
    asyncio.run(handler.on_batch(records([huge, *wordy])))
    (letter,) = [msgspec.json.decode(v, type=DeadLetter) for role, _, v in sent if role == "dlq"]
    assert letter.reason == "too_large" and letter.truncated and letter.original_size > len(letter.original)
    requests = [v for role, _, v in sent if role == "refresh"]
    assert len(requests) > 1 and max(len(v) for _, _, v in sent) < 1_000_000
    assert sum(len(msgspec.msgpack.decode(v, type=RefreshRequest).logs) for v in requests) == 8


def test_feedback_for_an_unknown_event_is_bounded_per_event():
    sent: list = []
    handler = handler_for(HashingEmbedder(64), sent)
    flood = [
        {"event_id": "ghost", "namespace": "legal", "kind": "thumbs", "value": 1, "feedback_id": f"f{i}"}
        for i in range(100)
    ]
    asyncio.run(
        handler.on_batch(
            [Record("feedback", json.dumps(f).encode(), Source("fb", 0, i, b"legal")) for i, f in enumerate(flood)]
        )
    )
    with handler.core.txn("legal"):
        assert len(handler.core.orphans.get("legal/ghost").feedback) == 64
    assert handler.metrics.events.labels("feedback", "orphan_full")._value.get() == 36
