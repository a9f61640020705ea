"""The ingest agent's handler: raw records from the three co-partitioned inputs -> `processors.ingest.Ingest`.

What is left here is what needs the stream: decoding a record's bytes (a bad one goes to the
dead-letter topic with the reason), checking that its key is its namespace (state is partitioned by
namespace), and sending the refresh requests the record produced, acknowledged by the broker,
before its state changes are written. The domain logic (de-duplication, the late-feedback join,
clustering, reservoirs, refresh triggers, TTLs) lives in `processors.ingest`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import msgspec
import numpy as np

from processors.embedders import Embedder
from processors.ingest import DependencyError, EmbedderMismatchError, Ingest
from streams.worker.metrics import Metrics
from uno_models import (
    ContractError,
    FeedbackEvent,
    Provenance,
    Settings,
    decode_feedback,
    decode_interaction,
    encode,
)
from uno_models.stream import MAX_LETTER_ORIGINAL, DeadLetter, Tick

log = logging.getLogger(__name__)

Send = Callable[[str, str, bytes], Awaitable[None]]  # (topic role, key, value)


class Source(NamedTuple):
    """Where a record was read: topic, partition, offset, and its key."""

    topic: str
    partition: int
    offset: int
    key: bytes | None

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.topic, self.partition, self.offset, self.offset)


class Record(NamedTuple):
    """One raw record of a batch: its input role (interactions, feedback, ticks), bytes and source;
    ``event`` is the stream's own handle on it (a Faust event), if any."""

    role: str
    raw: bytes
    source: Source
    event: object = None


class IngestHandler:
    """Feeds batches of raw records to `Ingest`: decoded, embedded off the event loop while the loop
    applies those already embedded (`Ahead`), in one state transaction per namespace (one write per
    touched key).

    ``table``: the ingest side's state (a Faust table in the worker); ``send`` must return once the
    broker has acknowledged the record (a refresh request is durable before the work it takes).

    Nothing is dropped. A record that cannot be decoded, is wrongly keyed, or fails in a way that is
    its own fault goes to the dead-letter topic with the reason. When a dependency fails (the
    embedder, the broker) the batch's uncommitted work is discarded and retried with backoff until it
    succeeds; the partition waits, `uno_ingest_blocked` says which dependency it waits for, and the
    records are acknowledged only after they are handled.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        table: MutableMapping,
        send: Send,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        backoff: tuple[float, float] = (0.5, 30.0),
        enter: Callable[[Record], None] = lambda record: None,
    ):
        self.send = send
        self.enter = enter  # called with a namespace's first record before its state is written
        self.metrics = metrics
        self.embedder = embedder
        # The embedder's own threads, one per call it can take at once (``parallel``: its child
        # processes): a batch's chunks wait in their queue, so the next one is embedded as soon as one
        # is done, whatever the event loop is busy with (`Ahead`).
        self.embed_threads = ThreadPoolExecutor(getattr(embedder, "parallel", 1), thread_name_prefix="uno-embed")
        self.backoff = backoff
        self.blocked: set[str] = set()  # the dependencies ingest is waiting for now (for /readyz)
        self.core = Ingest(settings, embedder, table, observer=metrics, clock=clock)

    async def on_interaction(self, raw: bytes, source: Source) -> None:
        await self.on_batch([Record("interactions", raw, source)])

    async def on_feedback(self, raw: bytes, source: Source) -> None:
        await self.on_batch([Record("feedback", raw, source)])

    async def on_batch(self, records: list[Record]) -> None:
        """Handle ``records`` (in order within each namespace); returns once every one is in the state
        or in the dead-letter topic, and the refresh requests they produced are acknowledged."""
        self.metrics.ingest_batch.observe(len(records))
        letters: list[tuple[str, bytes, str]] = []
        groups: dict[str, list[tuple[Record, object]]] = {}
        for record in records:
            event = self._decode(record, letters)
            if event is not None:
                groups.setdefault(event.namespace, []).append((record, event))
        await self._until_done("broker", self._send_letters, letters)
        events = [e for group in groups.values() for _, e in group if not isinstance(e, Tick)]
        ahead = Ahead(
            self.embedder, self.core.settings.ingest_embed_chunk, self.metrics.embed_batch, self.embed_threads
        )
        try:
            for event in events:
                ahead.add(event, self.core.texts(event))  # a full chunk is queued at once
            ahead.start()  # the embedder's failures surface in `ahead.ready`, inside the retried `_apply`
            self.core.preload(ahead.vectors)  # filled as the chunks are embedded
            for namespace, group in groups.items():
                await self._until_done("state", self._apply, namespace, group, ahead)
        finally:
            ahead.close()
            self.core.preload({})

    # ------------------------------------------------------------------ steps

    async def _apply(self, namespace: str, group: list[tuple[Record, object]], ahead: Ahead) -> None:
        letters: list[tuple[str, bytes, str]] = []
        self.enter(group[0][0])  # a namespace's records share a partition: its state is written there
        with self.core.txn(namespace):
            for record, event in group:
                try:
                    with self.core.savepoint(namespace):  # a failure undoes the record (and the cached clusterer)
                        await ahead.ready(event)  # its texts are embedded (later records' go on embedding)
                        self._handle(record, event)
                except DependencyError:
                    raise
                except Exception as err:  # the record's own fault (or a bug): kept in the DLQ, not lost
                    reason = "embedder_mismatch" if isinstance(err, EmbedderMismatchError) else "processing_error"
                    log.warning("ingest: %s at %s: %s", reason, record.source[:3], type(err).__name__)
                    error = ContractError("$", f"{type(err).__name__}: {err}")
                    letters.append(self._letter(record, error, reason))
            await self._send_letters(letters)  # before the transaction ends: durable before the offset moves
            for k, request in self.core.take_outbox():
                await self._deliver("refresh", k, msgspec.msgpack.encode(request))

    def _handle(self, record: Record, event) -> None:
        provenance = record.source.provenance
        if isinstance(event, Tick):
            self.core.tick(event.namespace)
        elif isinstance(event, FeedbackEvent):
            self.core.feedback(event, provenance, fallback_id=hashlib.sha1(record.raw).hexdigest()[:24])
        else:
            self.core.interaction(event, provenance)

    async def _until_done(self, dependency: str, step, *args) -> None:
        """Run ``step`` until it succeeds: a failing dependency blocks this partition, visibly, and
        loses nothing (the step's uncommitted changes are discarded before each retry)."""
        delay, cap = self.backoff
        failed: str | None = None
        while True:
            try:
                await step(*args)
                break
            except Exception as err:  # per-record faults are dead-lettered inside the step: this is not one
                failed = err.dependency if isinstance(err, DependencyError) else dependency
                self.core.outbox.clear()
                self.metrics.ingest_retries.labels(failed).inc()
                self.metrics.ingest_blocked.labels(failed).set(1)
                self.blocked.add(failed)
                log.warning("ingest: waiting for the %s (%s), retrying in %.1fs", failed, repr(err)[:300], delay)
            await asyncio.sleep(delay)
            delay = min(cap, delay * 2)
        if failed is not None:
            self.metrics.ingest_blocked.labels(failed).set(0)
            self.blocked.discard(failed)
            log.info("ingest: the %s is back, %s step done", failed, dependency)

    async def _send_letters(self, letters: list[tuple[str, bytes, str]]) -> None:
        """All at once (the producer batches them); each removed once acknowledged, so a retry sends
        only the rest."""
        results = await asyncio.gather(*(self._deliver("dlq", k, v) for k, v, _ in letters), return_exceptions=True)
        failed = [(letter, r) for letter, r in zip(letters, results, strict=True) if isinstance(r, BaseException)]
        for (_, _, reason), r in zip(letters, results, strict=True):
            if not isinstance(r, BaseException):
                self.metrics.dlq.labels(reason).inc()
        letters[:] = [letter for letter, _ in failed]
        if failed:
            raise failed[0][1]

    async def _deliver(self, role: str, k: str, value: bytes) -> None:
        try:
            await self.send(role, k, value)
        except Exception as err:  # a send the broker did not acknowledge: retried, not skipped
            raise DependencyError("broker", err) from err

    # ------------------------------------------------------------------ decoding

    def _decode(self, record: Record, letters: list):
        """The decoded record, or None (a dead letter queued) if it is invalid or wrongly keyed."""
        decoder, kind = DECODERS[record.role]
        try:
            event = decoder(record.raw)
        except ContractError as err:
            letters.append(self._letter(record, err))
            self.metrics.events.labels(kind, "invalid").inc()
            return None
        if isinstance(event, Tick):
            return event
        # State is partitioned by namespace: an event keyed otherwise would split a namespace's state.
        key = record.source.key
        if key is None or key.decode(errors="replace") != event.namespace:
            err = ContractError(
                "$.namespace", f"the record key must be the namespace ({event.namespace!r}), got {key!r}"
            )
            letters.append(self._letter(record, err, "key_mismatch"))
            self.metrics.events.labels(kind, "invalid").inc()
            return None
        return event

    def _letter(self, record: Record, err: ContractError, reason: str | None = None) -> tuple[str, bytes, str]:
        source = record.source
        reason = reason or dlq_reason(err)
        key = source.key.decode(errors="replace") if source.key else ""
        original = self.core.pseudonym.scrub(record.raw, key)
        whole = len(original) <= MAX_LETTER_ORIGINAL
        letter = DeadLetter(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            key=source.key,
            original=original if whole else original[:MAX_LETTER_ORIGINAL],
            reason=reason,
            path=err.path[:256],
            error=err.reason[:4_000],
            failed_at=self.core.clock(),
            original_size=None if whole else len(original),
            original_sha256=None if whole else hashlib.sha256(original).hexdigest(),
        )
        return (key, encode(letter), reason)


class Ahead:
    """A batch's texts, embedded in order off the event loop, ``chunk`` at a time, so that the
    loop applies the first records while the later ones are embedded (one call for the whole batch
    would leave the loop idle while it embeds, then the embedder idle while the loop applies).

    A chunk is queued on ``threads`` as soon as ``add`` has filled it, while the loop still prepares
    the rest of the batch (redacting a batch's texts takes ~15 ms), and the embedder goes from one
    chunk to the next without waiting for the loop to take the last result (several at once when it
    has several threads: its child processes).

    ``ready(event)`` waits until the texts of ``event`` are embedded; if the embedder failed it
    raises `DependencyError` once, and the next ``ready`` embeds what is missing again (the caller
    retries with backoff)."""

    def __init__(
        self, embedder: Embedder, chunk: int, timed: Callable[[int, float], None], threads: ThreadPoolExecutor
    ):
        self.vectors: dict[str, np.ndarray] = {}
        self._embedder, self._chunk, self._timed, self._threads = embedder, chunk, timed, threads
        self._texts: dict[str, None] = {}  # every text of the batch, in order
        self._needs: dict[int, list[str]] = {}  # id(event) -> its texts
        self._pending: list[str] = []  # added, not yet queued
        self._queued: list[tuple[list[str], asyncio.Future]] = []  # this attempt's chunks, in order
        self._stop = threading.Event()  # set at a failure: this attempt's later chunks skip the embedder
        self._task: asyncio.Task | None = None
        self._failed: BaseException | None = None
        self._progress = asyncio.Condition()

    def add(self, event: object, texts: list[str]) -> None:
        self._needs[id(event)] = texts
        for text in texts:
            if text not in self._texts:
                self._texts[text] = None
                self._pending.append(text)
        while len(self._pending) >= self._chunk:
            self._queue(self._pending[: self._chunk])
            del self._pending[: self._chunk]

    def start(self) -> None:
        """Queue the rest, and take the results as they come (on the loop)."""
        if self._failed is not None:  # a retry: a new attempt for what is missing
            self._failed, self._stop, self._queued = None, threading.Event(), []
            self._pending = [t for t in self._texts if t not in self.vectors]
        for i in range(0, len(self._pending), self._chunk):
            self._queue(self._pending[i : i + self._chunk])
        self._pending = []
        if self._queued:
            self._task = asyncio.create_task(self._collect(self._queued, self._stop))

    async def ready(self, event: object) -> None:
        texts = self._needs.get(id(event), [])
        if self._failed is not None:  # the retry after a failure
            self.start()
        async with self._progress:
            await self._progress.wait_for(lambda: self._failed is not None or all(t in self.vectors for t in texts))
        if self._failed is not None:
            raise DependencyError("embedder", self._failed) from self._failed

    def close(self) -> None:
        self._stop.set()
        for _, result in self._queued:
            result.cancel()
        if self._task is not None:
            self._task.cancel()

    def _queue(self, chunk: list[str]) -> None:
        result = asyncio.get_running_loop().run_in_executor(self._threads, self._embed, chunk, self._stop)
        self._queued.append((chunk, result))

    async def _collect(self, queued: list[tuple[list[str], asyncio.Future]], stop: threading.Event) -> None:
        try:
            for chunk, result in queued:
                try:
                    embedded, seconds = await result
                    vectors = dict(zip(chunk, embedded, strict=True))
                except Exception as err:  # also a wrong number of vectors: whoever waits must hear of it
                    async with self._progress:
                        self._failed = err
                        self._progress.notify_all()
                    return
                self._timed(len(chunk), seconds)
                async with self._progress:
                    self.vectors.update(vectors)
                    self._progress.notify_all()
        finally:  # a failure, or the batch is over: what is still queued is not embedded
            stop.set()
            for _, result in queued:
                result.cancel()

    def _embed(self, chunk: Sequence[str], stop: threading.Event) -> tuple[np.ndarray, float]:
        if stop.is_set():
            raise RuntimeError("an earlier chunk of the batch failed")
        start = time.perf_counter()
        try:
            return self._embedder.embed(chunk), time.perf_counter() - start
        except BaseException:
            stop.set()
            raise


def decode_tick(raw: bytes) -> Tick:
    try:
        return msgspec.msgpack.decode(raw, type=Tick)
    except msgspec.DecodeError as err:
        raise ContractError("$", f"malformed tick: {err}") from err


DECODERS = {
    "interactions": (decode_interaction, "interaction"),
    "feedback": (decode_feedback, "feedback"),
    "ticks": (decode_tick, "tick"),
}


def dlq_reason(err: ContractError) -> str:
    """A small, fixed set of reasons for metrics: malformed bytes, oversized fields, other violations."""
    if err.path == "$" and ("malformed" in err.reason or "truncated" in err.reason):
        return "malformed"
    if "length <=" in err.reason:
        return "too_large"
    return "invalid"


def tick_bytes(namespace: str, at: float) -> bytes:
    return msgspec.msgpack.encode(Tick(namespace=namespace, at=at))
